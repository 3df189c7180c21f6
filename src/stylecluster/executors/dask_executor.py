"""`runtime.executor: dask`: shards on a dask.distributed cluster (imported only when chosen).

`runtime.executor_address: null` starts a LocalCluster of `runtime.workers` processes with
`runtime.threads_per_worker` threads each (closed again when the stage ends); an address such as
`tcp://host:8786` connects to a running `dask scheduler` whose `dask worker`s have the same
stylecluster installed and see the inputs at the same paths. Each shard is one task, submitted
with `retries=runtime.retries` (a task that raised is tried again); the shards of a worker that
dies are rescheduled on the others by the scheduler itself. Results come back as they finish; the
caller puts them in row order, so the order of completion never reaches an output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from stylecluster.errors import BackendError
from stylecluster.executors import Bound, per_process

if TYPE_CHECKING:
    from stylecluster.config import RuntimeParams

log = logging.getLogger(__name__)


class DaskExecutor:
    """Run shards on a dask.distributed cluster (see the module docstring).

    Args:
        runtime: The runtime section (executor_address, workers, threads_per_worker, retries).

    Raises:
        BackendError: dask.distributed is not installed, or the scheduler cannot be reached.
    """

    name = "dask"

    def __init__(self, runtime: RuntimeParams) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise BackendError(
                "params.yaml [runtime.executor] = 'dask' needs dask.distributed: install it with "
                "`pip install -c constraints.txt 'dask[distributed]'` (or set runtime.executor: "
                f"local). ({exc})") from exc
        self.retries = runtime.retries
        self.cluster = None
        try:
            if runtime.executor_address is None:
                self.cluster = LocalCluster(n_workers=runtime.workers, processes=True,
                                            threads_per_worker=runtime.threads_per_worker,
                                            dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
            else:
                self.client = Client(runtime.executor_address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            self.close()
            raise BackendError(
                f"params.yaml [runtime.executor_address] = {runtime.executor_address!r}: no dask "
                f"scheduler answered ({exc}). Start one (`dask scheduler`) and its workers "
                "(`dask worker tcp://host:8786`), or set runtime.executor_address: null for a "
                "LocalCluster.") from exc
        n = len(self.client.scheduler_info().get("workers", {}))
        log.info("dask: %s with %d worker(s)", runtime.executor_address or "LocalCluster", n)

    def run(self, fn: Callable[[Any, Any], Any], recipe: Any, shards: Sequence[Any], *,
            resource: Any = None) -> Iterator[tuple[int, Any]]:
        """Submit every shard; yield (shard index, result) in the order they finish.

        `resource` (the driver's own) is not sent: each worker builds its own from `recipe`.
        """
        from distributed import as_completed

        task = Bound(fn, recipe)
        futures = [self.client.submit(task, shard, pure=False, retries=self.retries)
                   for shard in shards]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                result = future.result()  # re-raises the task's exception after its retries
                future.release()  # the driver keeps the result; the cluster need not
                yield index[future.key], result
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def warm(self, recipe: Any) -> None:
        """Build `recipe`'s resource on every worker now, all at once (else each worker builds it
        on its first shard)."""
        self.client.run(_build, recipe)

    def close(self) -> None:
        """Close the client and the LocalCluster this executor started."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _build(recipe: Any) -> None:
    """Runs on a worker (client.run): build and keep the recipe's resource."""
    per_process(recipe)
