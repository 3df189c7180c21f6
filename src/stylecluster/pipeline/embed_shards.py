"""Embed as plan -> encode shards -> assemble: the pieces the embed core is built from.

1. `plan_items` (driver): which rows the cache already answers (content-addressed lookups, and an
   image file's digest -> content key), and which rows must be loaded and encoded. Rows with the
   same file digest (images) or the same text are loaded once.
2. `make_shards` cuts the rows to encode, in row order, into shards of whole encoder batches.
3. `encode_shard(shard, encoder)` (any process): loads its items, keys them and encodes them in
   `batch_size` chunks. Pure and picklable: a shard holds ids, paths or texts and module-level
   functions, never an open file or connection, so a dask worker can run it with its own encoder.
4. `Assembly` (driver): takes shard results in any order, writes the cache, and builds the matrix
   in row order.

Every run, whatever runs the shards (this process, a dask cluster) and whatever `shard_size`, gives
the encoder the same batches (the encode list cut every `batch_size` rows), so the vectors are the
same bytes. Only the driver touches the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from stylecluster.encoders import Encoder

LOAD_THREADS = 2  # threads that hash files and load items ahead of the encoder


class VectorCache(Protocol):
    """What the core needs from a cache (stylecluster.storage.cache.EmbeddingCache implements it)."""

    def get_many(self, encoder: str, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]: ...

    def put_many(self, encoder: str, vectors: dict[str, np.ndarray]) -> None: ...

    def keys_of_files(self, digests: Sequence[str]) -> dict[str, str]: ...

    def put_file_keys(self, keys: dict[str, str]) -> None: ...


@dataclass(frozen=True)
class Plan:
    """What the cache answers and what must be encoded.

    Attributes:
        n: Rows.
        keys: Per row, its content key when known before loading (texts; images whose file digest
            the cache knows), else None.
        digests: Per row, the item's file digest ([] for texts).
        found: content key -> vector, from the cache.
        todo: Rows to load and encode, ascending (one per distinct digest or text).
        same_as: Row -> the todo row it shares a digest or text with (rows not in todo only).
    """

    n: int
    keys: list[str | None]
    digests: list[str]
    found: dict[str, np.ndarray]
    todo: list[int]
    same_as: dict[int, int] = field(default_factory=dict)


def file_digests(digest: Callable[[int], str], n: int) -> list[str]:
    """`digest(i)` for every row, hashed by LOAD_THREADS threads (hashing releases the GIL)."""
    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
        return list(pool.map(digest, range(n)))


def plan_items(n: int, cache: VectorCache | None, cache_key: str, dim: int, *,
               keys: Sequence[str] | None = None,
               digests: Sequence[str] | None = None) -> Plan:
    """Look up what the cache holds and list the rows to encode.

    Args:
        n: Rows.
        cache: The per-item cache, or None.
        cache_key: The encoder's cache key.
        dim: The encoder's width.
        keys: Content keys per row, when computable without loading (texts).
        digests: File digests per row (images); the cache maps a digest seen before to its key.

    Returns:
        The Plan.
    """
    known: list[str | None] = list(keys) if keys is not None else [None] * n
    if digests and cache is not None:
        by_digest = cache.keys_of_files(list(digests))
        known = [by_digest.get(d) for d in digests]
    wanted = [k for k in known if k is not None]
    found = cache.get_many(cache_key, wanted, dim) if cache is not None and wanted else {}
    identity = keys if keys is not None else (digests or None)
    first: dict[str, int] = {}
    todo: list[int] = []
    same_as: dict[int, int] = {}
    for i in range(n):
        if known[i] is not None and known[i] in found:
            continue
        ident = identity[i] if identity is not None else None
        if ident is not None and ident in first:
            same_as[i] = first[ident]
            continue
        if ident is not None:
            first[ident] = i
        todo.append(i)
    return Plan(n, known, list(digests or []), found, todo, same_as)


@dataclass(frozen=True)
class Shard:
    """Rows to load, key and encode: picklable (items are paths or texts, functions module-level).

    Attributes:
        rows: Output rows, ascending.
        items: Per row, what `load` takes (a file path, or a row index for an in-process loader);
            with `load` None, the encoder's input itself (a text).
        load: item -> the encoder's input (a PIL image), or None.
        key_of: The encoder's input -> its content key.
        batch_size: Items per encoder call.
    """

    rows: tuple[int, ...]
    items: tuple[Any, ...]
    load: Callable[[Any], Any] | None
    key_of: Callable[[Any], str]
    batch_size: int


@dataclass(frozen=True)
class ShardResult:
    """What a shard gives back: a content key and a vector per row.

    Attributes:
        rows: The shard's rows.
        keys: Content key per row.
        vectors: float32 (len(rows), dim), L2-normalised.
        encode_seconds: Time inside the encoder.
    """

    rows: tuple[int, ...]
    keys: tuple[str, ...]
    vectors: np.ndarray
    encode_seconds: float


def make_shards(plan: Plan, items: Sequence[Any], load: Callable[[Any], Any] | None,
                key_of: Callable[[Any], str], batch_size: int, shard_size: int) -> list[Shard]:
    """Cut `plan.todo` into shards of whole batches (`shard_size` rounded down to a multiple of
    `batch_size`, at least one batch), so the encoder's batches do not depend on `shard_size`."""
    step = max(batch_size, shard_size // batch_size * batch_size)
    return [Shard(tuple(rows), tuple(items[i] for i in rows), load, key_of, batch_size)
            for rows in (plan.todo[lo:lo + step] for lo in range(0, len(plan.todo), step))]


def encode_shard(shard: Shard, encoder: Encoder) -> ShardResult:
    """Load, key and encode a shard's items, `batch_size` at a time.

    Two helper threads load the next batch while one is encoded (decoding and the encoders release
    the GIL); items are taken in order, so the first bad item raises first.

    Returns:
        ShardResult with vectors (len(shard.rows), encoder.dim).

    Raises:
        DataError: From `shard.load` when an item does not decode.
    """
    def prepare(item: Any) -> tuple[Any, str]:
        obj = shard.load(item) if shard.load is not None else item
        return obj, shard.key_of(obj)

    n, size = len(shard.items), shard.batch_size
    vectors = np.zeros((n, encoder.dim), dtype=np.float32)  # (n, dim)
    keys: list[str] = []
    seconds = 0.0
    with ThreadPoolExecutor(max_workers=LOAD_THREADS) as pool:
        pending = [pool.submit(prepare, it) for it in shard.items[:size]]
        for lo in range(0, n, size):
            loaded = [job.result() for job in pending]
            pending = [pool.submit(prepare, it) for it in shard.items[lo + size:lo + 2 * size]]
            t0 = time.perf_counter()
            vectors[lo:lo + len(loaded)] = encoder.encode([obj for obj, _ in loaded])
            seconds += time.perf_counter() - t0
            keys += [key for _, key in loaded]
    return ShardResult(shard.rows, tuple(keys), vectors, seconds)


def in_process(encoder: Encoder) -> Callable[..., Iterator[tuple[int, ShardResult]]]:
    """A shard runner that encodes the shards one after another here, with `encoder`."""
    def run(fn: Callable[[Shard, Encoder], ShardResult],
            shards: Sequence[Shard]) -> Iterator[tuple[int, ShardResult]]:
        return ((i, fn(shard, encoder)) for i, shard in enumerate(shards))

    return run


class Assembly:
    """Takes shard results in any order; writes the cache; builds the matrix in row order.

    A content key met in two rows (the same pixels in two different files) gets the vector of its
    lowest row, and a key the cache held before this run its cached vector, whatever order the
    shards finish in.

    Args:
        plan: The plan the shards were made from.
        cache: The per-item cache (written here only), or None.
        cache_key: The encoder's cache key.
        dim: The encoder's width.
    """

    def __init__(self, plan: Plan, cache: VectorCache | None, cache_key: str, dim: int) -> None:
        self.plan, self.cache, self.cache_key, self.dim = plan, cache, cache_key, dim
        self.keys = list(plan.keys)
        self.found = dict(plan.found)  # cached before this run
        self.fresh: dict[str, tuple[int, np.ndarray]] = {}  # key -> (lowest row, vector)
        self.encode_seconds = 0.0
        self.n_loaded = 0

    def add(self, result: ShardResult) -> int:
        """Take one shard's result; return how many rows it settled (for a progress bar)."""
        plan, cache = self.plan, self.cache
        self.encode_seconds += result.encode_seconds
        self.n_loaded += len(result.rows)
        if plan.digests and cache is not None:
            cache.put_file_keys({plan.digests[r]: k for r, k in zip(result.rows, result.keys)
                                 if plan.keys[r] != k})
        unseen = [k for k in result.keys if k not in self.fresh and k not in self.found]
        if unseen and cache is not None:  # e.g. the same pixels in a re-encoded file
            self.found.update(cache.get_many(self.cache_key, unseen, self.dim))
        changed: dict[str, np.ndarray] = {}
        for row, key, vec in zip(result.rows, result.keys, result.vectors):
            self.keys[row] = key
            if key in self.found:
                continue
            if key not in self.fresh or row < self.fresh[key][0]:
                self.fresh[key] = (row, vec)
                changed[key] = vec
        if changed and cache is not None:
            cache.put_many(self.cache_key, changed)
        rows = set(result.rows)
        return len(rows) + sum(1 for r in self.plan.same_as.values() if r in rows)

    def matrix(self) -> tuple[np.ndarray, int]:
        """(float32 (n, dim) in row order, rows answered by the cache)."""
        out = np.zeros((self.plan.n, self.dim), dtype=np.float32)  # (n, dim)
        n_cached = 0
        for i in range(self.plan.n):
            key = self.keys[self.plan.same_as.get(i, i)]
            if key in self.found:
                out[i] = self.found[key]
                n_cached += 1
            else:
                out[i] = self.fresh[key][1]
        return out, n_cached
