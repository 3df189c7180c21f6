"""The segmenter registry: `segment.method` -> the backend that finds the clothing.

A backend is one module here with a `Segmenter` subclass, plus one line in `SEGMENTERS`
("module:Class"); the module is imported only when that method is used, so a run with
`method: none` never imports mediapipe.
"""

from __future__ import annotations

import importlib

from stylecluster.config import SegmentParams
from stylecluster.errors import BackendError
from stylecluster.segmenters.base import Segmenter

SEGMENTERS: dict[str, str] = {
    "mediapipe": "stylecluster.segmenters.mediapipe:MediapipeSegmenter",
    "none": "stylecluster.segmenters.none:NoSegmenter",
}

__all__ = ["SEGMENTERS", "Segmenter", "make_segmenter", "segmenter_class"]


def segmenter_class(method: str) -> type[Segmenter]:
    """The Segmenter subclass registered as `method`.

    Raises:
        BackendError: If the method is unknown (the message lists the known ones).
    """
    if method not in SEGMENTERS:
        raise BackendError(f"segment.method = {method!r} is not a known segmenter; "
                           f"known: {sorted(SEGMENTERS)}. Fix segment.method in params.yaml.")
    module, name = SEGMENTERS[method].split(":")
    return getattr(importlib.import_module(module), name)


def make_segmenter(params: SegmentParams) -> Segmenter:
    """Create the segmenter named by `params.method` (load its models once per run).

    Raises:
        BackendError: If the method is unknown, or its package or bundled models are missing.
    """
    return segmenter_class(params.method)(params)
