"""A CJK font for the report's figures, shipped inside a Python package (nothing downloaded).

matplotlib's bundled DejaVu Sans has no Chinese glyphs, so every Chinese label would render as empty
boxes with a "Glyph ... missing from font" warning. The font file comes from the
`paperang-p2-fonts-cjk` wheel (WenQuanYi Micro Hei, a Simplified-Chinese sans serif; the font's own
licence record says Apache-2.0). It is registered with matplotlib's font manager when a figure is
built (`cjk_context`), never at import time, and DejaVu Sans stays second in the family list, so a
glyph the CJK font lacks (the math minus sign, for one) falls back to it instead of going missing.
The HTML page embeds a subset of the same font (`web_font_face`), so it reads offline on machines
without CJK system fonts too.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stylecluster.errors import BackendError

log = logging.getLogger(__name__)

# (distribution name, font file inside it, family name); the first installed one is used.
FONT_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("paperang-p2-fonts-cjk", "paperang_p2_fonts_cjk/fonts/wqy-microhei.ttc",
     "WenQuanYi Micro Hei"),
)
FALLBACK_FAMILY = "DejaVu Sans"  # matplotlib's bundled font: Latin, Greek, math symbols


def cjk_font_path() -> Path:
    """Path of the packaged CJK font file.

    Raises:
        BackendError: If no font package of FONT_PACKAGES is installed (or its file is gone).
    """
    return _find_font()[0]


@functools.lru_cache(maxsize=1)
def _find_font() -> tuple[Path, str]:
    tried = []
    for dist_name, rel, family in FONT_PACKAGES:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            tried.append(f"{dist_name} (not installed)")
            continue
        path = Path(str(dist.locate_file(rel)))
        if path.is_file():
            return path, family
        tried.append(f"{dist_name} (installed, but {path} is missing)")
    raise BackendError(
        "report figures need a CJK font for Chinese labels; none found: " + "; ".join(tried)
        + ". Install it with `pip install -c constraints.txt paperang-p2-fonts-cjk` "
        "(it is in the project's dependencies: `make install`)."
    )


@functools.lru_cache(maxsize=1)
def register_cjk_font() -> str:
    """Add the packaged CJK font to matplotlib's font manager (once) and return its family name.

    Raises:
        BackendError: If the font package is missing.
    """
    from matplotlib import font_manager

    path, family = _find_font()
    font_manager.fontManager.addfont(str(path))
    log.debug("registered CJK font %s (%s)", family, path)
    return family


def web_font_face(text: str, family: str = "ReportCJK") -> str:
    """A CSS @font-face rule embedding the packaged CJK font, cut down to the glyphs of `text`.

    The HTML report must render Chinese on a machine without CJK system fonts and without network:
    the subset (only the characters the page uses, as WOFF) goes into the page as a data: URI,
    typically 50-500 kB.

    Args:
        text: Every character the page shows (ASCII is left to the system fonts).
        family: The font-family name the rule declares.

    Returns:
        The CSS rule, or "" when `text` has no non-ASCII characters.

    Raises:
        BackendError: If the font package is missing.
    """
    chars = "".join(sorted({ch for ch in text if ord(ch) > 0x7F}))
    return _font_face(chars, family) if chars else ""


@functools.lru_cache(maxsize=8)
def _font_face(chars: str, family: str) -> str:
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    path, _ = _find_font()
    # face 0 of a collection (.ttc; ignored for .ttf). recalcTimestamp=False keeps the source's
    # head.modified instead of "now", so the same report inputs give a byte-identical page.
    font = TTFont(str(path), fontNumber=0, recalcTimestamp=False)
    options = subset.Options()
    options.flavor = "woff"
    options.hinting = False  # browsers hint themselves; halves the size
    options.drop_tables += ["FFTM"]  # FontForge timestamps, which the subsetter cannot cut
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f"@font-face {{ font-family: '{family}'; font-style: normal; font-weight: 400; "
            f"src: url(data:font/woff;base64,{data}) format('woff'); }}")


@contextmanager
def cjk_context(base_size: float = 10.0) -> Iterator[str]:
    """Within the block, new matplotlib text uses the CJK font first, then DejaVu Sans.

    Text objects keep the font they were created with, so a figure built (and drawn once) inside
    the block renders the same when it is saved after it.

    Args:
        base_size: Default font size in points.

    Yields:
        The CJK family name.
    """
    import matplotlib

    family = register_cjk_font()
    with matplotlib.rc_context({"font.family": [family, FALLBACK_FAMILY],
                                "font.size": base_size,
                                "axes.unicode_minus": False}):
        yield family
