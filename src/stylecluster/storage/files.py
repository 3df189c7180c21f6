"""Files: atomic writes, params.yaml, tables (schema-checked), CSV, JSON, matrices, text, figures."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from stylecluster import schemas
from stylecluster.errors import ConfigError, DataError, SchemaError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give outputs the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read params.yaml as a mapping.

    Raises:
        ConfigError: If the file is missing or is not a YAML mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found; run from the project root.")
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a YAML mapping of sections, got {type(data).__name__}")
    return data


def read_table(path: str | Path, schema: str | None = None) -> pd.DataFrame:
    """Read a Parquet table and check it against the named schema."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Run the stage that writes it (dvc repro).")
    df = pd.read_parquet(path)
    if schema:
        schemas.check(df, schema, str(path))
    return df


def write_table(df: pd.DataFrame, path: str | Path, schema: str | None = None) -> None:
    """Check `df` against the named schema and write it as Parquet (atomically)."""
    if schema:
        schemas.check(df, schema, str(path))
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_csv(df: pd.DataFrame, path: str | Path, *, excel: bool = False) -> None:
    """Write a CSV table (used for DVC plots and human-readable tables).

    `excel` starts the file with a UTF-8 byte-order mark, so Excel opens Chinese text correctly
    (pandas and most tools read it either way).
    """
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8-sig" if excel else "utf-8")


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV table written by `write_csv`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Run the stage that writes it (dvc repro).")
    return pd.read_csv(path)


def write_json(obj: Any, path: str | Path) -> None:
    """Write JSON with sorted keys, UTF-8 kept readable (Chinese is not escaped)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True,
                                  default=_json_default) + "\n", encoding="utf-8")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Run the stage that writes it (dvc repro).")
    return json.loads(path.read_text(encoding="utf-8"))


def write_bytes(data: bytes, path: str | Path) -> None:
    """Write raw bytes (e.g. an exported model), atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes (missing or unreadable: DataError naming the file)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found.") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def write_matrix(matrix: np.ndarray, path: str | Path) -> None:
    """Write a float32 `(n, d)` matrix as .npy."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise SchemaError(f"{path}: expected a 2-D matrix, got shape {matrix.shape}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, matrix.astype(np.float32, copy=False))


def read_matrix(path: str | Path, ids: pd.DataFrame | None = None) -> np.ndarray:
    """Read a float32 `(n, d)` matrix; if `ids` is given, check that it has one row per id.

    Raises:
        SchemaError: If the matrix is not 2-D float32 or its rows do not match `ids`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found. Run the stage that writes it (dvc repro).")
    matrix = np.load(path, allow_pickle=False)
    if matrix.ndim != 2 or matrix.dtype != np.float32:
        raise SchemaError(f"{path}: expected float32 (n, d), got {matrix.dtype} {matrix.shape}")
    if ids is not None and len(ids) != matrix.shape[0]:
        raise SchemaError(
            f"{path}: {matrix.shape[0]} rows but its ids table has {len(ids)} post_ids; "
            "the two were written by different runs. Re-run the stage (dvc repro)."
        )
    return matrix


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes.

    Raises:
        DataError: If the file is missing or cannot be read.
    """
    path = Path(path)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found.") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}).") from exc


def write_figure(fig: Any, path: str | Path) -> None:
    """Write a matplotlib Figure (format from the suffix: .png, .svg, .pdf)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower().lstrip("."))


def write_figures(figures: dict[str, Any], folder: str | Path) -> None:
    """Write each named Figure into `folder` and remove the PNGs a previous run left there that are
    not in `figures` (the folder is rewritten whole); each Figure is cleared once written."""
    folder = Path(folder)
    for stale in folder.glob("*.png"):
        if stale.name not in figures:
            stale.unlink()
    for name, fig in figures.items():
        write_figure(fig, folder / name)
        fig.clear()  # free the artists (no pyplot, nothing else holds the figure)


def write_text(text: str, path: str | Path) -> None:
    """Write a UTF-8 text file (HTML, Markdown)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_text(path: str | Path, what: str = "text file", *, lenient: bool = False) -> str:
    """Read a UTF-8 text resource (stopword list, user dictionary); a leading BOM is dropped.

    `lenient` replaces undecodable bytes instead of failing (for logs written by other tools).

    Raises:
        DataError: If the file is missing or is not UTF-8; the message names `what` and the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found. Check the path (params.yaml paths/sections).")
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace" if lenient else "strict")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {what} is not UTF-8 ({exc}); re-save it as UTF-8.") from exc


def jieba_cache_dir(path: str | Path) -> Path:
    """Make jieba's dictionary-cache folder if missing and return it, resolved.

    The preprocess core hands it to jieba, which writes `jieba.cache` there (not the system temp
    folder); the folder is git-ignored and not a DVC output.

    Raises:
        DataError: If `path` exists and is not a folder, or cannot be created.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DataError(f"{path}: the jieba cache path (--jieba-cache, params.yaml "
                        "paths.jieba_cache) is a file, not a folder; remove it or point "
                        "paths.jieba_cache at a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{path}: cannot create the jieba cache folder (--jieba-cache, "
                        f"paths.jieba_cache): {exc}. Point it at a writable folder.") from exc
    return path.resolve()


def remove_tree(path: str | Path) -> None:
    """Delete a folder of outputs and everything in it (missing is fine): outputs are rewritten whole."""
    shutil.rmtree(path, ignore_errors=True)
