"""`segment.method: none`: keep every pixel (for photos already cut out, or to run unfiltered)."""

from __future__ import annotations

import numpy as np

from stylecluster.segmenters.base import Segmenter


class NoSegmenter(Segmenter):
    """Keeps every pixel: share 1.0, masked image = original (to run the pipeline unfiltered)."""

    method = "none"

    def masks(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.ones(img.shape[:2], dtype=bool)
        return full, full
