"""The segmenter registry: `segment.method` -> the backend that finds the clothing.

| method | person mask | options (`segment.options.<method>`) |
|---|---|---|
| auto (default) | the image's alpha when it marks a transparent background, else mediapipe's | `auto` (the alpha rule) and `mediapipe` (its models) |
| mediapipe | mediapipe's selfie segmenter | `mediapipe`: person_threshold, selfie_model, face_model, min_face_confidence, pose_gate |
| none | every pixel | `none`: mask_short_side (masks written at the encoders' input size) |

Adding a backend touches its module and its entry here only: write `segmenters/<name>.py` with a
frozen options dataclass of `param` fields (or none) and a `Segmenter` subclass that reads its
options with `self.options_of("<name>")` and returns `Masks` from `masks`; add one line to
`SEGMENTERS` ("module:Class:OptionsClass", the last part empty when it takes no options); re-render
params.yaml (`stylecluster check-params --write-defaults params.yaml`). The module is imported
only when its method is used or its options are checked; mediapipe itself is imported only when a
mediapipe segmenter is built, so `method: none` never imports it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stylecluster.errors import BackendError, ConfigError
from stylecluster.paramtypes import DEFAULT_FILE, build, build_options
from stylecluster.segmenters.base import Masks, Segmenter

if TYPE_CHECKING:
    from stylecluster.config import SegmentParams

SEGMENTERS: dict[str, str] = {
    "auto": "stylecluster.segmenters.auto:AutoSegmenter:AutoOptions",
    "mediapipe": "stylecluster.segmenters.mediapipe:MediapipeSegmenter:MediapipeOptions",
    "none": "stylecluster.segmenters.none:NoSegmenter:NoneOptions",
}

__all__ = ["SEGMENTERS", "Masks", "Segmenter", "SegmenterRecipe", "check_options", "check_params", "make_segmenter",
           "option_classes", "options_of", "segmenter_class"]


def _entry(method: str) -> tuple[str, str, str]:
    if method not in SEGMENTERS:
        raise BackendError(f"segment.method = {method!r} is not a known segmenter; "
                           f"known: {sorted(SEGMENTERS)}. Fix segment.method in params.yaml.")
    module, cls, options = SEGMENTERS[method].split(":")
    return module, cls, options


def segmenter_class(method: str) -> type[Segmenter]:
    """The Segmenter subclass registered as `method`.

    Raises:
        BackendError: If the method is unknown (the message lists the known ones).
    """
    module, name, _ = _entry(method)
    return getattr(importlib.import_module(module), name)


def option_classes() -> dict[str, type | None]:
    """Each registered method's options dataclass (None: it takes no options).

    Imports the backend modules (cv2 and numpy only; mediapipe loads when a segmenter is built).
    """
    classes: dict[str, type | None] = {}
    for method in SEGMENTERS:
        module, _, options = _entry(method)
        classes[method] = getattr(importlib.import_module(module), options) if options else None
    return classes


def options_of(params: SegmentParams, method: str, where: str = DEFAULT_FILE) -> Any:
    """The typed `segment.options.<method>` (its defaults where the file names none).

    Raises:
        ConfigError: An unknown option key (naming `segment.options.<method>.<key>`) or a bad value.
    """
    module, _, options = _entry(method)
    cls = getattr(importlib.import_module(module), options)
    return build(cls, f"segment.options.{method}", (params.options or {}).get(method), where)


def check_options(params: SegmentParams, where: str = DEFAULT_FILE) -> dict[str, Any]:
    """Typed `segment.options`: {method: its options} for every method that has options.

    Raises:
        ConfigError: An unknown method or option key (naming the allowed ones), or a bad value.
    """
    return build_options("segment.options", params.options, option_classes(), where)


def check_params(params: SegmentParams, where: str = DEFAULT_FILE) -> None:
    """Check the segment section against the registry: the method and every option.

    Raises:
        BackendError: An unknown method (listing the known ones).
        ConfigError: Naming the key, the value and what is allowed.
    """
    _entry(params.method)
    options = check_options(params, where)
    if params.method == "none" and options["mediapipe"].pose_gate:
        raise ConfigError(
            f"{where} [segment.options.mediapipe.pose_gate] = True is not allowed when method is "
            "'none' (that method keeps every image and has no pose model); set it false, or set "
            "segment.method: mediapipe (or auto) to gate on a body pose.")


def make_segmenter(params: SegmentParams) -> Segmenter:
    """Create the segmenter named by `params.method` (load its models once per run).

    Raises:
        ConfigError: If an option is invalid (see `check_params`).
        BackendError: If the method is unknown, or its package or bundled models are missing.
    """
    check_params(params)
    return segmenter_class(params.method)(params)


@dataclass(frozen=True)
class SegmenterRecipe:
    """What a worker process needs to build a segmenter itself (see `stylecluster.executors`).

    The segmenter it builds stays open for the process's lifetime (one per worker, not per task).
    """

    params: SegmentParams

    def key(self) -> str:
        """Identifies the segmenter this recipe builds."""
        return repr(self)

    def build(self) -> Segmenter:
        """An open segmenter (loads its models)."""
        return make_segmenter(self.params)
