"""Images: decode any input as upright 8-bit RGB (or RGB + alpha) within a size limit, write masks,
check a folder."""

from __future__ import annotations

import hashlib
import logging
import threading
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from stylecluster.errors import DataError, ImageMissingError, ImageTooLargeError
from stylecluster.schemas import image_path_given, image_path_is_safe
from stylecluster.storage.files import file_sha256, write_bytes

MAX_SIDE = 2048  # default longer side of a decoded image (segment.max_side); larger are shrunk
# Pillow warns about a decompression bomb at Image.open, before a JPEG can be drafted to a fraction
# of its size; read_image judges the size it will really decode instead. Warning filters are global
# state, so readers in other threads (embed's loaders) take turns changing them.
_OPEN_LOCK = threading.Lock()
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("LA", "PA", "RGBA")
_PREMULTIPLIED_MODES = ("La", "RGBa")  # colour already multiplied by alpha = composited over black
log = logging.getLogger(__name__)


def read_image(path: str | Path, *, max_side: int = MAX_SIDE,
               keep_alpha: bool = False) -> Image.Image:
    """Open and decode an image as upright 8-bit RGB, its longer side at most `max_side`.

    The EXIF orientation is applied. 16-bit and 32-bit grey scale to 0..255 (not clipped); float
    grey is read as 0..1 when it stays within it, else as 0..255; transparent pixels (alpha, or a
    palette/grey transparency key) are composited over black, the background of segment's masks;
    CMYK, 1-bit and palette images are converted. A larger image is shrunk (aspect ratio kept,
    Lanczos); a JPEG is first decoded at 1/2, 1/4 or 1/8 scale (Image.draft), so a huge one never
    sits in memory at full size. An RGB image within `max_side` decodes to exactly its stored
    pixels.

    With `keep_alpha` (for segment's `auto`, whose person mask is a cut-out's alpha) an image with
    transparency comes back in Pillow's premultiplied mode "RGBa": the colour bands are exactly the
    RGB read without it (over black), the fourth band the alpha, shrunk like the colour. Every
    other reader (validate, embed, the report) reads RGB, as before.

    Args:
        path: The image file.
        max_side: Longest side, in pixels, of the returned image.
        keep_alpha: Return the alpha too (mode RGBa) when the image has one.

    Returns:
        A loaded PIL image in mode RGB (or RGBa, see `keep_alpha`).

    Raises:
        ImageTooLargeError: If the pixels to decode exceed Pillow's decompression-bomb limit
            (`PIL.Image.MAX_IMAGE_PIXELS`); a DataError.
        DataError: If the file is missing or does not decode as an image.
    """
    path = Path(path)
    if max_side < 1:
        raise ValueError(f"read_image: max_side must be a positive pixel count, got {max_side}")
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if max(img.size) > max_side:
                img.draft(img.mode, _fit(img.size, max_side))  # JPEG only; a no-op elsewhere
            _check_pixels(img.size)
            img.load()
            upright = _upright(img, path)
            alpha = _alpha(upright) if keep_alpha else None
            rgb = _to_rgb(upright)
            if max(rgb.size) > max_side:
                rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                if alpha is not None:
                    alpha.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            if alpha is not None:
                return Image.merge("RGBa", (*rgb.split(), alpha))
            return rgb
    except FileNotFoundError as exc:
        raise ImageMissingError(f"{path}: image file not found.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(
            f"{path}: too many pixels to decode safely ({exc}); shrink the file (a longer side "
            "of a few thousand pixels is plenty) or remove it.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: image does not decode ({exc}); replace or remove the file.") from exc


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled so that its longer side is `max_side` (each side at least 1)."""
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _check_pixels(size: tuple[int, int]) -> None:
    """Pillow's decompression-bomb rule, applied to the size that will really be decoded."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise Image.DecompressionBombError(
            f"{size[0]}x{size[1]} = {size[0] * size[1]} pixels to decode, over the limit of "
            f"{limit} pixels (PIL.Image.MAX_IMAGE_PIXELS)")


