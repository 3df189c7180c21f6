"""Turn a user's export (any column names, date formats, tag styles) into the canonical raw table.

Pure: the export comes in as a DataFrame, the canonical table and a record of what was done go
out; `io.write_raw_folder` then builds the raw folder as a transaction. Real scrapes are messy, so
every transformation is counted in `ImportResult.counts` and nothing is dropped without a count:

- `--map content=标题+内容` joins several columns (with a newline, empty parts skipped);
- tags may be `#a #b`, `a,b`, `a b` or a JSON list; they come out as `#a #b`;
- dates: a strptime pattern, `epoch_s`, `epoch_ms` or `auto` (see `dates.py`); offset-aware values
  are converted exactly; the table holds UTC timestamps, so validate never re-guesses them; an
  empty date is an undated post (kept and counted), a bad one an error naming the rows;
- a multi-image cell keeps its first image (the rest are counted) or, with `all_images`, makes one
  post per image (`<id>_<n>`);
- duplicated post ids are an error unless `dedupe="first"` (the rest counted);
- columns that are not mapped are named in the record; `keep` carries them through.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal

import pandas as pd

from stylecluster import dates
from stylecluster.errors import ConfigError, DataError

log = logging.getLogger(__name__)

CANONICAL = ("post_id", "content", "tags", "posted_at", "image_path", "label")
JOINABLE = ("content", "tags")  # the text fields a `+` in --map may join
MAX_EXAMPLES = 5
_IMAGE_SPLIT = re.compile(r"\s*[,;|\n，；]\s*")
_TAG_SPLIT = re.compile(r"[#＃]|[,，、;；|\s]+")


@dataclass(frozen=True)
class ImportOptions:
    """How an export is read into the canonical table (the `stylecluster import` flags).

    Attributes:
        mapping: canonical name -> the export's column(s); content and tags may join several.
        date_format: strptime pattern, `auto`, `epoch_s` or `epoch_ms`.
        timezone: Zone of naive dates (validate.timezone).
        date_year: Year of year-less dates: an int, "infer" or None (then they are errors).
        dedupe: "error" (duplicated post ids stop the import) or "first" (keep the first copy).
        all_images: One post per image of a multi-image cell instead of the first image only.
        keep: Extra columns carried into the raw table (and by validate into posts.parquet).
        source: The export's file name, for messages.
    """

    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    date_format: str = "auto"
    timezone: str = "Asia/Shanghai"
    date_year: int | str | None = None
    dedupe: Literal["error", "first"] = "error"
    all_images: bool = False
    keep: tuple[str, ...] = ()
    source: str = "posts file"


@dataclass(frozen=True)
class ImportResult:
    """The canonical table and what the import did.

    Attributes:
        table: post_id (str), content, tags (str or None), posted_at (datetime64[ns, UTC], NaT =
            undated), image_path (the export's relative image path, POSIX, or None), label?, kept
            extra columns.
        counts: rows_read, posts, duplicates_dropped, undated, yearless_dated, text_only,
            extra_images_ignored, posts_from_extra_images.
        dropped_columns: Export columns neither mapped nor kept.
    """

    table: pd.DataFrame
    counts: dict[str, int]
    dropped_columns: list[str]


def parse_column_map(spec: str) -> dict[str, tuple[str, ...]]:
    """Parse "canonical=theirs,..." (with `a+b` joining text columns) into a mapping.

    Raises:
        ConfigError: On a malformed pair, an unknown canonical name or a join of a non-text field.
    """
    mapping: dict[str, tuple[str, ...]] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in pair:
            raise ConfigError(f"--map: '{pair}' is not canonical=theirs (e.g. content=post_content)")
        ours, theirs = (s.strip() for s in pair.split("=", 1))
        if ours not in CANONICAL:
            raise ConfigError(f"--map: unknown canonical column '{ours}'; "
                              f"allowed: {', '.join(CANONICAL)}")
        parts = tuple(t.strip() for t in theirs.split("+"))
        if not theirs or not all(parts):
            raise ConfigError(f"--map: no source column given for '{ours}' (in '{pair}')")
        if len(parts) > 1 and ours not in JOINABLE:
            raise ConfigError(f"--map: '{ours}' takes one column; only {', '.join(JOINABLE)} "
                              f"can join several with '+' (got '{theirs}')")
        mapping[ours] = parts
    return mapping


def parse_keep(spec: str) -> tuple[str, ...]:
    """Parse `--keep likes,author` into column names (canonical names are refused)."""
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    clash = [n for n in names if n in CANONICAL or n == "month"]
    if clash:
        raise ConfigError(f"--keep: {clash} are canonical columns; map them with --map instead")
    return names


def _rows(mask: pd.Series) -> list[int]:
    """1-based data-row numbers (1 = the first row under the header) of the True entries."""
    return [int(i) + 1 for i in mask.to_numpy().nonzero()[0][:MAX_EXAMPLES]]


def to_canonical(df: pd.DataFrame, options: ImportOptions) -> ImportResult:
    """Map, join, normalise and check an export; see the module docstring for each rule.

    Args:
        df: The export as read (not modified).
        options: The import options.

    Returns:
        An ImportResult.

    Raises:
        DataError: A mapped column is missing, a post id is empty or duplicated (without
            dedupe), or dates are bad; the message names the rows (1 = first data row) and the fix.
    """
    df = df.reset_index(drop=True)
    src = options.source
    resolved = {c: (c,) for c in CANONICAL if c in df.columns}
    resolved.update(options.mapping)
    wanted = [c for cols in resolved.values() for c in cols] + list(options.keep)
    absent = sorted({c for c in wanted if c not in df.columns})
    if absent:
        raise DataError(f"{src}: column(s) {absent} not found; the file has {list(df.columns)}. "
                        "Fix --map / --keep (names are case- and space-sensitive).")
    if "posted_at" not in resolved and "image_path" not in resolved and "content" not in resolved:
        raise DataError(f"{src}: no column for content, image_path or posted_at; add e.g. --map "
                        "content=<caption column>,posted_at=<date column>,image_path=<image column>")
    counts = {"rows_read": int(len(df))}
    out = pd.DataFrame(index=df.index)
    out["post_id"] = _post_ids(df, resolved.get("post_id"), src)
    for col in ("content", "tags"):
        joined = (_join(df, resolved[col]) if col in resolved
                  else pd.Series([None] * len(df), index=df.index, dtype=object))
        out[col] = joined.map(normalise_tags) if col == "tags" else joined
    out["posted_at"] = _dates(df, resolved.get("posted_at"), options, counts)
    images = (df[resolved["image_path"][0]].map(split_images) if "image_path" in resolved
              else pd.Series([[] for _ in range(len(df))], index=df.index))
    images = pd.Series([[check_image_path(p, row, src) for p in paths]
                        for row, paths in enumerate(images, start=1)], index=df.index, dtype=object)
    if "label" in resolved:
        label = df[resolved["label"][0]]
        out["label"] = label.astype(object).where(label.notna(), None).map(
            lambda v: None if v is None else str(v))
    for name in options.keep:
        out[name] = df[name]
    out = _dedupe(out, images, options, counts)
    out, images = out.drop(columns="_images"), out["_images"]
    out, counts = _place_images(out, images, options.all_images, counts)
    out = out[[c for c in CANONICAL if c in out.columns] + list(options.keep)]
    counts["posts"] = int(len(out))
    counts["undated"] = int(out["posted_at"].isna().sum())
    counts["text_only"] = int(out["image_path"].isna().sum())
    used = {c for cols in resolved.values() for c in cols} | set(options.keep)
    dropped = [c for c in df.columns if c not in used]
    return ImportResult(out.reset_index(drop=True), counts, dropped)


def _post_ids(df: pd.DataFrame, column: tuple[str, ...] | None, src: str) -> pd.Series:
    if column is None:
        return pd.Series([f"row{i + 1:06d}" for i in range(len(df))], index=df.index)
    values = df[column[0]]
    text = values.map(lambda v: "" if _missing(v) else _id_text(v))
    empty = text.str.strip() == ""
    if empty.any():
        raise DataError(f"{src}: {int(empty.sum())} row(s) have an empty post id in column "
                        f"'{column[0]}', e.g. rows {_rows(empty)} (1 = first data row). Fill "
                        "them, or drop post_id from --map to number all rows (row000001, ...).")
    return text.str.strip()


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # ids read as numbers must not become "123.0"
    return str(value)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _join(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Join text columns with a newline, skipping empty parts; all empty -> None."""
    def one(row: tuple[Any, ...]) -> str | None:
        parts = [_as_text(v) for v in row]
        parts = [p for p in parts if p]
        return "\n".join(parts) if parts else None

    return pd.Series([one(r) for r in zip(*(df[c] for c in columns))], index=df.index,
                     dtype=object)


def _as_text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value).strip()


