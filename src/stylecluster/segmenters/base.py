"""What a segmenter is: finds the person and the clothing in an image; a context manager."""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from stylecluster.config import SegmentParams
from stylecluster.errors import BackendError


class Segmenter(abc.ABC):
    """One way to find the clothing in an image. Use as a context manager; `close` frees models.

    Each subclass is named in the registry (`stylecluster.segmenters.SEGMENTERS`) under its
    `segment.method` string.
    """

    method: ClassVar[str]

    def __init__(self, params: SegmentParams) -> None:
        self.params = params

    @abc.abstractmethod
    def masks(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (person_mask, clothing_mask), both (H, W) bool, for an (H, W, 3) uint8 image."""

    def has_pose(self, img: np.ndarray) -> bool:
        """Whether a body pose is visible; only asked when `pose_gate` is on."""
        raise BackendError(f"segment.method={self.method!r} has no pose model; "
                           "set segment.pose_gate: false or segment.method: mediapipe.")

    def close(self) -> None:
        """Release the backend's models (idempotent)."""

    def __enter__(self) -> Segmenter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
