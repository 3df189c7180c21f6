"""Body/clothing segmentation and the clothing-share filter: the pure core of the `segment` stage.

A `Segmenter` (`stylecluster.segmenters`, a registry keyed by `segment.method`) turns one image
into a person mask and a clothing mask:

* `auto` (default): an image whose alpha channel marks a transparent background (a pre-cut photo,
  see `segmenters.auto`) takes its alpha as the person mask; every other image goes to mediapipe.
* `mediapipe`: the person mask of mediapipe's selfie segmenter (bundled .tflite).
* `none`: every pixel is clothing (share 1.0, masked image = original, written at the encoders'
  input size).

For auto and mediapipe, clothing = person minus skin-coloured pixels (a fixed YCrCb box,
`segment.remove_skin`) and minus the head (mediapipe's face detector box widened for hair,
`segment.remove_head`). With `segment.options.mediapipe.pose_gate` an image must also show a body
pose (pose_landmark_full; only `model_complexity=1` ships in the wheel, the others download). The
manifest's `mask_source` records which person mask each image got (alpha | mediapipe | none; ""
for a post whose image was not read) and the summary counts them.

`clothing_share` = clothing pixels / image pixels. An image is kept when its share reaches
`segment.min_clothing_share` (and, with the gate, a pose is found); the masked image (everything
but clothing black) is handed to a callback so the caller can write it, one image at a time:
thousands of images never sit in memory together.

Images arrive as (H, W, 3) uint8 RGB, or (H, W, 4) when the reader kept the alpha (only for
segmenters with `uses_alpha`): then the colour is already composited over black (premultiplied,
exactly the RGB the reader gives without alpha) and channel 3 is the alpha.

The skin box drops beige/tan garments together with skin, and a drawn or photographed figure that
barely contrasts with its background may get no person mask at all; both are dropped as
"clothing_share ... < ..." rather than guessed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from stylecluster.config import SegmentParams
from stylecluster.segmenters import Segmenter, make_segmenter
from stylecluster.errors import DataError, ImageMissingError, ImageTooLargeError
from stylecluster.records import SegmentSummary
from stylecluster.schemas import SCHEMAS, image_path_given, image_path_is_safe

log = logging.getLogger(__name__)

# Drop kinds counted in the summary; the manifest's `reason` carries the detail.
KEPT = "kept"
LOW_SHARE = "low_clothing_share"
NO_POSE = "no_pose"
NO_IMAGE = "no_image"  # a text-only post: nothing to read
UNREADABLE = "unreadable"
MISSING = "missing"  # the file named by image_path does not exist (io.ImageMissingError)
TOO_LARGE = "too_large"  # over Pillow's decompression-bomb limit (io.ImageTooLargeError)
DROP_KINDS = (LOW_SHARE, NO_POSE, NO_IMAGE, MISSING, UNREADABLE, TOO_LARGE)
NO_IMAGE_REASON = "no image"
MASK_SOURCES = ("alpha", "mediapipe", "none")  # the manifest's mask_source ("" when not read)

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class SegmentResult:
    """What segmentation decided for one image.

    Attributes:
        clothing_mask: (H, W) bool, True on clothing pixels.
        clothing_share: Clothing pixels / image pixels, in [0, 1].
        person_share: Person pixels / image pixels (before skin/head removal), in [0, 1].
        kept: Whether the image passes the share threshold (and the pose gate, if on).
        reason: "kept", or why it was dropped, e.g. "clothing_share 0.012 < 0.05".
        kind: "kept" or one of DROP_KINDS.
        mask_source: Where the person mask came from: "alpha", "mediapipe" or "none".
    """

    clothing_mask: np.ndarray
    clothing_share: float
    person_share: float
    kept: bool
    reason: str
    kind: str
    mask_source: str


@dataclass(frozen=True)
class SegmentOutput:
    """The result of a whole run.

    Attributes:
        manifest: One row per input image: post_id, clothing_share (NaN when unreadable),
            person_share, kept, reason, mask_path (relative to the output folder, "" if dropped),
            mask_source (alpha | mediapipe | none; "" when the image was not read), mask_sha256 (SHA-256 of the written mask file, from `on_kept`; "" if none). The
            digests make the manifest a fingerprint of the masks: later stages depend on the
            manifest instead of hashing the whole masks folder again, and embed checks each
            mask against its digest.
        summary: Counts kept/dropped by kind, the threshold and clothing-share quantiles.
    """

    manifest: pd.DataFrame
    summary: SegmentSummary


def masked_image(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of `img` (H, W, 3) with every pixel outside `mask` (H, W) set to black."""
    return img * mask[..., None].astype(np.uint8)  # (H, W, 3) uint8


