"""The one IO boundary: every artifact is read and written here.

Core modules take and return in-memory objects; stage scripts call these functions. Writes are atomic
(a temporary file renamed into place), so a killed stage never leaves a half-written artifact that a
later stage would trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO, StringIO
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import yaml
from PIL import Image, ImageOps, UnidentifiedImageError

from stylecluster import schemas
from stylecluster.errors import (ConfigError, DataError, ImageMissingError, ImageTooLargeError,
                                 SchemaError)

RAW_POSTS_NAMES = ("posts.parquet", "posts.csv", "posts.jsonl")


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


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV table (used for DVC plots and human-readable tables)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


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


MAX_SIDE = 2048  # default longer side of a decoded image (segment.max_side); larger are shrunk
# Pillow warns about a decompression bomb at Image.open, before a JPEG can be drafted to a fraction
# of its size; read_image judges the size it will really decode instead. Warning filters are global
# state, so readers in other threads (embed's loaders) take turns changing them.
_OPEN_LOCK = threading.Lock()
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA_MODES = ("LA", "PA", "RGBA")
_PREMULTIPLIED_MODES = ("La", "RGBa")  # colour already multiplied by alpha = composited over black
log = logging.getLogger(__name__)


def read_image(path: str | Path, *, max_side: int = MAX_SIDE) -> Image.Image:
    """Open and decode an image as upright 8-bit RGB, its longer side at most `max_side`.

    The EXIF orientation is applied. 16-bit and 32-bit grey scale to 0..255 (not clipped); float
    grey is read as 0..1 when it stays within it, else as 0..255; transparent pixels (alpha, or a
    palette/grey transparency key) are composited over black, the background of segment's masks;
    CMYK, 1-bit and palette images are converted. A larger image is shrunk (aspect ratio kept,
    Lanczos); a JPEG is first decoded at 1/2, 1/4 or 1/8 scale (Image.draft), so a huge one never
    sits in memory at full size. An RGB image within `max_side` decodes to exactly its stored
    pixels.

    Args:
        path: The image file.
        max_side: Longest side, in pixels, of the returned image.

    Returns:
        A loaded PIL image in mode RGB.

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
            rgb = _to_rgb(_upright(img, path))
            if max(rgb.size) > max_side:
                rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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


def _grey_to_rgb(grey: np.ndarray) -> Image.Image:
    return Image.fromarray(np.repeat(grey[..., None], 3, axis=2))  # (H, W) -> (H, W, 3) uint8


def write_image(img: Image.Image | np.ndarray, path: str | Path) -> str:
    """Write an image (PIL or uint8 HxWx3 array); format from the suffix.

    Returns:
        The SHA-256 hex digest of the written file's bytes (as `file_sha256` would give).
    """
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = BytesIO()
    img.save(buf, format=Image.registered_extensions()[Path(path).suffix.lower()])
    data = buf.getvalue()
    write_bytes(data, path)
    return hashlib.sha256(data).hexdigest()


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


def write_text(text: str, path: str | Path) -> None:
    """Write a UTF-8 text file (HTML, Markdown)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_text(path: str | Path, what: str = "text file") -> str:
    """Read a UTF-8 text resource (stopword list, user dictionary); a leading BOM is dropped.

    Raises:
        DataError: If the file is missing or is not UTF-8; the message names `what` and the path.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} not found. Check the path (params.yaml paths/sections).")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: {what} is not UTF-8 ({exc}); re-save it as UTF-8.") from exc


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


PROJECT_MARKERS = (".git", ".dvc", "dvc.yaml")  # a folder holding one is a project, not raw data


@contextmanager
def folder_transaction(out: str | Path, *, force: bool) -> Iterator[Path]:
    """Build a new `out` in a temporary sibling folder; swap it in only if the block succeeds.

    On any error `out` is exactly as before (the sibling is removed). On success the old `out`, if
    any, is replaced whole: no stale file survives a `--force`. Nothing outside `out` and its
    temporary siblings is written, linked or deleted.

    Raises:
        DataError: `out` exists and is not empty without `force`, is a symlink or a file, holds
            the current folder, or looks like a project root (holds .git, .dvc or dvc.yaml).
    """
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DataError(f"{out}: --out must be a folder (not a file or a symlink); raw data is "
                        "written there whole. Choose another --out.")
    if out.exists():
        if Path.cwd().resolve().is_relative_to(out.resolve()):
            raise DataError(f"{out}: --out holds the current folder; replacing it would delete "
                            "your work. Choose a folder such as data/raw.")
        markers = [m for m in PROJECT_MARKERS if (out / m).exists()]
        if markers:
            raise DataError(f"{out}: --out holds {markers}, so it is a project, not a raw data "
                            "folder; it is never replaced. Choose a folder such as data/raw.")
        if any(out.iterdir()) and not force:
            raise DataError(f"{out}: folder exists and is not empty; raw data is never "
                            "overwritten. Choose another --out or pass --force to replace it "
                            "whole.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "folder")
            try:
                os.rename(tmp, out)
            except OSError:
                os.rename(old / "folder", out)
                raise
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def resolve_images(images_dir: str | Path | None, posts: pd.DataFrame,
                   source: str = "posts file") -> tuple[dict[str, Path], list[str]]:
    """Find each post's image file inside `images_dir`, refusing anything that leaves it.

    Args:
        images_dir: The export's image folder (`--images`).
        posts: post_id and image_path (relative, POSIX; None for text-only posts).
        source: The export's file name, for messages.

    Returns:
        (post_id -> the real file, after symlinks; post_ids whose image file does not exist).

    Raises:
        DataError: The folder is missing while images are named, or a path resolves (through a
            symlink) outside it; the message names the post and the path.
    """
    named = posts[posts["image_path"].notna()]
    if not len(named):
        return {}, []
    if images_dir is None:
        raise DataError(f"{source}: {len(named)} post(s) name an image, e.g. "
                        f"{named['image_path'].iloc[0]!r}; pass the folder holding them with "
                        "--images.")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: image folder not found. Pass the folder holding the "
                        "export's images with --images.")
    root = images_dir.resolve()
    found: dict[str, Path] = {}
    missing: list[str] = []
    for post_id, rel in zip(named["post_id"], named["image_path"]):
        real = (images_dir / rel).resolve()
        if not real.is_relative_to(root):
            raise DataError(f"{source}: post {post_id} names image {rel!r}, which resolves to "
                            f"{real}, outside --images ({root}); a symlink may point out of the "
                            "folder. Copy the file into the images folder or fix the row.")
        if real.is_file():
            found[post_id] = real
        else:
            missing.append(post_id)
    return found, missing


def place_images(files: dict[str, Path], posts: pd.DataFrame, dest_dir: Path,
                 *, link: bool) -> dict[str, int]:
    """Copy (or hard-link) each post's image to `dest_dir/<its image_path>`.

    Copies by default: a hard link shares the source's inode, so when DVC later makes its cache
    read-only the export's own file would change mode too. `link=True` saves the space.

    Returns:
        Counts {"copied", "linked"}.
    """
    counts = {"copied": 0, "linked": 0}
    rel_of = dict(zip(posts["post_id"], posts["image_path"]))
    for post_id, src in files.items():
        dest = dest_dir / rel_of[post_id]
        if dest.exists():  # two posts sharing one image file
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link:
            try:
                os.link(src, dest)
                counts["linked"] += 1
                continue
            except OSError:
                pass  # another file system: copy
        shutil.copyfile(src, dest)
        counts["copied"] += 1
    return counts
