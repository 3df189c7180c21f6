"""In-process benchmark items (silhouette, select_k, image and text embedding).

Each `*_worker` function runs in a fresh spawned process (see `_common.in_fresh_process`): it builds
its own inputs from a seed (so the engine and its baseline see identical data without shipping
arrays between processes), warms up on tiny inputs (imports, lazy initialisation), then times the
measured call `repeats` times with `time.perf_counter`.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT

# --- data -----------------------------------------------------------------------------------------


def umap_like_points(n: int, seed: int = 0, dim: int = 10, centers: int = 12) -> np.ndarray:
    """(n, dim) float64 points like a 10-d UMAP output: 12 blobs of unequal spread + 5% noise."""
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(seed)
    n_noise = n // 20
    stds = rng.uniform(0.3, 1.2, size=centers)
    X, _ = make_blobs(n_samples=n - n_noise, n_features=dim, centers=centers, cluster_std=stds,
                      center_box=(-8, 8), random_state=seed)
    lo, hi = X.min(axis=0), X.max(axis=0)
    noise = rng.uniform(lo, hi, size=(n_noise, dim))
    X = np.vstack([X, noise])  # (n, dim)
    return X[rng.permutation(n)].astype(np.float64)


def voronoi_labelings(X: np.ndarray, ks: list[int], seed: int = 0) -> np.ndarray:
    """(len(ks), n) labels: each point to the nearest of k random data points.

    A cheap stand-in for k-means labels (what silhouette costs does not depend on how the labels
    were found); every k has exactly k non-empty clusters (each centre is its own nearest point).
    """
    from sklearn.metrics import pairwise_distances_argmin

    rng = np.random.default_rng(seed)
    n = X.shape[0]
    out = np.empty((len(ks), n), dtype=np.int64)
    for j, k in enumerate(ks):
        centres = X[rng.choice(n, size=k, replace=False)]
        out[j] = pairwise_distances_argmin(X, centres)
    return out


def _quiet() -> None:
    """Workers report numbers, not the library's warnings (e.g. select_k's 'no peak')."""
    import logging

    logging.getLogger("stylecluster").setLevel(logging.ERROR)


def _timed(fn: Any, repeats: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


# --- 1. silhouette sweep --------------------------------------------------------------------------


def silhouette_engine_worker(n: int, ks: list[int], repeats: int, seed: int,
                             sampled: bool = False) -> dict:
    """Time the project's engine on all ks (exact, or sampled with the project's settings)."""
    _quiet()
    from stylecluster import config
    from stylecluster import storage
    from stylecluster.pipeline.silhouette import silhouette_scores

    X = umap_like_points(n, seed)
    L = voronoi_labelings(X, ks, seed)
    raw = storage.read_params(ROOT / "params.yaml")
    sk, block_mb = config.load_section(raw, "select_k"), _runtime().block_mb
    silhouette_scores(X[:50], L[:2, :50])  # warm-up (imports)
    if sampled:
        kwargs = dict(exact_max_n=sk.exact_max_n, sample_size=sk.sample_size,
                      n_repeats=sk.n_repeats, random_state=seed, block_mb=block_mb)
    else:
        kwargs = dict(exact_max_n=None, block_mb=block_mb)
    times, res = _timed(lambda: silhouette_scores(X, L, **kwargs), repeats)
    return {"times": times, "scores": res.scores.tolist(), "exact": bool(res.exact),
            "n_scored": int(res.n), "n_repeats": int(res.n_repeats), "block_mb": block_mb,
            "sample_size": sk.sample_size, "exact_max_n": sk.exact_max_n,
            "stds": res.stds.tolist()}


def silhouette_sklearn_worker(n: int, ks: list[int], measured: list[int], repeats: int,
                              seed: int) -> dict:
    """Time sklearn.metrics.silhouette_score once per measured k (labels of the full k range)."""
    from sklearn.metrics import silhouette_score

    X = umap_like_points(n, seed)
    L = voronoi_labelings(X, ks, seed)
    silhouette_score(X[:50], L[0, :50])  # warm-up
    per_k: dict[int, list[float]] = {k: [] for k in measured}
    scores: dict[int, float] = {}
    for _ in range(repeats):
        for k in measured:
            t0 = time.perf_counter()
            scores[k] = float(silhouette_score(X, L[ks.index(k)]))
            per_k[k].append(time.perf_counter() - t0)
    return {"per_k": {str(k): v for k, v in per_k.items()},
            "scores": {str(k): v for k, v in scores.items()}}


# --- 2. select_k ----------------------------------------------------------------------------------


def _select_k_params(k_min: int, k_max: int) -> tuple[Any, int]:
    from stylecluster import config
    from stylecluster import storage

    raw = storage.read_params(ROOT / "params.yaml")
    params = config.load_section(raw, "select_k")
    seed = config.load_section(raw, "base").seed
    return dataclasses.replace(params, k_min=k_min, k_max=k_max, k_step=1), seed


def select_k_worker(n: int, k_min: int, k_max: int, repeats: int, seed: int) -> dict:
    """Time `select_k.select_k` (fits + silhouette + DB + CH + choice) with the project's params."""
    _quiet()
    import pandas as pd

    from stylecluster.pipeline.select_k import select_k

    params, base_seed = _select_k_params(k_min, k_max)
    X = umap_like_points(n, seed).astype(np.float32)  # reduce writes float32 features
    ids = pd.DataFrame({"post_id": [f"p{i:06d}" for i in range(n)]})
    warm = umap_like_points(60, seed + 1).astype(np.float32)
    block_mb = _runtime().block_mb
    select_k(warm, ids.iloc[:60], dataclasses.replace(params, k_min=2, k_max=3), base_seed,
             block_mb)
    times, res = _timed(lambda: select_k(X, ids, params, base_seed, block_mb), repeats)
    s = res.summary
    return {"times": times, "best_k": s["best_k"], "exact": s["exact"], "n_scored": s["n_scored"],
            "algorithm": s["algorithm"], "n_init": s["n_init"], "exact_max_n": s["exact_max_n"],
            "sample_size": s["sample_size"], "n_repeats": s["n_repeats"]}