def normalise_tags(value: Any) -> str | None:
    """`#a #b`, `a,b`, `a b`, `["#a", "b"]` (JSON or a list) -> `#a #b`; nothing -> None."""
    if _missing(value):  # None, NaN, pd.NA: never the tag "#nan"
        return None
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    items = value if isinstance(value, (list, tuple)) else [value]
    tags: list[str] = []
    for item in items:
        tags += [t for t in _TAG_SPLIT.split(str(item)) if t.strip()]
    tags = list(dict.fromkeys(t.strip() for t in tags))
    return " ".join(f"#{t}" for t in tags) if tags else None


def split_images(value: Any) -> list[str]:
    """The image paths of one cell: `a.jpg`, `a.jpg,b.jpg`, `a.jpg;b.jpg` or a JSON list."""
    if _missing(value):
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    items = value if isinstance(value, (list, tuple)) else _IMAGE_SPLIT.split(str(value))
    return [str(v).strip().replace("\\", "/") for v in items if str(v).strip()]


def check_image_path(path: str, row: int, src: str) -> str:
    """Return `path` as a clean relative POSIX path inside the images folder.

    Raises:
        DataError: For an absolute path, a drive letter or a `..` component, naming the row.
    """
    pure = PurePosixPath(path)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", path) or ".." in pure.parts:
        raise DataError(f"{src}: row {row} (1 = first data row) names image {path!r}, which is "
                        "not a path inside --images (absolute paths and '..' are refused, so an "
                        "import can never read or write outside its folders). Write it relative "
                        "to the --images folder, e.g. 'sub/p1.jpg'.")
    return str(PurePosixPath(*[p for p in pure.parts if p != "."]))


