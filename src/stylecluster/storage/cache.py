"""Per-item embedding cache: re-running `embed` after adding posts encodes only the new ones.

One SQLite file, `<cache dir>/embeddings.sqlite`, holds one row per (encoder key, content key):
the vector as float32 bytes with its dimension and a CRC32. SQLite commits are atomic (a killed run
keeps every batch it committed and none half-written), and each row is checked when read: a row
whose length, checksum, dimension or values are wrong is counted, deleted and recomputed, never
trusted. If the file itself is damaged (truncated, overwritten), it is moved aside as
`embeddings.sqlite.corrupt` (for inspection) and a fresh cache is started: everything is recomputed.

Keys:
- content key: SHA-256 of the text's UTF-8 bytes, or of the masked image's mode, size and decoded
  pixels (so re-encoding the same PNG differently still hits);
- encoder key: the encoder's `cache_key` (name, weights identity, preprocessing, prompt).

A second table maps an image file's digest (SHA-256 of its bytes) to its content key, so an image
file seen before is not decoded again just to find its key: a re-run on a warm cache reads and
hashes the files' bytes and decodes only the images it has to encode.

The folder is not a DVC output: it changes with history (what was encoded before), not with a run's
inputs. It is git-ignored and kept between runs.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from stylecluster.errors import DataError

log = logging.getLogger(__name__)

FILENAME = "embeddings.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    encoder TEXT NOT NULL,
    key TEXT NOT NULL,
    dim INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    vec BLOB NOT NULL,
    PRIMARY KEY (encoder, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    digest TEXT NOT NULL PRIMARY KEY,
    key TEXT NOT NULL
) WITHOUT ROWID;
"""
_CHUNK = 500  # keys per SELECT (SQLite's bound-parameter limit is far above)