def naive_select_k_worker(n: int, measured: list[int], repeats: int, seed: int) -> dict:
    """The notebook loop at the measured ks: KMeans(k).fit_predict + sklearn silhouette_score."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    params, base_seed = _select_k_params(2, 3)
    X = umap_like_points(n, seed).astype(np.float32).astype(np.float64)  # as select_k scores
    warm = umap_like_points(60, seed + 1)
    silhouette_score(warm, KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(warm))
    fit: dict[int, list[float]] = {k: [] for k in measured}
    sil: dict[int, list[float]] = {k: [] for k in measured}
    for _ in range(repeats):
        for k in measured:
            t0 = time.perf_counter()
            labels = KMeans(n_clusters=k, n_init=params.n_init,
                            random_state=base_seed).fit_predict(X)
            t1 = time.perf_counter()
            silhouette_score(X, labels)
            t2 = time.perf_counter()
            fit[k].append(t1 - t0)
            sil[k].append(t2 - t1)
    return {"fit": {str(k): v for k, v in fit.items()},
            "silhouette": {str(k): v for k, v in sil.items()}, "n_init": params.n_init}


# --- 3. image embedding ---------------------------------------------------------------------------


def _embed_params() -> Any:
    from stylecluster import config
    from stylecluster import storage

    return config.load_section(storage.read_params(ROOT / "params.yaml"), "embed")


def _runtime() -> Any:
    """params.yaml's runtime section (threads, block sizes)."""
    from stylecluster import config
    from stylecluster import storage

    return config.load_section(storage.read_params(ROOT / "params.yaml"), "runtime")


