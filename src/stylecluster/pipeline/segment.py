"""Body/clothing segmentation and the clothing-share filter: the pure core of the `segment` stage.

A `Segmenter` (`stylecluster.segmenters`, a registry keyed by `segment.method`) turns one RGB image into a clothing mask:

* `mediapipe`: the person mask of mediapipe's selfie segmenter (bundled .tflite), minus
  skin-coloured pixels (a fixed YCrCb box) and minus the head (the box of mediapipe's face
  detector, widened for hair). With `pose_gate` an image must also show a body pose
  (pose_landmark_full; only `model_complexity=1` ships in the wheel, the others download).
* `none`: every pixel is clothing (share 1.0, masked image = original).

`clothing_share` = clothing pixels / image pixels. An image is kept when its share reaches
`segment.min_clothing_share` (and, with the gate, a pose is found); the masked image (everything
but clothing black) is handed to a callback so the caller can write it, one image at a time:
thousands of images never sit in memory together.

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
    """

    clothing_mask: np.ndarray
    clothing_share: float
    person_share: float
    kept: bool
    reason: str
    kind: str


@dataclass(frozen=True)
class SegmentOutput:
    """The result of a whole run.

    Attributes:
        manifest: One row per input image: post_id, clothing_share (NaN when unreadable),
            person_share, kept, reason, mask_path (relative to the output folder, "" if dropped),
            mask_sha256 (SHA-256 of the written mask file, from `on_kept`; "" if none). The
            digests make the manifest a fingerprint of the masks: later stages depend on the
            manifest instead of hashing the whole masks folder again, and embed checks each
            mask against its digest.
        summary: Counts kept/dropped by kind, the threshold and clothing-share quantiles.
    """

    manifest: pd.DataFrame
    summary: dict[str, Any]


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


def _as_image(img: Any, post_id: str | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(img))
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or 0 in arr.shape:
        where = f"post {post_id!r}: " if post_id is not None else ""
        raise DataError(f"{where}image must be a non-empty (H, W, 3) uint8 RGB array, got "
                        f"{arr.dtype} {arr.shape}. Decode it with io.read_image (RGB).")
    return arr


