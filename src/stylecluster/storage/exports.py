"""Posts exports as delivered (Parquet, CSV, JSONL, xlsx; UTF-8 or GB18030) and the raw folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pandas as pd

from stylecluster.errors import DataError

RAW_POSTS_NAMES = ("posts.parquet", "posts.csv", "posts.jsonl")


def find_raw_posts(raw_dir: str | Path) -> Path:
    """Return the posts table inside a canonical raw folder (posts.parquet, .csv or .jsonl)."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(
            f"{raw_dir}: raw data folder not found. Create the sample with "
            "`stylecluster sample --out data/raw`, import your own with `stylecluster import`, "
            "or `dvc pull` a versioned copy."
        )
    for name in RAW_POSTS_NAMES:
        if (raw_dir / name).is_file():
            return raw_dir / name
    raise DataError(f"{raw_dir}: no posts table; expected one of {list(RAW_POSTS_NAMES)}.")


ENCODINGS_AUTO = ("utf-8-sig", "gb18030")  # utf-8 (a BOM is dropped), then Chinese Excel's


@dataclass(frozen=True)
class Export:
    """A posts export as read: the table (every cell as given) and the text encoding used."""

    table: pd.DataFrame
    encoding: str | None  # None for binary formats (Parquet, xlsx)


def read_posts_file(path: str | Path, encoding: str = "auto") -> pd.DataFrame:
    """Read a posts table in Parquet, CSV, JSONL or xlsx (format from the suffix); see read_export."""
    return read_export(path, encoding).table


def read_export(path: str | Path, encoding: str = "auto") -> Export:
    """Read a posts export; text formats are decoded with `encoding`.

    Args:
        path: .parquet, .csv, .jsonl/.ndjson or .xlsx.
        encoding: "auto" (UTF-8 with or without BOM, then GB18030, the encoding of Chinese Excel
            exports; GB18030 is a superset of GBK and GB2312) or any Python codec name.

    Raises:
        DataError: The file is missing, has an unknown suffix, is not in the encoding, or does
            not parse; the message names the file, the line where known, and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: posts file not found. Check the path.")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl", ".ndjson", ".xlsx"):
        raise DataError(f"{path}: unsupported posts format '{suffix}'; use .parquet, .csv, "
                        ".jsonl or .xlsx (save .xls as .xlsx first).")
    try:
        if suffix == ".parquet":
            return Export(pd.read_parquet(path), None)
        if suffix == ".xlsx":
            return Export(_read_xlsx(path), None)
        text, used = _decode(path, encoding)
        if suffix == ".csv":
            table = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
            return Export(table, used)
        return Export(_read_jsonl(text, path), used)
    except DataError:
        raise
    except (ValueError, OSError, ImportError) as exc:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({exc}). "
                        "Check the file is a valid export in that format.") from exc


def _decode(path: Path, encoding: str) -> tuple[str, str]:
    data = path.read_bytes()
    for codec in ENCODINGS_AUTO if encoding == "auto" else (encoding,):
        try:
            text = data.decode(codec)
        except LookupError as exc:
            raise DataError(f"--encoding {encoding!r} is not a codec Python knows; use auto, "
                            "utf-8, gb18030, big5, ...") from exc
        except UnicodeDecodeError as exc:
            last = exc
            continue
        return text, "utf-8" if codec == "utf-8-sig" else codec
    raise DataError(f"{path}: not readable as {encoding if encoding != 'auto' else 'UTF-8 or GB18030'}"
                    f" (byte {last.start}: {last.reason}). Pass the export's encoding with "
                    "--encoding (e.g. big5, utf-16) or re-save the file as UTF-8.")


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number} is not valid JSON ({exc.msg} at column "
                            f"{exc.colno}): {line[:80]!r}. Fix or remove that line.") from exc
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number} is a JSON {type(row).__name__}, not an object "
                            "({\"column\": value, ...}). One post per line.")
        rows.append(row)
    return pd.DataFrame(rows)


def _read_xlsx(path: Path) -> pd.DataFrame:
    table = pd.read_excel(path, engine="openpyxl", dtype=object)
    # Excel keeps dates as dates and ids as numbers; text is what every other format gives
    return table.astype(object).where(table.notna(), None)
