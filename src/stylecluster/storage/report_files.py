"""The report stage's writers: its figures and its thumbnails, each folder rewritten whole, with
progress bars, and the membership table as a byte-stable .xlsx workbook. A module of its own, not re-exported by `storage`, so that only the report
stage depends on it (every stage depends on the rest of storage: editing those re-runs all)."""

from __future__ import annotations

import datetime
import math
import zipfile
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from stylecluster.storage.files import atomic_path, write_bytes

JPEG_QUALITY = 85  # thumbnails; Pillow writes no EXIF, ICC or time stamp, so the bytes are stable
# The .xlsx's fixed stamps: docProps/core.xml's created/modified, and every zip entry's date (the
# zip format's earliest), so the same table gives the same bytes on every run.
XLSX_STAMP = datetime.datetime(2000, 1, 1)
ZIP_STAMP = (1980, 1, 1, 0, 0, 0)


def _clear_others(folder: Path, keep: Mapping[str, Any], pattern: str) -> None:
    for stale in folder.glob(pattern):
        if stale.is_file() and stale.name not in keep:
            stale.unlink()


def write_figure(fig: Any, path: str | Path) -> None:
    """Write a matplotlib Figure (format from the suffix) at the Figure's own DPI, also one
    changed after it was made (savefig's default would use the DPI it was made with)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower().lstrip("."), dpi=fig.dpi)


def write_figures(figures: Mapping[str, Any], folder: str | Path, *,
                  progress: bool = False) -> None:
    """Write each named matplotlib Figure into `folder` (`write_figure`) and remove the PNGs a
    previous run left there that are not in `figures`; each Figure is cleared once written.
    Matplotlib writes no time stamp into a PNG, so the bytes are stable.

    Args:
        figures: File name -> Figure.
        folder: The output folder (created if missing).
        progress: A progress bar on stderr (saving is the slow part of the report).
    """
    from tqdm import tqdm

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _clear_others(folder, figures, "*.png")
    for name, fig in tqdm(figures.items(), desc="report: figures", unit="fig",
                          disable=not progress):
        write_figure(fig, folder / name)
        fig.clear()  # free the artists (no pyplot, nothing else holds the figure)


def write_thumbnails(images: Mapping[str, np.ndarray | Image.Image], folder: str | Path, *,
                     progress: bool = False) -> None:
    """Write each named image as a JPEG (JPEG_QUALITY, no metadata) into `folder` and remove every
    other file there, so the folder (a DVC out) holds this run's thumbnails only.

    Args:
        images: File name ending in .jpg -> (h, w, 3) uint8 array or PIL image.
        folder: The output folder (created if missing).
        progress: A progress bar on stderr.

    Raises:
        ValueError: If a name does not end in .jpg (a bug in the caller).
    """
    from tqdm import tqdm

    bad = [n for n in images if not n.endswith(".jpg") or "/" in n]
    if bad:
        raise ValueError(f"write_thumbnails: names must be plain '<name>.jpg', got {bad[:3]}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _clear_others(folder, images, "*")
    for name, img in tqdm(images.items(), desc="report: thumbnails", unit="img",
                          disable=not progress):
        pil = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img))
        buf = BytesIO()
        pil.convert("RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
        write_bytes(buf.getvalue(), folder / name)


def _cell(value: Any) -> Any:
    """A table value as an .xlsx cell value: missing -> empty, numpy scalars -> Python numbers,
    strings as they are (less the control characters XML cannot hold), anything else (a list or
    array of tags, a timestamp) -> its str(), the text `DataFrame.to_csv` writes for it."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def xlsx_bytes(df: pd.DataFrame, sheet: str = "posts") -> bytes:
    """`df` as one sheet of an .xlsx workbook: bold, frozen header row, then one row per table row
    (cells as `_cell`; text starting with "=" stays text, never a formula). Byte-stable: the
    workbook's created/modified are XLSX_STAMP (openpyxl's `save` would stamp now, so the
    workbook is written with its ExcelWriter directly) and the zip is rewritten with ZIP_STAMP on
    every entry, same entry order, deflated."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append([str(c) for c in df.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in df.itertuples(index=False, name=None):
        ws.append([_cell(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type == "f":  # openpyxl reads "=..." as a formula; a caption is text
                cell.data_type = "s"
    book.properties.created = book.properties.modified = XLSX_STAMP
    raw = BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).save()
    out = BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            dst.writestr(info, src.read(entry.filename))
    return out.getvalue()


def write_table_xlsx(df: pd.DataFrame, path: str | Path, sheet: str = "posts") -> None:
    """Write `df` as a byte-stable .xlsx (`xlsx_bytes`), atomically: a DVC out whose md5 a fresh
    clone's run must reproduce (pandas' ExcelWriter would stamp the save time). The project's
    only .xlsx writer."""
    write_bytes(xlsx_bytes(df, sheet), path)
