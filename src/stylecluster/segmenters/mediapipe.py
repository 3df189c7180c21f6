"""`segment.method: mediapipe`: selfie-segmentation person mask minus skin and head; pose gate.

The models ship inside the mediapipe 0.10.21 wheel (no download); mediapipe is imported only when
this segmenter is built. Its options (`segment.options.mediapipe`, `MediapipeOptions`) configure
those models; `auto` uses the same models, so it reads them too. Skin and head removal
(`segment.remove_skin`, `segment.remove_head`) apply to any person mask (`clothing_of`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np

from stylecluster.config import SegmentParams
from stylecluster.errors import BackendError
from stylecluster.paramtypes import check, param
from stylecluster.segmenters.base import Masks, Segmenter

# Skin: the YCrCb box of Chai & Ngan (1999), robust across skin tones under daylight.
SKIN_CR = (133, 173)
SKIN_CB = (77, 127)
SKIN_MIN_Y = 40  # very dark pixels have unstable chroma; never call them skin
# Head: the face detector's box covers brows to chin; widen it to cover hair and ears.
HEAD_MARGIN_SIDE = 0.25  # of the box width, each side
HEAD_MARGIN_TOP = 0.60  # of the box height (hair)
HEAD_MARGIN_BOTTOM = 0.15  # of the box height (chin)


@dataclass(frozen=True)
class MediapipeOptions:
    """`segment.options.mediapipe`: mediapipe's models (for method mediapipe, and auto)."""

    person_threshold: float = param(0.5, "selfie-segmenter confidence for a person pixel")
    selfie_model: Literal["general", "landscape"] = param("general", "256x256 vs 144x256 input")
    face_model: Literal["short_range", "full_range"] = param(
        "full_range", "face detector of segment.remove_head; full: small faces too")
    min_face_confidence: float = param(0.5)
    pose_gate: bool = param(False, "reject foregrounds with no detected body pose "
                            "(pose_landmark_full)")

    def __post_init__(self) -> None:
        for key in ("person_threshold", "min_face_confidence"):
            check(0.0 < getattr(self, key) < 1.0, "segment.options.mediapipe", key,
                  getattr(self, key), "a number in (0, 1)")


def _import_mediapipe(method: str) -> Any:
    try:
        import mediapipe as mp
    except ImportError as exc:
        raise BackendError(
            f"segment.method = {method!r} needs the mediapipe package ({exc}). Install it with "
            "`pip install --no-deps mediapipe==0.10.21` plus absl-py, attrs, flatbuffers, "
            "'protobuf<5' and 'opencv-python-headless<4.12' (or `make install`), "
            "or set segment.method: none."
        ) from exc
    return mp


class MediapipeSegmenter(Segmenter):
    """Selfie-segmentation person mask minus skin and head; optional pose gate."""

    method = "mediapipe"

    def __init__(self, params: SegmentParams) -> None:
        super().__init__(params)
        self.options = opts = self.options_of("mediapipe")
        self.pose_gate = opts.pose_gate
        mp = _import_mediapipe(params.method)
        self._models: list[Any] = []
        try:
            self._selfie = self._keep(mp.solutions.selfie_segmentation.SelfieSegmentation(
                model_selection=0 if opts.selfie_model == "general" else 1))
            self._face = self._keep(mp.solutions.face_detection.FaceDetection(
                model_selection=0 if opts.face_model == "short_range" else 1,
                min_detection_confidence=opts.min_face_confidence,
            )) if params.remove_head else None
            # Only pose_landmark_full (complexity 1) ships in the wheel; 0 and 2 try to download.
            self._pose = self._keep(mp.solutions.pose.Pose(
                static_image_mode=True, model_complexity=1, enable_segmentation=False,
            )) if opts.pose_gate else None
        except (OSError, RuntimeError, ValueError) as exc:
            self.close()
            raise BackendError(
                f"mediapipe could not load its bundled models ({exc}); reinstall "
                "mediapipe==0.10.21 (`make install`), or set segment.method: none."
            ) from exc

    def _keep(self, model: Any) -> Any:
        self._models.append(model)
        return model

    def masks(self, img: np.ndarray, alpha: np.ndarray | None = None) -> Masks:
        confidence = self._selfie.process(img).segmentation_mask  # (H, W) float32 in [0, 1]
        person = confidence >= self.options.person_threshold
        return Masks(person, self.clothing_of(img, person), "mediapipe")

    def clothing_of(self, img: np.ndarray, person: np.ndarray) -> np.ndarray:
        """The person mask (H, W) bool minus skin and head, as `segment.remove_*` say."""
        clothing = person.copy()
        if self.params.remove_skin:
            clothing &= ~skin_mask(img)
        # An empty mask stays empty: skip the face detector (most non-person images).
        if self._face is not None and clothing.any():
            detections = self._face.process(img).detections or []
            boxes = [_relative_box(d) for d in detections]
            clothing &= ~head_mask(img.shape[:2], boxes)
        return clothing

    def has_pose(self, img: np.ndarray) -> bool:
        if self._pose is None:
            raise BackendError("pose gate asked of a segmenter built with "
                               "segment.options.mediapipe.pose_gate: false")
        return self._pose.process(img).pose_landmarks is not None

    def close(self) -> None:
        while getattr(self, "_models", None):
            self._models.pop().close()


def _relative_box(detection: Any) -> tuple[float, float, float, float]:
    box = detection.location_data.relative_bounding_box
    return (box.xmin, box.ymin, box.width, box.height)


def skin_mask(img: np.ndarray) -> np.ndarray:
    """Skin-coloured pixels by a fixed YCrCb box (BT.601, as in JPEG).

    Args:
        img: (H, W, 3) uint8 RGB.

    Returns:
        (H, W) bool, True on skin-coloured pixels.
    """
    ycrcb = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)  # (H, W, 3) uint8, Cr/Cb offset by 128
    lower = np.array([SKIN_MIN_Y, SKIN_CR[0], SKIN_CB[0]], dtype=np.uint8)
    upper = np.array([255, SKIN_CR[1], SKIN_CB[1]], dtype=np.uint8)
    return cv2.inRange(ycrcb, lower, upper) > 0


def head_mask(shape: tuple[int, int],
              boxes: Iterable[tuple[float, float, float, float]]) -> np.ndarray:
    """Head regions: each face box (relative xmin, ymin, width, height), widened for hair.

    Args:
        shape: (H, W) of the image.
        boxes: Face boxes in relative coordinates, as mediapipe's face detector reports them.

    Returns:
        (H, W) bool, True inside any widened box (clipped to the image).
    """
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    for xmin, ymin, bw, bh in boxes:
        x0 = max(0, math.floor((xmin - HEAD_MARGIN_SIDE * bw) * w))
        x1 = min(w, math.ceil((xmin + (1 + HEAD_MARGIN_SIDE) * bw) * w))
        y0 = max(0, math.floor((ymin - HEAD_MARGIN_TOP * bh) * h))
        y1 = min(h, math.ceil((ymin + (1 + HEAD_MARGIN_BOTTOM) * bh) * h))
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
    return mask
