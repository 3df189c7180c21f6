"""`segment.method: none`: keep every pixel (to run the pipeline unfiltered).

Its masks are the images themselves, so it writes them at the size the image encoders use instead
of full size (a 720x1280 photo took ~0.3 s to write as PNG: 3.4 images/s). The default image
encoders resize to 224 pixels: efficientnet-lite0 its long side (then pads), imagebind and
chinese-clip their short side (then centre-crop); a mask whose short side is 224 (aspect kept)
therefore keeps every pixel each of them looks at, give or take one resampling (a Chinese-CLIP
model with a larger input, e.g. ViT-L/14@336px, wants `mask_short_side: 336`; efficientnet-lite1
and -lite2 resize the long side to 240 and 260, so a square image at 224 is enlarged a little:
`mask_short_side: 260` keeps their full resolution). Only this method
shrinks its output: the masks of auto and mediapipe stay full size, so their embeddings do not
change.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stylecluster.config import SegmentParams
from stylecluster.paramtypes import check, param
from stylecluster.segmenters.base import Masks, Segmenter


@dataclass(frozen=True)
class NoneOptions:
    """`segment.options.none`."""

    mask_short_side: int | None = param(
        224, "written masks are shrunk so their short side is at most this (aspect kept; 224: "
        "the bundled encoders' input); null: full size")

    def __post_init__(self) -> None:
        check(self.mask_short_side is None or self.mask_short_side >= 16,
              "segment.options.none", "mask_short_side", self.mask_short_side,
              "null or an integer >= 16 (pixels)")


class NoSegmenter(Segmenter):
    """Keeps every pixel: share 1.0, masked image = the original, shrunk (see the module)."""

    method = "none"

    def __init__(self, params: SegmentParams) -> None:
        super().__init__(params)
        self.options = self.options_of("none")

    def masks(self, img: np.ndarray, alpha: np.ndarray | None = None) -> Masks:
        full = np.ones(img.shape[:2], dtype=bool)
        return Masks(full, full, "none")

    def output(self, masked: np.ndarray) -> np.ndarray:
        return shrink(masked, self.options.mask_short_side)


def shrink(img: np.ndarray, short_side: int | None) -> np.ndarray:
    """`img` (H, W, 3) uint8 with its short side at most `short_side` (aspect kept; area averaging).

    Returns `img` itself when it is small enough or `short_side` is None.
    """
    h, w = img.shape[:2]
    if short_side is None or min(h, w) <= short_side:
        return img
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # cv2 wants (width, height)
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)  # (h', w', 3) uint8