def _dates(df: pd.DataFrame, column: tuple[str, ...] | None, options: ImportOptions,
           counts: dict[str, int]) -> pd.Series:
    if column is None:
        counts["yearless_dated"] = 0
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    name = column[0]
    parsed = dates.parse_dates(df[name], options.date_format, options.timezone,
                               year=options.date_year)
    values = df[name]
    if parsed.bad.any():
        bad = parsed.bad
        yearless_hint = ""
        if dates.parse_dates(values[bad], "auto", options.timezone, year=2000).yearless.any():
            yearless_hint = (" Some lack a year (e.g. '05-17'): pass --date-year YYYY, or "
                             "--date-year infer to take the nearest dated row's year.")
        raise DataError(
            f"{options.source}: {int(bad.sum())} value(s) of column '{name}' do not parse with --date-format "
            f"'{options.date_format}', e.g. rows {_rows(bad)} (1 = first data row): "
            f"{[values[bad].iloc[i] for i in range(min(MAX_EXAMPLES, int(bad.sum())))]}. Fix the "
            "format (auto, epoch_s, epoch_ms or strptime codes such as '%Y/%m/%d %H:%M') or the "
            f"rows.{yearless_hint}")
    if parsed.nonexistent.any():
        gap = parsed.nonexistent
        raise DataError(
            f"{options.source}: {int(gap.sum())} value(s) of column '{name}' are local times that do not "
            f"exist or occur twice in {options.timezone} (a daylight-saving change), e.g. rows "
            f"{_rows(gap)}: {values[gap].head(MAX_EXAMPLES).tolist()}. Write them with their UTC "
            "offset (e.g. 2023-03-26T02:30:00+01:00) or as epoch times.")
    counts["yearless_dated"] = int(parsed.yearless.sum())
    return parsed.utc


def _dedupe(out: pd.DataFrame, images: pd.Series, options: ImportOptions,
            counts: dict[str, int]) -> pd.DataFrame:
    out = out.assign(_images=images)
    dup = out["post_id"].duplicated(keep="first")
    counts["duplicates_dropped"] = 0
    if not dup.any():
        return out
    if options.dedupe == "first":
        counts["duplicates_dropped"] = int(dup.sum())
        return out[~dup]
    ids = list(dict.fromkeys(out.loc[dup, "post_id"]))[:MAX_EXAMPLES]
    raise DataError(f"{options.source}: {int(dup.sum())} row(s) repeat a post id already seen "
                    f"(scrapers re-visit posts), e.g. {ids} at rows {_rows(dup)}. Pass "
                    "--dedupe first to keep each post's first row (the rest are counted), or fix "
                    "the ids.")


def _place_images(out: pd.DataFrame, images: pd.Series, all_images: bool,
                  counts: dict[str, int]) -> tuple[pd.DataFrame, dict[str, int]]:
    n_images = images.map(len)
    counts["extra_images_ignored"] = 0
    counts["posts_from_extra_images"] = 0
    if not all_images or not (n_images > 1).any():
        counts["extra_images_ignored"] = int((n_images - 1).clip(lower=0).sum())
        first = images.map(lambda paths: paths[0] if paths else None)
        return out.assign(image_path=first.astype(object)), counts
    rows = []
    for (_, row), paths in zip(out.iterrows(), images):
        if len(paths) <= 1:
            rows.append({**row.to_dict(), "image_path": paths[0] if paths else None})
            continue
        for n, path in enumerate(paths, start=1):
            rows.append({**row.to_dict(), "post_id": f"{row['post_id']}_{n}", "image_path": path})
    counts["posts_from_extra_images"] = int((n_images - 1).clip(lower=0).sum())
    expanded = pd.DataFrame(rows, columns=[*out.columns, "image_path"])
    expanded["posted_at"] = pd.to_datetime(expanded["posted_at"], utc=True)
    clash = expanded["post_id"].duplicated()
    if clash.any():
        raise DataError(f"--all-images: the new ids {expanded.loc[clash, 'post_id'].tolist()[:5]} "
                        "clash with existing post ids; rename those posts.")
    return expanded, counts
