"""Read and write a catalogued artifact (`stylecluster.catalog`) by its kind, checking its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from stylecluster import schemas
from stylecluster.catalog import Artifact
from stylecluster.storage import files


def read_artifact(art: Artifact, folder: str | Path, ids: pd.DataFrame | None = None) -> Any:
    """Read `art` from `folder` (the stage's path flag for `art.folder`).

    Args:
        art: A catalog entry.
        folder: The folder holding it.
        ids: For a matrix, its row-aligned ids table (the row counts must agree).

    Raises:
        DataError / SchemaError: A missing file or a table that breaks its schema, naming the file.
    """
    path = art.path(folder)
    if art.kind == "table":
        return files.read_table(path, art.schema)
    if art.kind == "matrix":
        return files.read_matrix(path, ids)
    if art.kind == "json":
        return files.read_json(path)
    if art.kind == "csv":
        table = files.read_csv(path)
        if art.schema is not None:
            schemas.check(table, art.schema, str(path))
        return table
    raise TypeError(f"{art.name}: artifacts of kind {art.kind!r} are not read back")


def write_artifact(obj: Any, art: Artifact, folder: str | Path) -> None:
    """Write `obj` as `art` inside `folder`, atomically; a table is checked against its schema."""
    path = art.path(folder)
    if art.kind == "table":
        files.write_table(obj, path, art.schema)
    elif art.kind == "matrix":
        files.write_matrix(obj, path)
    elif art.kind == "json":
        files.write_json(obj, path)
    elif art.kind == "csv":
        if art.schema is not None:
            schemas.check(obj, art.schema, str(path))
        files.write_csv(obj, path)
    elif art.kind == "png":
        files.write_figure(obj, path)
    elif art.kind == "html":
        files.write_text(obj, path)
    else:
        raise TypeError(f"{art.name}: a {art.kind!r} has its own writer (a folder file by file; "
                        "the .xlsx by storage.report_files.write_table_xlsx, byte-stable)")
