"""The params sections every stage shares or none declares: `base` (the seed), `runtime` (how
fast, never what) and `paths` (every folder, used as ${paths.x} in dvc.yaml).

Split from config.py to keep it readable; `stylecluster.config` re-exports these classes, so import
them from there. Same conventions: each field is a `param(default, help)`, ranges are checked in
`__post_init__`, params.yaml is rendered from these classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stylecluster.paramtypes import as_plain, check, param


@dataclass(frozen=True)
class BaseParams:
    """Shared constants: the one seed every random step receives as `random_state`."""

    seed: int = param(42, "the one seed, passed as random_state everywhere")

    def __post_init__(self) -> None:
        check(0 <= self.seed < 2**32, "base", "seed", self.seed, "an integer in [0, 2**32)")


@dataclass(frozen=True)
class RuntimeParams:
    """How fast, never what: no stage declares this section in dvc.yaml, so changing it re-runs
    nothing (a tracked section would re-segment every image for a progress bar). Only settings that
    leave every output byte-identical belong here (the executor settings of a parallel runner too)."""

    progress: bool = param(True, "progress bars on stderr")
    torch_threads: int = param(2, "threads of torch, ONNX Runtime and the numpy/C text encoders")
    block_mb: float = param(256.0, "memory bound of one silhouette distance block (n x b float64), "
                            "select_k and cluster")
    executor: Literal["local", "dask"] = param(
        "local", "where segment and embed run their shards: local (this process) | dask "
        "(dask.distributed; README, Running on a Dask cluster)")
    executor_address: str | None = param(None, "dask: null starts a LocalCluster of `workers` "
                                         "processes; tcp://host:8786 uses a running scheduler")
    workers: int = param(2, "dask LocalCluster: worker processes")
    threads_per_worker: int = param(1, "dask: threads per worker = its encoder's torch/ONNX threads")
    shard_size: int = param(128, "items per shard (embed rounds it down to a multiple of "
                            "embed.batch_size, so the encoder sees the same batches whatever it is)")
    retries: int = param(2, "dask: extra tries of a shard whose task raised (a lost worker's "
                         "shards are rescheduled by dask itself)")

    def __post_init__(self) -> None:
        check(self.block_mb > 0, "runtime", "block_mb", self.block_mb, "a number > 0")
        check(self.executor_address is None or "://" in self.executor_address, "runtime",
              "executor_address", self.executor_address, "null or an address like tcp://host:8786")
        for key, low in (("torch_threads", 1), ("workers", 1), ("threads_per_worker", 1),
                         ("shard_size", 1), ("retries", 0)):
            value = getattr(self, key)
            check(value >= low, "runtime", key, value, f"an integer >= {low}")


@dataclass(frozen=True)
class PathsParams:
    """Every path is written once, here, and used as ${paths.x} in dvc.yaml."""

    raw: str = param("data/raw")
    external: str = param("data/external")
    stopwords: str = param("data/external/stopwords_zh.txt")
    validate: str = param("data/interim/validate")
    segment: str = param("data/interim/segment")
    preprocess: str = param("data/interim/preprocess")
    embed: str = param("data/interim/embed")
    embed_cache: str = param("data/cache/embed")
    jieba_cache: str = param("data/cache/jieba", "jieba's dictionary cache: not a DVC output, "
                             "git-ignored")
    reduce: str = param("data/interim/reduce")
    select_k: str = param("data/interim/select_k")
    cluster: str = param("data/processed/cluster")
    reports: str = param("reports")
    logs: str = param("logs", "run logs (timings, cache hits): not DVC outputs, git-ignored")

    def __post_init__(self) -> None:
        for key, value in as_plain(self).items():
            check(value.strip() != "", "paths", key, value, "a non-empty path")
