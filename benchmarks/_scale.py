"""The scale_embed item: embed's image shards on a dask LocalCluster of 1 and of 2 workers.

A Dask LocalCluster starts worker processes, which a `multiprocessing` pool child (daemonic) may
not, so each configuration runs as `python benchmarks/_scale.py ARGS` in a fresh process that
prints one JSON line. In it: the driver builds the encoder (for its dim and cache key), starts the
cluster (`runtime.workers` x 1 thread, the encoder's torch/ONNX threads = 1), has every worker load
the encoder (`warm`, once per worker; the stage lets each load it on its first shard), runs one
untimed pass, then times `repeats` passes of `embed.embed_images` over the same images with no
cache (every image decoded and encoded on the workers). The last pass's matrix digest lets the
caller check that every configuration gives the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import vm_hwm_mb  # noqa: E402


def measure(paths: list[str], workers: int, repeats: int, shard_size: int,
            executor: str = "dask") -> dict:
    """Time embed_images through `executor` with `workers` x 1 thread; see the module docstring."""
    import logging

    from stylecluster import config, encoders, executors, storage
    from stylecluster.pipeline import embed

    logging.getLogger("stylecluster").setLevel(logging.WARNING)
    raw = storage.read_params(Path(__file__).resolve().parents[1] / "params.yaml")
    params = config.load_section(raw, "embed")
    runtime = config.RuntimeParams(executor=executor, workers=workers, threads_per_worker=1,
                                   torch_threads=1, progress=False, shard_size=shard_size)
    recipe = encoders.EncoderRecipe(params.image_encoder, "image", params, None,
                                    executors.worker_runtime(runtime))
    encoder = recipe.build()
    ids = [f"i{i}" for i in range(len(paths))]
    t0 = time.perf_counter()
    with executors.open_executor(runtime) as pool:
        start_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.warm(recipe)  # every worker loads the encoder once, before anything is timed
        load_s = time.perf_counter() - t0
        runner = executors.shard_runner(pool, recipe, encoder)

        def one_pass() -> embed.ModalityEmbedding:
            return embed.embed_images(ids, storage.read_image, encoder, None, params.batch_size,
                                      items=paths, run_shards=runner, shard_size=shard_size)

        t0 = time.perf_counter()
        one_pass()  # untimed: first-call warm-up of every worker's runtime
        warm_s = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = one_pass()
            times.append(time.perf_counter() - t0)
    return {"times": times, "cluster_start_s": start_s, "worker_load_s": load_s,
            "first_pass_s": warm_s,
            "batch_size": params.batch_size, "encoder": params.image_encoder,
            "n_shards": -(-len(paths) // max(params.batch_size,
                                             shard_size // params.batch_size * params.batch_size)),
            "matrix_sha256": hashlib.sha256(result.matrix.tobytes()).hexdigest(),
            "driver_peak_rss_mb": round(vm_hwm_mb(), 1), "cpu_count": os.cpu_count()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--paths", type=Path, required=True, help="a JSON list of image paths")
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--shard-size", type=int, default=32)
    p.add_argument("--executor", default="dask", choices=("local", "dask"))
    a = p.parse_args()
    out = measure(json.loads(a.paths.read_text()), a.workers, a.repeats, a.shard_size, a.executor)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
