"""Declared columns and dtypes of every table artifact (the data contracts in DESIGN.md).

`storage.read_table` / `storage.write_table` check tables against these, so a stage that writes a wrong table
fails where it writes it, and a reader learns which file and column is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from stylecluster.errors import SchemaError

# dtype kinds: "str" (object/string), "int", "float", "bool", "datetime" (tz-aware UTC), "list"
_KIND_CHECKS = {
    "str": lambda s: pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s),
    "int": pd.api.types.is_integer_dtype,
    "float": pd.api.types.is_float_dtype,
    "bool": pd.api.types.is_bool_dtype,
    "datetime": lambda s: isinstance(s.dtype, pd.DatetimeTZDtype),
    "list": pd.api.types.is_object_dtype,
    "any": lambda s: True,
}
_DTYPES = {"str": object, "int": "int64", "float": "float64", "bool": bool, "list": object,
           "any": object, "datetime": "datetime64[ns, UTC]"}


@dataclass(frozen=True)
class Schema:
    """Required and optional columns of one table, each with a dtype kind."""

    name: str
    columns: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    unique: tuple[str, ...] = ()

    def dtypes(self) -> dict[str, object]:
        """The required columns in order, each with the pandas dtype a writer builds it with."""
        return {col: _DTYPES[kind] for col, kind in self.columns.items()}

    def check(self, df: pd.DataFrame, where: str) -> None:
        """Raise SchemaError naming `where` if `df` breaks this schema."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise SchemaError(
                f"{where}: table '{self.name}' lacks column(s) {missing}; it has {list(df.columns)}. "
                "Re-run the stage that writes it (dvc repro)."
            )
        for col, kind in {**self.columns, **self.optional}.items():
            if col in df.columns and len(df) and not _KIND_CHECKS[kind](df[col]):
                raise SchemaError(
                    f"{where}: column '{col}' of '{self.name}' should be {kind}, "
                    f"got dtype {df[col].dtype}."
                )
        for col in self.unique:
            dup = df[col][df[col].duplicated()]
            if len(dup):
                raise SchemaError(
                    f"{where}: column '{col}' of '{self.name}' must be unique; "
                    f"{len(dup)} duplicate(s), e.g. {dup.iloc[:5].tolist()}."
                )


SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in [
        Schema(
            "raw_posts",
            {"post_id": "any", "content": "any", "tags": "any", "posted_at": "any",
             "image_path": "any"},
            optional={"label": "any"},
        ),
        Schema(
            "posts",
            {"post_id": "str", "content": "str", "tags": "str", "posted_at": "datetime",
             "month": "str", "image_path": "str"},
            optional={"label": "str"},
            unique=("post_id",),
        ),
        Schema(
            "segment_manifest",
            {"post_id": "str", "clothing_share": "float", "person_share": "float", "kept": "bool",
             "reason": "str", "mask_path": "str", "mask_source": "str", "mask_sha256": "str"},
            unique=("post_id",),
        ),
        Schema(
            "texts",
            {"post_id": "str", "text": "str", "tokens": "list", "keywords": "list",
             "n_chars": "int", "has_text": "bool", "embed_input": "str"},
            optional={"hashtags": "list"},
            unique=("post_id",),
        ),
        Schema("ids", {"post_id": "str"}, unique=("post_id",)),
        Schema("dropped", {"post_id": "str", "stage": "str", "reason": "str"}),
        Schema("silhouette", {"k": "int", "silhouette": "float", "davies_bouldin": "float",
                              "calinski_harabasz": "float"},
               optional={"silhouette_std": "float", "stability": "float",
                         "stability_std": "float", "bic": "float"}),
        Schema("labels", {"post_id": "str", "cluster": "int", "distance": "float"},
               unique=("post_id",)),
        Schema("representatives", {"cluster": "int", "rank": "int", "post_id": "str",
                                   "distance": "float"}),
    ]
}


# labels.parquet's `cluster`: 0..k-1 by decreasing size, or UNASSIGNED for a post a density
# clusterer (select_k.algorithm: hdbscan) left as noise; reported under UNASSIGNED_NAME, never as
# a style.
UNASSIGNED = -1
UNASSIGNED_NAME = "unassigned"


def check(df: pd.DataFrame, name: str, where: str) -> None:
    """Check `df` against the schema called `name`; `where` names the file in messages."""
    SCHEMAS[name].check(df, where)


# The raw posts contract's image_path column: a relative POSIX path inside data/raw, or none.
def image_path_is_safe(path: Any) -> bool:
    """True if `path` is a non-empty relative POSIX path that stays inside its base folder."""
    if not isinstance(path, str) or not path.strip():
        return False
    if "\\" in path or path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return False
    return ".." not in PurePosixPath(path).parts


def image_path_given(path: Any) -> bool:
    """False for a post without an image (image_path None, NaN or blank: a text-only post)."""
    if isinstance(path, str):
        return bool(path.strip())
    return not (path is None or (pd.api.types.is_scalar(path) and pd.isna(path)))
