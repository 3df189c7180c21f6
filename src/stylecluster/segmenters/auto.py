"""`segment.method: auto` (the default): a pre-cut photo's alpha is its person mask; mediapipe otherwise.

Real exports often ship photos whose background has already been removed (RGBA PNG/WebP, the
background transparent). For such an image the alpha channel is a better person mask than any
segmenter's guess, so `auto` takes it, then removes skin and head as `segment.remove_skin` and
`segment.remove_head` say (the cut-out still shows face, arms and legs) and applies the pose gate
if `segment.options.mediapipe.pose_gate` is on. Every other image (no alpha, or an alpha that is
nearly all opaque) goes through mediapipe exactly as `method: mediapipe` would segment it.

When an alpha counts as a cut-out (`segment.options.auto`): at least `min_transparent_share` of
the pixels have alpha below `alpha_threshold`. Alpha < 128 is "more transparent than opaque", the
usual binarisation of an alpha matte (anti-aliased edges fall on either side by coverage). 5% of
the frame: a cut-out figure in a 3:4 portrait leaves roughly 40-80% of the frame transparent (the
bundled sample: see `stylecluster sample --cutout`), while an opaque photo saved with an alpha
channel has none, and rounded corners, a soft vignette or a transparent watermark stay well under
5%; those go to mediapipe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stylecluster.config import SegmentParams
from stylecluster.paramtypes import check, param
from stylecluster.segmenters.base import Masks, Segmenter
from stylecluster.segmenters.mediapipe import MediapipeSegmenter


@dataclass(frozen=True)
class AutoOptions:
    """`segment.options.auto`: when an image's alpha is taken as its person mask."""

    min_transparent_share: float = param(
        0.05, "an alpha is a cut-out when at least this share of pixels is transparent; less: "
        "mediapipe")
    alpha_threshold: int = param(128, "alpha below this is transparent (background), at or above "
                                 "it person")

    def __post_init__(self) -> None:
        check(0.0 < self.min_transparent_share < 1.0, "segment.options.auto",
              "min_transparent_share", self.min_transparent_share, "a number in (0, 1)")
        check(1 <= self.alpha_threshold <= 255, "segment.options.auto", "alpha_threshold",
              self.alpha_threshold, "an integer in [1, 255]")


def is_cutout(alpha: np.ndarray, options: AutoOptions) -> bool:
    """Whether `alpha` (H, W) uint8 marks a transparent background (see the module docstring)."""
    transparent = float((alpha < options.alpha_threshold).mean())
    return transparent >= options.min_transparent_share


class AutoSegmenter(Segmenter):
    """The alpha of a cut-out image as its person mask; mediapipe for every other image."""

    method = "auto"
    uses_alpha = True

    def __init__(self, params: SegmentParams) -> None:
        super().__init__(params)
        self.options = self.options_of("auto")
        # Built up front even if every image turns out to be a cut-out: head removal and the pose
        # gate use its models, and a missing mediapipe should fail before the first image.
        self._mediapipe = MediapipeSegmenter(params)
        self.pose_gate = self._mediapipe.pose_gate

    def masks(self, img: np.ndarray, alpha: np.ndarray | None = None) -> Masks:
        if alpha is not None and is_cutout(alpha, self.options):
            person = alpha >= self.options.alpha_threshold  # (H, W) bool
            return Masks(person, self._mediapipe.clothing_of(img, person), "alpha")
        return self._mediapipe.masks(img)

    def has_pose(self, img: np.ndarray) -> bool:
        return self._mediapipe.has_pose(img)

    def close(self) -> None:
        mediapipe = getattr(self, "_mediapipe", None)
        if mediapipe is not None:
            mediapipe.close()
