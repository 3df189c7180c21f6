"""Turn a user's export (any column names, any date format) into the canonical raw posts table.

The research's exports had columns such as `post_content`, `post_tag`, a date column and an image
column; `--map content=post_content,tags=post_tag,...` says which is which.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from stylecluster.errors import ConfigError, DataError

log = logging.getLogger(__name__)

CANONICAL = ("post_id", "content", "tags", "posted_at", "image_path", "label")
REQUIRED = ("posted_at", "image_path")
CANONICAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # = validate.time_format's default


def parse_column_map(spec: str) -> dict[str, str]:
    """Parse "canonical=theirs,..." into a mapping.

    Raises:
        ConfigError: On a malformed pair or an unknown canonical name.
    """
    mapping: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in pair:
            raise ConfigError(f"--map: '{pair}' is not canonical=theirs (e.g. content=post_content)")
        ours, theirs = (s.strip() for s in pair.split("=", 1))
        if ours not in CANONICAL:
            raise ConfigError(f"--map: unknown canonical column '{ours}'; "
                              f"allowed: {', '.join(CANONICAL)}")
        if not theirs:
            raise ConfigError(f"--map: no source column given for '{ours}'")
        mapping[ours] = theirs
    return mapping


def to_canonical(df: pd.DataFrame, mapping: dict[str, str], *, date_format: str | None,
                 source: str = "posts file", image_prefix: str = "images") -> pd.DataFrame:
    """Rename and convert an export into the canonical raw table.

    Args:
        df: The export as read (not modified).
        mapping: canonical name -> the export's column. Canonical names not mapped but present
            in the export under their own name are taken as they are.
        date_format: strptime format of the date column; None keeps the values as given.
        source: File name used in error messages.
        image_prefix: Folder, inside the raw folder, where the images will be.

    Returns:
        Columns post_id, content, tags, posted_at (CANONICAL_TIME_FORMAT strings), image_path
        ("images/<their path>"), and label when mapped. post_id defaults to "row<N>".

    Raises:
        DataError: A mapped column is not in the export, a required one is missing, or dates
            do not parse with `date_format`.
    """
    resolved = {c: c for c in CANONICAL if c in df.columns}
    resolved.update(mapping)
    absent = {ours: theirs for ours, theirs in resolved.items() if theirs not in df.columns}
    if absent:
        raise DataError(
            f"{source}: column(s) {sorted(absent.values())} (mapped to {sorted(absent)}) not found; "
            f"the file has {list(df.columns)}. Fix the --map argument.")
    lacking = [c for c in REQUIRED if c not in resolved]
    if lacking:
        raise DataError(f"{source}: no column for {lacking}; add e.g. --map "
                        + ",".join(f"{c}=<your column>" for c in lacking))

    out = pd.DataFrame(index=df.index)
    if "post_id" in resolved:
        out["post_id"] = df[resolved["post_id"]].astype(str)
    else:
        out["post_id"] = [f"row{i:06d}" for i in range(len(df))]
    for col in ("content", "tags"):
        out[col] = df[resolved[col]].astype(object) if col in resolved else None
    out["posted_at"] = _convert_dates(df[resolved["posted_at"]], date_format, source,
                                      resolved["posted_at"])
    images = df[resolved["image_path"]]
    out["image_path"] = [
        f"{image_prefix}/{str(v).lstrip('/')}" if isinstance(v, str) and v.strip() else None
        for v in images
    ]
    if "label" in resolved:
        out["label"] = df[resolved["label"]].astype(object).where(df[resolved["label"]].notna(), None)
    return out.reset_index(drop=True)


def _convert_dates(values: pd.Series, date_format: str | None, source: str,
                   column: str) -> pd.Series:
    if date_format is None:
        return values.astype(object)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime(CANONICAL_TIME_FORMAT)
    parsed = pd.to_datetime(values.astype("string").str.strip(), format=date_format,
                            errors="coerce")
    bad = parsed.isna()
    if bad.any():
        rows = list(values.index[bad][:5])
        examples: list[Any] = [values.loc[r] for r in rows]
        raise DataError(
            f"{source}: {int(bad.sum())} value(s) of column '{column}' do not parse with "
            f"--date-format '{date_format}', e.g. rows {rows}: {examples}. "
            "Fix the format (strptime codes, e.g. '%Y/%m/%d %H:%M') or the rows.")
    return parsed.dt.strftime(CANONICAL_TIME_FORMAT)