def mask_relpath(post_id: str) -> str:
    """Where a post's masked image goes, relative to the stage's output folder.

    Filename-safe ids map to `masks/<post_id>.png`; any other id to `masks/id-<sha1[:16]>.png`
    (stable, and never a path outside the folder).
    """
    if _SAFE_ID.fullmatch(post_id):
        return f"masks/{post_id}.png"
    return f"masks/id-{hashlib.sha1(post_id.encode('utf-8')).hexdigest()[:16]}.png"


def _as_image(img: Any, post_id: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(rgb (H, W, 3) uint8, alpha (H, W) uint8 or None) of an RGB or premultiplied RGBa image."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4) or 0 in arr.shape:
        where = f"post {post_id!r}: " if post_id is not None else ""
        raise DataError(f"{where}image must be a non-empty (H, W, 3) uint8 RGB array (or (H, W, "
                        f"4) with alpha), got {arr.dtype} {arr.shape}. Decode it with "
                        "storage.read_image.")
    if arr.shape[2] == 4:
        return np.ascontiguousarray(arr[..., :3]), np.ascontiguousarray(arr[..., 3])
    return np.ascontiguousarray(arr), None


def segment_image(img: Any, params: SegmentParams,
                  segmenter: Segmenter | None = None) -> SegmentResult:
    """Find the clothing in one image and decide whether to keep it.

    Args:
        img: (H, W, 3) uint8 RGB array (or anything `np.asarray` turns into one, e.g. PIL RGB), or
            (H, W, 4) with the colour composited over black and the alpha last (PIL "RGBa").
        params: The `segment` params.
        segmenter: An open segmenter from `make_segmenter(params)`; when None one is created and
            closed for this call (slow: create one per run for many images).

    Returns:
        A SegmentResult.

    Raises:
        DataError: If `img` is not a uint8 RGB(a) image.
    """
    if segmenter is None:
        with make_segmenter(params) as own:
            return segment_image(img, params, own)
    rgb, alpha = _as_image(img)
    return _decide(rgb, alpha, params, segmenter)


def _decide(rgb: np.ndarray, alpha: np.ndarray | None, params: SegmentParams,
            segmenter: Segmenter) -> SegmentResult:
    """`segment_image` on a checked (H, W, 3) image and its (H, W) alpha or None."""
    found = segmenter.masks(rgb, alpha)
    clothing = found.clothing
    share = float(clothing.mean())
    person_share = float(found.person.mean())
    if share < params.min_clothing_share:
        return SegmentResult(clothing, share, person_share, False,
                             f"clothing_share {share:.3f} < {params.min_clothing_share:g}",
                             LOW_SHARE, found.source)
    if segmenter.pose_gate and not segmenter.has_pose(rgb):
        return SegmentResult(clothing, share, person_share, False, "no pose detected", NO_POSE,
                             found.source)
    return SegmentResult(clothing, share, person_share, True, KEPT, KEPT, found.source)


MaskSink = Callable[[str, str, np.ndarray], str | None]


def segment_posts(
    images: Iterable[tuple[str, Any]],
    params: SegmentParams,
    segmenter: Segmenter,
    on_kept: MaskSink | None = None,
    *,
    total: int | None = None,
    progress: bool = False,
) -> SegmentOutput:
    """Segment a stream of images, one at a time, and build the manifest.

    Args:
        images: (post_id, image) pairs, as `load_images` yields them; image as `segment_image`
            takes it; None for a post without an image (dropped as "no image"); or the Exception
            raised while reading it, dropped as "image too large: ..." for an ImageTooLargeError,
            else as "unreadable image: ...".
        params: The `segment` params.
        segmenter: An open segmenter from `make_segmenter(params)`.
        on_kept: Called as `on_kept(post_id, mask_path, masked)` for each kept image, with
            `masked` the (H, W, 3) uint8 image, black outside the clothing (full size, except
            method none's: `Segmenter.output`); the caller writes it and returns the written
            file's SHA-256 hex digest (kept as mask_sha256).
        total: Number of images, for the progress bar.
        progress: Show a tqdm bar on stderr.

    Returns:
        SegmentOutput with the manifest (input order) and the summary.

    Raises:
        DataError: On a repeated post_id or an image that is not uint8 RGB(a).
    """
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []
    seen: set[str] = set()
    for post_id, img in tqdm(images, total=total, desc="segment", unit="img", disable=not progress):
        if post_id in seen:
            raise DataError(f"post_id {post_id!r} appears twice in the segment input; "
                            "post_ids must be unique (re-run validate).")
        seen.add(post_id)
        row, kind, masked = segment_one(post_id, img, params, segmenter)
        if masked is not None and on_kept is not None:
            row["mask_sha256"] = on_kept(post_id, row["mask_path"], masked) or ""
        rows.append(row)
        kinds.append(kind)
    return build_output(rows, kinds, params, pose_gate=segmenter.pose_gate)


def segment_one(post_id: str, img: Any, params: SegmentParams,
                segmenter: Segmenter) -> tuple[dict[str, Any], str, np.ndarray | None]:
    """One post's manifest row (mask_sha256 still ""), its kind, and its masked image if kept.

    Args:
        post_id: The post.
        img: As `segment_posts` takes it (an image, None, or the Exception raised reading it).
        params: The `segment` params.
        segmenter: An open segmenter.

    Returns:
        (row, "kept" or one of DROP_KINDS, the (H, W, 3) uint8 image to write or None).

    Raises:
        DataError: On an image that is not uint8 RGB(a).
    """
    if img is None or isinstance(img, Exception):
        kind, reason = _unread(img)
        if img is not None:
            log.warning("post %s: %s, dropped", post_id, reason)
        return _row(post_id, math.nan, math.nan, False, reason, "", "", ""), kind, None
    rgb, alpha = _as_image(img, post_id)
    res = _decide(rgb, alpha, params, segmenter)
    mask_path = mask_relpath(post_id) if res.kept else ""
    masked = segmenter.output(masked_image(rgb, res.clothing_mask)) if res.kept else None
    return (_row(post_id, res.clothing_share, res.person_share, res.kept, res.reason, mask_path,
                 res.mask_source, ""), res.kind, masked)


def build_output(rows: list[dict[str, Any]], kinds: list[str], params: SegmentParams, *,
                 pose_gate: bool) -> SegmentOutput:
    """The manifest (rows in input order, typed by its schema) and the summary."""
    manifest = pd.DataFrame({col: pd.Series([r[col] for r in rows], dtype=dtype)
                             for col, dtype in SCHEMAS["segment_manifest"].dtypes().items()})
    return SegmentOutput(manifest, summarize(manifest, kinds, params, pose_gate=pose_gate))


def load_images(post_ids: Iterable[str], image_paths: Iterable[Any],
                load: Callable[[str], Any]) -> Iterator[tuple[str, Any]]:
    """Read each post's image lazily, for `segment_posts`: one image in memory at a time.

    Args:
        post_ids: One per post.
        image_paths: Aligned with post_ids; relative to the raw folder, or None/NaN/blank for a
            text-only post.
        load: Reads one image path (e.g. `io.read_image` under the raw folder) or raises DataError.

    Yields:
        (post_id, image), image being what `load` returned, None for a post without an image, or
        the DataError raised for an unsafe path or by `load` (never raised here).
    """
    for post_id, rel in zip(post_ids, image_paths):
        if not image_path_given(rel):
            yield post_id, None
        elif not image_path_is_safe(rel):
            yield post_id, DataError(f"unsafe image_path {rel!r}: it must be relative and stay "
                                     "inside the raw folder (validate rejects it)")
        else:
            try:
                yield post_id, load(rel)
            except DataError as exc:
                yield post_id, exc


def _unread(img: Exception | None) -> tuple[str, str]:
    """Kind and manifest reason of a post whose image was not read."""
    if img is None:
        return NO_IMAGE, NO_IMAGE_REASON
    if isinstance(img, ImageTooLargeError):
        return TOO_LARGE, f"image too large: {img}"
    if isinstance(img, ImageMissingError):
        return MISSING, f"image missing: {img}"
    return UNREADABLE, f"unreadable image: {img}"


def _row(post_id: str, share: float, person_share: float, kept: bool, reason: str,
         mask_path: str, mask_source: str, mask_sha256: str) -> dict[str, Any]:
    return {"post_id": post_id, "clothing_share": share, "person_share": person_share,
            "kept": kept, "reason": reason, "mask_path": mask_path, "mask_source": mask_source,
            "mask_sha256": mask_sha256}


def summarize(manifest: pd.DataFrame, kinds: list[str], params: SegmentParams, *,
              pose_gate: bool = False) -> SegmentSummary:
    """Counts kept/dropped by kind and mask source, clothing-share quantiles (readable images).

    Args:
        manifest: The manifest built by `segment_posts`.
        kinds: Per row, "kept" or one of DROP_KINDS.
        params: The `segment` params (method and threshold are echoed).
        pose_gate: Whether the segmenter gated on a body pose (echoed).

    Returns:
        The summary.json record: method, threshold, counts (n_images, n_kept, n_dropped,
        dropped_by_reason, one entry per DROP_KINDS), mask_source and kept_by_mask_source (images
        per person-mask source: alpha, mediapipe, none), clothing-share mean and quantiles (None
        when nothing was readable) and the first 50 unreadable post_ids (all of them are in the
        manifest).
    """
    shares = manifest["clothing_share"].dropna()
    quantiles = {name: (float(shares.quantile(q)) if len(shares) else None)
                 for name, q in [("min", 0.0), ("q05", 0.05), ("q25", 0.25), ("median", 0.5),
                                 ("q75", 0.75), ("q95", 0.95), ("max", 1.0)]}
    counts = pd.Series(kinds, dtype=object).value_counts()
    unreadable = manifest.loc[[k == UNREADABLE for k in kinds], "post_id"]
    sources = manifest["mask_source"]
    return SegmentSummary(
        method=params.method,
        min_clothing_share=params.min_clothing_share,
        pose_gate=pose_gate,
        n_images=int(len(manifest)),
        n_kept=int(manifest["kept"].sum()),
        n_dropped=int((~manifest["kept"]).sum()),
        dropped_by_reason={kind: int(counts.get(kind, 0)) for kind in DROP_KINDS},
        mask_source={src: int((sources == src).sum()) for src in MASK_SOURCES},
        kept_by_mask_source={src: int(((sources == src) & manifest["kept"]).sum())
                             for src in MASK_SOURCES},
        clothing_share_mean=float(shares.mean()) if len(shares) else None,
        clothing_share_quantiles=quantiles,
        unreadable_post_ids=unreadable.head(50).tolist(),
    )