def _interleaved(batched: Any, single: Any, repeats: int) -> dict:
    """Alternate the two modes run by run, so load changes hit both alike."""
    tb, ts, vb, vs = [], [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        vb = batched()
        t1 = time.perf_counter()
        vs = single()
        t2 = time.perf_counter()
        tb.append(t1 - t0)
        ts.append(t2 - t1)
    return {"times": tb, "single_times": ts, "max_abs_diff": float(np.abs(vb - vs).max())}


def stack_embed_worker(paths: list[str], repeats: int, stack: str, weights: dict) -> dict:
    """A stacked image encoder (`stack`, e.g. efficientnet-lite0+pixels) vs its first part alone,
    both through the stage's path (embed.embed_images, batched), alternating run by run."""
    import dataclasses

    from PIL import Image

    from stylecluster import encoders
    from stylecluster.encoders.stack import part_names
    from stylecluster.pipeline import embed

    p = dataclasses.replace(_embed_params(), image_encoder=stack, stack_weights=weights)
    encoders.check_params(p)
    first = part_names(stack)[0]
    stacked = encoders.get_encoder(stack, "image", p, runtime=_runtime())
    alone = encoders.get_encoder(first, "image", p, runtime=_runtime())
    images = [Image.open(f).convert("RGB") for f in paths]
    ids = [f"i{i}" for i in range(len(images))]
    stacked.encode(images[:2])  # warm-up
    alone.encode(images[:2])
    tb, ts = [], []
    for _ in range(repeats):  # alternating, so load changes hit both alike
        for enc, times in ((stacked, tb), (alone, ts)):
            t0 = time.perf_counter()
            embed.embed_images(ids, images.__getitem__, enc, None, p.batch_size)
            times.append(time.perf_counter() - t0)
    return {"times": tb, "alone_times": ts, "first": first, "dim": stacked.dim,
            "batch_size": p.batch_size}


def image_embed_worker(paths: list[str], repeats: int, encoder: str = "efficientnet-lite0") -> dict:
    """The stage's path (embed.embed_images, batched, `embed.options.<encoder>.runtime`) vs one
    image at a time, for one EfficientNet-Lite size (`encoder`: efficientnet-lite0/1/2).

    The baseline is the research notebooks' loop: the same weights in eager PyTorch (NCHW, the
    faster layout for one image here), `inference_mode`, one image per forward pass. Two more
    one-at-a-time runs separate the gains: the stage's encoder called per image (batching alone)
    and eager PyTorch at the stage's batch size (batching without the runtime).

    Also counts the model's FLOPs per image (FlopCounterMode on one forward pass) and measures this
    CPU's float32 GEMM rate (torch.matmul 2048x2048) with the same thread count.
    """
    import dataclasses

    import torch
    from PIL import Image
    from torch.utils.flop_counter import FlopCounterMode

    from stylecluster import encoders
    from stylecluster.pipeline import embed
    from stylecluster.encoders.efficientnet import (VARIANTS, _pooled_features, load_model,
                                                    preprocess)

    p = _embed_params()
    t0 = time.perf_counter()
    enc = encoders.get_encoder(encoder, "image", p, runtime=_runtime())
    load_s = time.perf_counter() - t0
    variant = VARIANTS[encoder]
    eager = _pooled_features(load_model(torch.device("cpu"), variant)
                             .to(memory_format=torch.contiguous_format))

    def notebook(img: Any) -> np.ndarray:  # (1, 1280)
        with torch.inference_mode():
            f = eager(torch.from_numpy(preprocess([img], variant.image_size))).numpy()
        return f / np.linalg.norm(f, axis=1, keepdims=True)

    images = [Image.open(f).convert("RGB") for f in paths]
    ids = [f"i{i}" for i in range(len(images))]
    enc.encode(images[:2])  # warm-up
    notebook(images[0])
    out = _interleaved(
        lambda: embed.embed_images(ids, images.__getitem__, enc, None, p.batch_size).matrix,
        lambda: np.vstack([notebook(img) for img in images]), repeats)
    # the two ablations, fewer repeats (they explain the ratio; the target is the one above)
    ab_repeats = max(1, repeats // 2)
    single_stage = _timed(lambda: np.vstack([enc.encode([img]) for img in images]), ab_repeats)[0]
    torch_enc = encoders.get_encoder(encoder, "image", dataclasses.replace(
        p, options={**p.options, encoder: {"runtime": "torch"}}), runtime=_runtime())
    torch_batched = _timed(lambda: embed.embed_images(ids, images.__getitem__, torch_enc, None,
                                                      p.batch_size).matrix, ab_repeats)[0]
    x = torch.zeros((1, 3, variant.image_size, variant.image_size))
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        eager(x)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(2):
        a @ b
    rates = []
    for _ in range(7):
        t = time.perf_counter()
        a @ b
        rates.append(2 * 2048**3 / (time.perf_counter() - t) / 1e9)
    out.update(load_s=load_s, threads=torch.get_num_threads(), batch_size=p.batch_size,
               runtime=getattr(enc, "runtime", "torch"), stage_encoder_single_times=single_stage,
               torch_batched_times=torch_batched,
               image_size=list(images[0].size), input_size=variant.image_size,
               gflop_per_image=counter.get_total_flops() / 1e9,
               gemm_gflops_peak=max(rates), gemm_gflops_median=float(np.median(rates)))
    return out


# --- 4. text embedding ----------------------------------------------------------------------------


def text_embed_worker(name: str, texts: list[str], repeats: int) -> dict:
    """The same texts batched (embed.embed_texts, the stage's path) and one at a time."""
    from stylecluster import encoders
    from stylecluster.pipeline import embed

    p = _embed_params()
    t0 = time.perf_counter()
    enc = encoders.get_encoder(name, "text", p, runtime=_runtime())
    load_s = time.perf_counter() - t0
    ids = [f"t{i}" for i in range(len(texts))]
    enc.encode(texts[:2])  # warm-up
    enc.encode(texts[:1])
    out = _interleaved(lambda: embed.embed_texts(ids, texts, enc, None, p.batch_size).matrix,
                       lambda: np.vstack([enc.encode([t]) for t in texts]), repeats)
    out.update(load_s=load_s, batch_size=p.batch_size, threads=_runtime().torch_threads)
    return out


# --- 7. UMAP compile time -------------------------------------------------------------------------


def umap_compile_worker(n: int, seed: int) -> dict:
    """First vs second `reduce.reduce_embeddings` call in one fresh process (project params).

    The difference is the one-off numba compile (and load) cost every reduce process pays; run
    with a cold and then a warm NUMBA_CACHE_DIR to see what the on-disk cache saves.
    """
    _quiet()
    import os

    import pandas as pd

    from stylecluster import config
    from stylecluster import storage
    from stylecluster.pipeline import reduce

    params = config.load_section(storage.read_params(ROOT / "params.yaml"), "reduce")
    params = dataclasses.replace(params, modality="image")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 1280))
    X = np.abs(centres[rng.integers(0, 12, n)] + 0.7 * rng.normal(size=(n, 1280)))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)  # (n, 1280)
    ids = pd.DataFrame({"post_id": [f"p{i:06d}" for i in range(n)]})
    t0 = time.perf_counter()
    reduce.reduce_embeddings({"image": (X, ids)}, params, seed)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    reduce.reduce_embeddings({"image": (X, ids)}, params, seed)
    second = time.perf_counter() - t0
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    n_files = sum(1 for _ in Path(cache_dir).rglob("*.nbi")) if cache_dir else None
    return {"first_s": first, "second_s": second, "cache_index_files": n_files,
            "method": params.method, "n_components": params.n_components}