def segment_image(img: Any, params: SegmentParams,
                  segmenter: Segmenter | None = None) -> SegmentResult:
    """Find the clothing in one image and decide whether to keep it.

    Args:
        img: (H, W, 3) uint8 RGB array (or anything `np.asarray` turns into one, e.g. PIL RGB).
        params: The `segment` params.
        segmenter: An open segmenter from `make_segmenter(params)`; when None one is created and
            closed for this call (slow: create one per run for many images).

    Returns:
        A SegmentResult.

    Raises:
        DataError: If `img` is not a uint8 RGB image.
    """
    arr = _as_image(img)
    if segmenter is None:
        with make_segmenter(params) as own:
            return segment_image(arr, params, own)
    person, clothing = segmenter.masks(arr)
    share = float(clothing.mean())
    person_share = float(person.mean())
    if share < params.min_clothing_share:
        return SegmentResult(clothing, share, person_share, False,
                             f"clothing_share {share:.3f} < {params.min_clothing_share:g}",
                             LOW_SHARE)
    if params.pose_gate and not segmenter.has_pose(arr):
        return SegmentResult(clothing, share, person_share, False, "no pose detected", NO_POSE)
    return SegmentResult(clothing, share, person_share, True, KEPT, KEPT)


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
        images: (post_id, image) pairs, as `load_images` yields them; image is an (H, W, 3) uint8
            RGB array (or PIL RGB); None for a post without an image (dropped as "no image"); or
            the Exception raised while reading it, dropped as "image too large: ..." for an
            ImageTooLargeError, else as "unreadable image: ...".
        params: The `segment` params.
        segmenter: An open segmenter from `make_segmenter(params)`.
        on_kept: Called as `on_kept(post_id, mask_path, masked)` for each kept image, with
            `masked` the (H, W, 3) uint8 image, black outside the clothing; the caller writes it
            and returns the written file's SHA-256 hex digest (kept as mask_sha256).
        total: Number of images, for the progress bar.
        progress: Show a tqdm bar on stderr.

    Returns:
        SegmentOutput with the manifest (input order) and the summary.

    Raises:
        DataError: On a repeated post_id or an image that is not uint8 RGB.
    """
    rows: list[dict[str, Any]] = []
    kinds: list[str] = []
    seen: set[str] = set()
    for post_id, img in tqdm(images, total=total, desc="segment", unit="img", disable=not progress):
        if post_id in seen:
            raise DataError(f"post_id {post_id!r} appears twice in the segment input; "
                            "post_ids must be unique (re-run validate).")
        seen.add(post_id)
        if img is None or isinstance(img, Exception):
            kind, reason = _unread(img)
            if img is not None:
                log.warning("post %s: %s, dropped", post_id, reason)
            rows.append(_row(post_id, math.nan, math.nan, False, reason, "", ""))
            kinds.append(kind)
            continue
        arr = _as_image(img, post_id)
        res = segment_image(arr, params, segmenter)
        mask_path = digest = ""
        if res.kept:
            mask_path = mask_relpath(post_id)
            if on_kept is not None:
                digest = on_kept(post_id, mask_path, masked_image(arr, res.clothing_mask)) or ""
        rows.append(_row(post_id, res.clothing_share, res.person_share, res.kept, res.reason,
                         mask_path, digest))
        kinds.append(res.kind)
    manifest = pd.DataFrame({col: pd.Series([r[col] for r in rows], dtype=dtype)
                             for col, dtype in SCHEMAS["segment_manifest"].dtypes().items()})
    return SegmentOutput(manifest, summarize(manifest, kinds, params))


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
         mask_path: str, mask_sha256: str) -> dict[str, Any]:
    return {"post_id": post_id, "clothing_share": share, "person_share": person_share,
            "kept": kept, "reason": reason, "mask_path": mask_path, "mask_sha256": mask_sha256}


def summarize(manifest: pd.DataFrame, kinds: list[str], params: SegmentParams) -> dict[str, Any]:
    """Counts kept/dropped by kind and clothing-share quantiles (over readable images).

    Args:
        manifest: The manifest built by `segment_posts`.
        kinds: Per row, "kept" or one of DROP_KINDS.
        params: The `segment` params (method and threshold are echoed).

    Returns:
        A JSON-ready mapping: method, threshold, counts (n_images, n_kept, n_dropped,
        dropped_by_reason, one entry per DROP_KINDS), clothing-share mean and quantiles (None when
        nothing was readable) and the first 50 unreadable post_ids (all of them are in the
        manifest).
    """
    shares = manifest["clothing_share"].dropna()
    quantiles = {name: (float(shares.quantile(q)) if len(shares) else None)
                 for name, q in [("min", 0.0), ("q05", 0.05), ("q25", 0.25), ("median", 0.5),
                                 ("q75", 0.75), ("q95", 0.95), ("max", 1.0)]}
    counts = pd.Series(kinds, dtype=object).value_counts()
    unreadable = manifest.loc[[k == UNREADABLE for k in kinds], "post_id"]
    return {
        "method": params.method,
        "min_clothing_share": params.min_clothing_share,
        "pose_gate": params.pose_gate,
        "n_images": int(len(manifest)),
        "n_kept": int(manifest["kept"].sum()),
        "n_dropped": int((~manifest["kept"]).sum()),
        "dropped_by_reason": {kind: int(counts.get(kind, 0)) for kind in DROP_KINDS},
        "clothing_share_mean": float(shares.mean()) if len(shares) else None,
        "clothing_share_quantiles": quantiles,
        "unreadable_post_ids": unreadable.head(50).tolist(),
    }
