"""Where shards run: `runtime.executor` = local (this process) | dask (dask.distributed).

segment and embed cut their work into shards: a shard is a picklable task (ids and file paths or
texts) and a module-level function `fn(shard, resource)` that needs one heavy resource (an encoder,
a segmenter). The resource is named by a *recipe*, a small frozen object with `key()` and
`build()` (`encoders.EncoderRecipe`, `segmenters.SegmenterRecipe`), so a worker process can build
its own. The driver plans the shards, runs them through an executor and alone writes the cache and
the outputs, in row order: which executor ran a shard never changes a byte of the outputs.

- `LocalExecutor` runs the shards one after another in this process, with the driver's own
  resource (the path of every run before executors existed).
- `DaskExecutor` (`executors.dask_executor`, imported only when chosen) submits each shard to a
  dask.distributed cluster: a LocalCluster it starts (`runtime.workers` processes x
  `runtime.threads_per_worker`) or a running scheduler (`runtime.executor_address`). Each worker
  process builds the resource once (`per_process`) and keeps it for every later shard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stylecluster.config import RuntimeParams

__all__ = ["Bound", "Executor", "LocalExecutor", "Recipe", "open_executor", "per_process",
           "shard_runner", "sharded", "worker_runtime"]

log = logging.getLogger(__name__)


class Recipe(Protocol):
    """How a worker builds the resource a shard function needs (an encoder, a segmenter)."""

    def key(self) -> str: ...

    def build(self) -> Any: ...


# One built resource per recipe key and process: a dask worker loads its encoder (or segmenter)
# on its first shard and reuses it for every later one, instead of loading it per task. A worker
# with several threads runs one shard at a time on it (its lock): mediapipe's graphs are not
# thread-safe, and the encoder's own torch/ONNX threads (threads_per_worker) do the parallel work.
_BUILT: dict[str, Any] = {}
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def per_process(recipe: Recipe) -> Any:
    """The resource of `recipe`, built on first use in this process and kept for its lifetime."""
    key = recipe.key()
    with _GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in _BUILT:
            _BUILT[key] = recipe.build()
    return _BUILT[key]


@dataclass(frozen=True)
class Bound:
    """`fn(shard, resource)` as a one-argument picklable task: the resource comes from the recipe.

    `fn` must be a module-level function (pickled by name); the recipe and the shard travel.
    """

    fn: Callable[[Any, Any], Any]
    recipe: Any

    def __call__(self, shard: Any) -> Any:
        resource = per_process(self.recipe)
        with _LOCKS[self.recipe.key()]:  # one shard at a time on a worker's resource
            return self.fn(shard, resource)


class Executor(Protocol):
    """Runs `fn(shard, resource)` over shards; yields (shard index, result) as each finishes."""

    def run(self, fn: Callable[[Any, Any], Any], recipe: Any, shards: Sequence[Any], *,
            resource: Any = None) -> Iterator[tuple[int, Any]]: ...

    def warm(self, recipe: Any) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Shards in this process, in order, with `resource` (or the recipe's, built here)."""

    name = "local"

    def run(self, fn: Callable[[Any, Any], Any], recipe: Any, shards: Sequence[Any], *,
            resource: Any = None) -> Iterator[tuple[int, Any]]:
        """Yield (i, fn(shards[i], resource)) for each shard in order."""
        if resource is None and shards:
            resource = per_process(recipe)
        for i, shard in enumerate(shards):
            yield i, fn(shard, resource)

    def warm(self, recipe: Any) -> None:
        """Nothing to do: the driver's own resource is used."""

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_executor(runtime: RuntimeParams) -> Any:
    """The executor `runtime.executor` names, as a context manager (closes its cluster on exit).

    Raises:
        BackendError: executor dask without dask.distributed installed, or an unreachable
            `runtime.executor_address`.
    """
    if runtime.executor == "local":
        return LocalExecutor()
    from stylecluster.executors.dask_executor import DaskExecutor

    return DaskExecutor(runtime)


def shard_runner(executor: Any, recipe: Any, resource: Any) -> Callable[..., Any]:
    """`run_shards(fn, shards)` for a core: `executor.run(fn, recipe, shards, resource=resource)`.

    `resource` is the driver's own (used by the local executor); dask workers build theirs from
    `recipe`.
    """
    def run_shards(fn: Callable[[Any, Any], Any], shards: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        return executor.run(fn, recipe, shards, resource=resource)

    return run_shards


def worker_runtime(runtime: RuntimeParams) -> RuntimeParams:
    """The runtime a worker's resource is built with: on dask its torch/ONNX threads are
    `threads_per_worker` (the worker's share of the machine), locally `runtime` itself."""
    import dataclasses

    if runtime.executor == "local":
        return runtime
    return dataclasses.replace(runtime, torch_threads=runtime.threads_per_worker)


def sharded(executor: Any, recipe_for: Callable[..., Recipe],
            runtime: RuntimeParams) -> tuple[Any, dict[str, Any]]:
    """The driver's resource and the keywords a sharded core takes to send its work to `executor`.

    Args:
        executor: From `open_executor`.
        recipe_for: Called as `recipe_for(runtime=...)` to get the recipe for a runtime (e.g.
            `functools.partial(EncoderRecipe, name, modality, params, model_cache)`): the driver
            builds its resource with `runtime`, workers theirs with `worker_runtime(runtime)`.
        runtime: The runtime section.

    Returns:
        (resource, {"run_shards": ..., "shard_size": runtime.shard_size}).
    """
    resource = recipe_for(runtime=runtime).build()
    run_shards = shard_runner(executor, recipe_for(runtime=worker_runtime(runtime)), resource)
    return resource, {"run_shards": run_shards, "shard_size": runtime.shard_size}