def _upright(img: Image.Image, path: Path) -> Image.Image:
    """`img` turned as its EXIF orientation says (itself when there is none)."""
    try:
        return ImageOps.exif_transpose(img) if img.getexif().get(0x0112, 1) != 1 else img
    except (OSError, SyntaxError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: EXIF orientation unreadable (%s); the image is used as stored", path, exc)
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any Pillow mode; transparency becomes black (see read_image)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in _HIGH_BIT_MODES:
        grey = np.clip(np.asarray(img), 0, 65535).astype(np.uint32)  # (H, W)
        return _grey_to_rgb(((grey * 255 + 32767) // 65535).astype(np.uint8))
    if mode == "F":
        grey = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if grey.size and grey.min() >= 0.0 and grey.max() <= 1.0:
            grey = grey * 255.0
        return _grey_to_rgb(np.rint(np.clip(grey, 0.0, 255.0)).astype(np.uint8))
    if mode in _PREMULTIPLIED_MODES:
        arr = np.asarray(img)  # (H, W, 2 or 4) uint8
        return _grey_to_rgb(arr[..., 0]) if mode == "La" else Image.fromarray(arr[..., :3].copy())
    if mode in _ALPHA_MODES or (mode in ("P", "L") and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA")).astype(np.uint16)  # (H, W, 4)
        rgb = (rgba[..., :3] * rgba[..., 3:] + 127) // 255  # over black: colour * alpha
        return Image.fromarray(rgb.astype(np.uint8))
    return img.convert("RGB")


def _alpha(img: Image.Image) -> Image.Image | None:
    """The alpha band (mode L) of an image with transparency, the one `_to_rgb` composites by."""
    if img.mode in _PREMULTIPLIED_MODES:
        return img.getchannel("a")
    if img.mode in _ALPHA_MODES or (img.mode in ("P", "L") and "transparency" in img.info):
        return img.convert("RGBA").getchannel("A")
    return None


def _grey_to_rgb(grey: np.ndarray) -> Image.Image:
    return Image.fromarray(np.repeat(grey[..., None], 3, axis=2))  # (H, W) -> (H, W, 3) uint8


def encode_image(img: Image.Image | np.ndarray, suffix: str = ".png") -> bytes:
    """The file bytes of an image (PIL or uint8 HxWx3 array) in the format of `suffix`.

    `write_image` writes exactly these bytes, so a mask encoded on a dask worker and written by
    the driver (`write_encoded`) is the same file as one written in place.
    """
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = BytesIO()
    img.save(buf, format=Image.registered_extensions()[suffix.lower()])
    return buf.getvalue()


def write_encoded(data: bytes, path: str | Path) -> str:
    """Write encoded image bytes (from `encode_image`); return their SHA-256 hex digest."""
    write_bytes(data, path)
    return hashlib.sha256(data).hexdigest()


def write_image(img: Image.Image | np.ndarray, path: str | Path) -> str:
    """Write an image (PIL or uint8 HxWx3 array); format from the suffix.

    Returns:
        The SHA-256 hex digest of the written file's bytes (as `file_sha256` would give).
    """
    return write_encoded(encode_image(img, Path(path).suffix), path)


@dataclass(frozen=True)
class ImageReader:
    """`read_image(root / rel, ...)` as a picklable callable: a dask worker reads with it.

    Attributes:
        root: The folder image paths are relative to (absolute, so a worker started elsewhere
            reads the same files).
        max_side: As in `read_image`.
        keep_alpha: As in `read_image`.
    """

    root: str
    max_side: int = MAX_SIDE
    keep_alpha: bool = False

    def __call__(self, rel: str) -> Image.Image:
        return read_image(Path(self.root) / rel, max_side=self.max_side, keep_alpha=self.keep_alpha)


def image_status(raw_dir: str | Path, image_paths: pd.Series, progress: bool = False, *,
                 max_side: int = MAX_SIDE) -> pd.Series:
    """For each image path (relative to `raw_dir`), "ok" or why it cannot be used.

    Images are read one at a time, as `read_image(path, max_side=max_side)` reads them.

    Args:
        raw_dir: The folder the paths are relative to.
        image_paths: One image_path per post.
        progress: Show a tqdm bar on stderr.
        max_side: As in `read_image`: a JPEG is decoded at a reduced scale when larger.

    Returns:
        Per row (same index): "ok", "no image" (a text-only post), "unsafe path" (absolute or with
        '..': never opened), "missing", "unreadable: <why>" or "too_large: <why>".
    """
    from tqdm import tqdm

    raw_dir = Path(raw_dir)
    status = []
    for rel in tqdm(image_paths.tolist(), desc="check images", disable=not progress,
                    unit="img"):
        if not image_path_given(rel):
            status.append("no image")
            continue
        if not image_path_is_safe(rel):
            status.append("unsafe path")
            continue
        path = raw_dir / rel
        if not path.is_file():
            status.append("missing")
            continue
        try:
            read_image(path, max_side=max_side)
            status.append("ok")
        except ImageTooLargeError as exc:
            status.append(f"too_large: {exc.__cause__ or exc}")
        except DataError as exc:
            status.append(f"unreadable: {exc.__cause__ or exc}")
    return pd.Series(status, index=image_paths.index, dtype=object)


class MaskFiles:
    """The masks segment wrote, each checked against the digest its manifest recorded.

    The manifest fingerprints the masks (dvc.yaml tracks it, not the masks folder), so a mask that
    is not the one segment wrote is an error, not silently different input.

    Args:
        segment_dir: The segment output folder the mask paths are relative to.
        post_ids, mask_paths, mask_digests: Aligned lists, one entry per kept image.
    """

    def __init__(self, segment_dir: str | Path, post_ids: list[str], mask_paths: list[str],
                 mask_digests: list[str]) -> None:
        self.dir = Path(segment_dir)
        self.post_ids, self.mask_paths, self.mask_digests = post_ids, mask_paths, mask_digests

    def path(self, i: int) -> Path:
        """The file of mask i; raises DataError if the manifest's path leaves the folder."""
        rel = self.mask_paths[i]
        if not image_path_is_safe(rel):
            raise DataError(f"{self.dir / 'manifest.parquet'}: post {self.post_ids[i]} has unsafe "
                            f"mask_path {rel!r}; re-run segment.")
        return self.dir / rel

    def digest(self, i: int) -> str:
        """The SHA-256 of mask i, which must be the manifest's; raises DataError if it is not."""
        path = self.path(i)
        digest = file_sha256(path)
        if digest != self.mask_digests[i]:
            raise DataError(f"{path}: the file differs from the one segment wrote (its SHA-256 is "
                            f"not the manifest's mask_sha256 for post {self.post_ids[i]}). "
                            "Masks are segment's output: re-run segment (dvc repro -f segment).")
        return digest

    def read(self, i: int) -> Image.Image:
        """Mask i decoded as RGB (see read_image)."""
        return read_image(self.path(i))

    def paths(self) -> list[str]:
        """Every mask's absolute path (checked like `path`), for shards a worker reads with
        `read_image`."""
        return [str(self.path(i).resolve()) for i in range(len(self.post_ids))]
