"""What a segmenter is: finds the person and the clothing in an image; a context manager."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from stylecluster.errors import BackendError

if TYPE_CHECKING:
    from stylecluster.config import SegmentParams

MaskSource = Literal["alpha", "mediapipe", "none"]


@dataclass(frozen=True)
class Masks:
    """What a segmenter found in one image.

    Attributes:
        person: (H, W) bool, True on the person (before skin/head removal).
        clothing: (H, W) bool, True on clothing pixels.
        source: Where the person mask came from: "alpha" (the image's own transparency),
            "mediapipe" (the selfie segmenter) or "none" (every pixel); recorded per image in the
            segment manifest's `mask_source`.
    """

    person: np.ndarray
    clothing: np.ndarray
    source: MaskSource


class Segmenter(abc.ABC):
    """One way to find the clothing in an image. Use as a context manager; `close` frees models.

    Each subclass is named in the registry (`stylecluster.segmenters.SEGMENTERS`) under its
    `segment.method` string.

    Attributes:
        uses_alpha: Whether `masks` looks at an image's alpha channel (then the stage reads images
            with their alpha; other methods read them as RGB, exactly as before).
        pose_gate: Whether an image must also show a body pose (`has_pose`) to be kept.
    """

    method: ClassVar[str]
    uses_alpha: ClassVar[bool] = False

    def __init__(self, params: SegmentParams) -> None:
        self.params = params
        self.pose_gate = False

    def options_of(self, method: str) -> Any:
        """The typed `segment.options.<method>` of this segmenter's params."""
        from stylecluster.segmenters import options_of

        return options_of(self.params, method)

    @abc.abstractmethod
    def masks(self, img: np.ndarray, alpha: np.ndarray | None = None) -> Masks:
        """The masks of an (H, W, 3) uint8 RGB image; `alpha` (H, W) uint8 when it has one."""

    def has_pose(self, img: np.ndarray) -> bool:
        """Whether a body pose is visible; only asked when `pose_gate` is on."""
        raise BackendError(f"segment.method={self.method!r} has no pose model; set "
                           "segment.options.mediapipe.pose_gate: false or segment.method: "
                           "mediapipe.")

    def output(self, masked: np.ndarray) -> np.ndarray:
        """The masked image (H, W, 3) uint8 as it is written; this default: unchanged."""
        return masked

    def close(self) -> None:
        """Release the backend's models (idempotent)."""

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