def text_key(text: str) -> str:
    """Content key of a text: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def image_key(img: Any) -> str:
    """Content key of a PIL image: SHA-256 hex of its mode, size and decoded pixels."""
    h = hashlib.sha256(f"{img.mode}:{img.size[0]}x{img.size[1]}:".encode())
    h.update(img.tobytes())
    return h.hexdigest()


class EmbeddingCache:
    """Vectors keyed by (encoder key, content key) in one SQLite file.

    Use as a context manager. `hits`, `corrupt` and `writes` count what happened.

    Args:
        directory: The cache folder (created if missing).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"{self.directory}: the embedding cache path is a file, not a folder; "
                            "remove it or point --cache at a folder.")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILENAME
        self.hits = 0
        self.corrupt = 0
        self.writes = 0
        self.reset_files: list[Path] = []
        self._conn = self._open()

    # -- lifecycle -----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path)
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {status}")
            conn.executescript(_SCHEMA)
            conn.commit()
            return conn
        except sqlite3.OperationalError as exc:  # locked, disk full, no permission: not damage
            raise _operational(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            return self._start_fresh(exc)

    def _start_fresh(self, exc: Exception) -> sqlite3.Connection:
        """Move a damaged cache file aside and open an empty one."""
        aside = self.path.with_name(f"{FILENAME}.corrupt")  # replaces an older damaged copy
        log.warning("embedding cache %s is damaged (%s); moved to %s and starting an empty cache: "
                    "every item will be recomputed", self.path, exc, aside.name)
        self.path.replace(aside)
        for extra in ("-journal", "-wal", "-shm"):
            self.path.with_name(FILENAME + extra).unlink(missing_ok=True)
        self.reset_files.append(aside)
        conn = sqlite3.connect(self.path)
        conn.executescript(_SCHEMA)
        conn.commit()
        return conn

    def close(self) -> None:
        """Close the database (every write is already committed)."""
        self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn damage found mid-run into a fresh cache instead of a crash."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise _operational(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            self._conn = self._start_fresh(exc)

    # -- reads and writes ----------------------------------------------------------------------

    def get_many(self, encoder: str, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """Return the cached, verified vectors of `keys` (missing and corrupt ones are absent).

        Args:
            encoder: The encoder's cache key.
            keys: Content keys.
            dim: The encoder's output width; rows of another width are treated as corrupt.

        Returns:
            content key -> float32 (dim,) vector.
        """
        found: dict[str, np.ndarray] = {}
        bad: list[str] = []
        with self._guard():
            for key, row_dim, crc, blob in self._select_in(
                    "SELECT key, dim, crc, vec FROM vectors WHERE encoder = ? AND key", [encoder],
                    keys):
                vec = _verified(row_dim, crc, blob, dim)
                if vec is None:
                    bad.append(key)
                else:
                    found[key] = vec
            if bad:
                self._conn.executemany("DELETE FROM vectors WHERE encoder = ? AND key = ?",
                                       [(encoder, k) for k in bad])
                self._conn.commit()
        if bad:
            log.warning("embedding cache: %d corrupt entr%s for %s ignored and recomputed",
                        len(bad), "y" if len(bad) == 1 else "ies", encoder)
        self.corrupt += len(bad)
        self.hits += len(found)
        return found

    def _select_in(self, query: str, args: list[Any], values: Sequence[str]) -> list[tuple]:
        """Rows of `query IN (values)` (values de-duplicated, in chunks of `_CHUNK`)."""
        unique = list(dict.fromkeys(values))
        rows: list[tuple] = []
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start:start + _CHUNK]
            rows += self._conn.execute(f"{query} IN ({','.join('?' * len(chunk))})",
                                       [*args, *chunk]).fetchall()
        return rows

    def put_many(self, encoder: str, vectors: Mapping[str, np.ndarray]) -> None:
        """Store `vectors` (content key -> (dim,) float32) for `encoder`, in one transaction."""
        rows = []
        for key, vec in vectors.items():
            blob = np.ascontiguousarray(vec, dtype="<f4").tobytes()
            rows.append((encoder, key, int(np.asarray(vec).shape[-1]), zlib.crc32(blob), blob))
        if self._insert("INSERT OR REPLACE INTO vectors (encoder, key, dim, crc, vec) "
                        "VALUES (?, ?, ?, ?, ?)", rows):
            self.writes += len(rows)

    def _insert(self, sql: str, rows: list[tuple]) -> bool:
        """Run `sql` over `rows` in one transaction; False if the cache file was damaged twice."""
        for _attempt in range(2):  # a second try goes to the fresh file if the first found damage
            with self._guard():
                with self._conn:  # commits, or rolls back on error
                    self._conn.executemany(sql, rows)
                return True
        return False

    def keys_of_files(self, digests: Sequence[str]) -> dict[str, str]:
        """Content keys of files seen before: file digest -> content key (unknown ones absent).

        A stored key that is not a SHA-256 hex string is damage: it is dropped, and the file is
        decoded and keyed again.
        """
        with self._guard():
            rows = self._select_in("SELECT digest, key FROM files WHERE digest", [], digests)
            return {d: k for d, k in rows if _is_sha256(k)}
        return {}  # the file was damaged and replaced by an empty one: nothing is known

    def put_file_keys(self, keys: Mapping[str, str]) -> None:
        """Remember the content key of each file digest (file digest -> content key)."""
        if keys:
            self._insert("INSERT OR REPLACE INTO files (digest, key) VALUES (?, ?)",
                         list(keys.items()))


_HEX = frozenset("0123456789abcdef")


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in _HEX for c in value)


def _operational(path: Path, exc: Exception) -> DataError:
    return DataError(f"{path}: the embedding cache cannot be used ({exc}). Another run may hold "
                     "it, or the disk is full or read-only; fix that and re-run.")


def _verified(row_dim: Any, crc: Any, blob: Any, dim: int) -> np.ndarray | None:
    """The vector stored in a row, or None if any check fails."""
    if not isinstance(blob, bytes) or row_dim != dim or len(blob) != 4 * dim:
        return None
    if zlib.crc32(blob) != crc:
        return None
    vec = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vec))
    if not np.isfinite(vec).all() or (norm != 0.0 and abs(norm - 1.0) > 1e-3):
        return None  # encoders write unit (or all-zero) rows
    return vec
