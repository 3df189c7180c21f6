"""The report stage's folder writers: its figures and its thumbnails, each folder rewritten whole,
with progress bars. A module of its own, not re-exported by `storage`, so that only the report
stage depends on it (every stage depends on the rest of storage: editing those re-runs all)."""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from stylecluster.storage.files import atomic_path, write_bytes

JPEG_QUALITY = 85  # thumbnails; Pillow writes no EXIF, ICC or time stamp, so the bytes are stable


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
