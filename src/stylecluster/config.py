"""Typed, frozen params: one dataclass per params.yaml section.

`load_section(params, "embed")` turns the `embed:` mapping into `EmbedParams`, rejecting unknown keys,
wrong types and out-of-range values before any heavy work starts. Stage code receives these objects;
only entry points read params.yaml (through `io.read_params`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stylecluster import dates
from stylecluster.errors import ConfigError


def _fail(section: str, key: str, value: Any, allowed: str) -> typing.NoReturn:
    raise ConfigError(
        f"params.yaml [{section}.{key}] = {value!r} is not allowed: expected {allowed}. "
        f"Fix the value in params.yaml (or the -S {section}.{key}=... override)."
    )


def check(ok: bool, section: str, key: str, value: Any, allowed: str) -> None:
    """Raise a ConfigError naming `section.key` unless `ok`."""
    if not ok:
        _fail(section, key, value, allowed)


def _coerce(section: str, key: str, value: Any, tp: Any) -> Any:
    """Check `value` against the annotation `tp`; return it in canonical form (tuples, floats)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value not in args:
            _fail(section, key, value, "one of " + ", ".join(repr(a) for a in args))
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(section, key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        _fail(section, key, value, " or ".join(_describe(a) for a in args))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            _fail(section, key, value, f"a list of {_describe(args[0])}")
        return tuple(_coerce(section, key, v, args[0]) for v in value)
    if origin is dict:
        if not isinstance(value, Mapping):
            _fail(section, key, value, "a mapping")
        return {
            _coerce(section, key, k, args[0]): _coerce(section, key, v, args[1])
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            _fail(section, key, value, "true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(section, key, value, "an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(section, key, value, "a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(section, key, value, "a string")
        return value
    raise TypeError(f"config annotation {tp!r} for {section}.{key} is not supported")


def _describe(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return str(tp)


def build(cls: type, section: str, raw: Mapping[str, Any] | None) -> Any:
    """Build the frozen dataclass `cls` from the mapping `raw` (the params.yaml section).

    Args:
        cls: A dataclass from this module.
        section: The section's name in params.yaml, used in error messages.
        raw: The section's mapping; missing keys take the dataclass defaults.

    Returns:
        An instance of `cls`.

    Raises:
        ConfigError: On an unknown key, a wrong type or an out-of-range value.
    """
    raw = dict(raw or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(
            f"params.yaml [{section}] has unknown key(s) {unknown}; allowed keys: {names}. "
            "Remove or rename them (a typo here would otherwise be silently ignored)."
        )
    kwargs = {k: _coerce(section, k, v, hints[k]) for k, v in raw.items()}
    return cls(**kwargs)


@dataclass(frozen=True)
class BaseParams:
    """Shared constants: the one seed every random step receives as `random_state`."""

    seed: int = 42
    progress: bool = True  # progress bars on stderr

    def __post_init__(self) -> None:
        check(0 <= self.seed < 2**32, "base", "seed", self.seed, "an integer in [0, 2**32)")


@dataclass(frozen=True)
class ValidateParams:
    """How raw posts are checked and normalised (great-expectations)."""

    time_format: str = "%Y-%m-%d %H:%M:%S"
    timezone: str = "Asia/Shanghai"  # zone of naive timestamps; stored as UTC
    min_date: str = "2010-01-01"
    max_date: str = "2030-12-31"
    caption_max_chars: int = 5000
    caption_mostly: float = 0.95  # share of captions that must be within bounds (soft check)
    image_mostly: float = 1.0  # share of image files that must exist and decode
    labels: tuple[str, ...] | None = None  # allowed label values; null accepts any
    check_images: bool = True
    undated: Literal["keep", "drop", "error"] = "keep"  # posts without a date
    min_posts: int = 12  # reduce's UMAP to n_components=10 dimensions needs 12 posts

    def __post_init__(self) -> None:
        for key in ("caption_mostly", "image_mostly"):
            value = getattr(self, key)
            check(0.0 <= value <= 1.0, "validate", key, value, "a number in [0, 1]")
        check(self.caption_max_chars > 0, "validate", "caption_max_chars",
              self.caption_max_chars, "a positive integer")
        check(dates.is_date_format(self.time_format), "validate",
              "time_format", self.time_format, "auto, epoch_s, epoch_ms or a strptime format "
              "such as '%Y-%m-%d %H:%M:%S'")
        try:
            dates.check_timezone(self.timezone, "params.yaml [validate.timezone]")
        except ConfigError as exc:
            raise ConfigError(f"{exc} Fix the value in params.yaml.") from None
        check(self.min_posts >= 1, "validate", "min_posts", self.min_posts, "an integer >= 1")


@dataclass(frozen=True)
class SegmentParams:
    """Body/clothing segmentation and the clothing-share filter."""

    method: Literal["mediapipe", "none"] = "mediapipe"
    min_clothing_share: float = 0.05  # drop images whose clothing covers less (>95% black)
    person_threshold: float = 0.5  # selfie-segmenter confidence for a person pixel
    selfie_model: Literal["general", "landscape"] = "general"  # 256x256 vs 144x256 input
    remove_skin: bool = True  # drop skin-coloured pixels (YCrCb box) from the person mask
    remove_head: bool = True  # drop the detected face box, widened for hair
    face_model: Literal["short_range", "full_range"] = "full_range"  # full: small faces too
    min_face_confidence: float = 0.5
    pose_gate: bool = False  # reject foregrounds with no detected body pose
    max_side: int = 2048  # longer side of a decoded image; larger ones are shrunk (aspect kept)

    def __post_init__(self) -> None:
        check(self.max_side >= 64, "segment", "max_side", self.max_side,
              "an integer >= 64 (pixels on the longer side of a decoded image)")
        check(0.0 <= self.min_clothing_share < 1.0, "segment", "min_clothing_share",
              self.min_clothing_share, "a number in [0, 1)")
        check(0.0 < self.person_threshold < 1.0, "segment", "person_threshold",
              self.person_threshold, "a number in (0, 1)")
        check(0.0 < self.min_face_confidence < 1.0, "segment", "min_face_confidence",
              self.min_face_confidence, "a number in (0, 1)")
        check(not (self.pose_gate and self.method == "none"), "segment", "pose_gate",
              self.pose_gate, "false when method is 'none' (that method keeps every image; "
              "set method: mediapipe to gate on a body pose)")


@dataclass(frozen=True)
class PreprocessParams:
    """Chinese text cleaning, jieba tokens and RAKE keywords."""

    fields: Literal["content", "tags", "both"] = "both"  # both: content + tags, as in the research
    embed_text: Literal["keywords", "tokens", "clean"] = "clean"  # what embed encodes
    user_dict: str | None = None  # optional jieba user dictionary (path, relative to the project)
    max_keywords: int = 10  # RAKE keywords kept per post

    def __post_init__(self) -> None:
        check(self.max_keywords >= 1, "preprocess", "max_keywords", self.max_keywords,
              "an integer >= 1")
        check(self.user_dict is None or self.user_dict.strip() != "", "preprocess", "user_dict",
              self.user_dict, "null or the path of a jieba user dictionary")


@dataclass(frozen=True)
class EmbedParams:
    """Encoders, batch size, device and the optional backends' weight paths."""

    image_encoder: str = "efficientnet-lite0"
    text_encoder: str = "e5-small"
    batch_size: int = 32
    device: Literal["cpu", "cuda"] = "cpu"
    # efficientnet-lite0 only. auto: ONNX Runtime on the CPU (about 4x eager PyTorch there), PyTorch
    # on CUDA. Both run the same weights; the cache key names the runtime.
    image_runtime: Literal["auto", "onnxruntime", "torch"] = "auto"
    torch_threads: int = 2
    imagebind_checkpoint: str | None = None
    sentence_transformers_path: str | None = None
    chinese_clip_path: str | None = None

    def __post_init__(self) -> None:
        # Encoder names are checked against the registry by check-params and the embed stage
        # (importing the registry here would make every stage depend on the encoder package).
        check(self.batch_size >= 1, "embed", "batch_size", self.batch_size, "an integer >= 1")
        check(self.torch_threads >= 1, "embed", "torch_threads", self.torch_threads,
              "an integer >= 1")


@dataclass(frozen=True)
class ReduceParams:
    """Modality choice and dimensionality reduction before clustering."""

    modality: Literal["image", "text", "concat"] = "image"
    method: Literal["none", "pca", "umap"] = "umap"
    n_components: int = 10
    # A seeded UMAP (random_state = base.seed) runs single-threaded: reproducible, not parallel.
    n_neighbors: int = 15
    min_dist: float = 0.0
    metric: str = "cosine"
    weights: dict[str, float] = field(default_factory=lambda: {"text": 1.0, "image": 1.0})

    def __post_init__(self) -> None:
        check(self.n_components >= 1, "reduce", "n_components", self.n_components,
              "an integer >= 1")
        check(self.n_neighbors >= 2, "reduce", "n_neighbors", self.n_neighbors, "an integer >= 2")
        check(0.0 <= self.min_dist <= 1.0, "reduce", "min_dist", self.min_dist,
              "a number in [0, 1]")
        check(set(self.weights) == {"text", "image"} and all(w >= 0 for w in self.weights.values()),
              "reduce", "weights", self.weights,
              "a mapping with non-negative 'text' and 'image' weights")


@dataclass(frozen=True)
class SelectKParams:
    """The k range, clustering algorithm, criteria and choice rule."""

    k_min: int = 2
    k_max: int = 30
    k_step: int = 1
    algorithm: Literal["kmeans", "agglomerative", "minibatch_kmeans"] = "kmeans"
    rule: Literal["prominence", "argmax"] = "prominence"
    exact_max_n: int = 10000
    sample_size: int = 5000
    n_repeats: int = 5
    n_init: int = 4  # k-means restarts (random_state = base.seed)
    min_prominence: float = 0.05  # a clear peak rises >= 0.05 silhouette above its surroundings
    block_mb: float = 256.0  # memory bound of one n x b float64 distance block

    def __post_init__(self) -> None:
        check(self.k_min >= 2, "select_k", "k_min", self.k_min, "an integer >= 2")
        check(self.exact_max_n >= 2, "select_k", "exact_max_n", self.exact_max_n,
              "an integer >= 2")
        check(self.n_init >= 1, "select_k", "n_init", self.n_init, "an integer >= 1")
        check(self.min_prominence >= 0, "select_k", "min_prominence", self.min_prominence,
              "a number >= 0")
        check(self.block_mb > 0, "select_k", "block_mb", self.block_mb, "a number > 0")
        check(self.k_max > self.k_min, "select_k", "k_max", self.k_max,
              f"an integer > k_min ({self.k_min})")
        check(self.k_step >= 1, "select_k", "k_step", self.k_step, "an integer >= 1")
        check(self.sample_size >= 100, "select_k", "sample_size", self.sample_size,
              "an integer >= 100")
        check(self.n_repeats >= 1, "select_k", "n_repeats", self.n_repeats, "an integer >= 1")


@dataclass(frozen=True)
class ClusterParams:
    """The final clustering; `n_clusters` overrides the k chosen by select_k."""

    n_clusters: int | None = None
    n_representatives: int = 10

    def __post_init__(self) -> None:
        check(self.n_clusters is None or self.n_clusters >= 2, "cluster", "n_clusters",
              self.n_clusters, "null or an integer >= 2")
        check(self.n_representatives >= 1, "cluster", "n_representatives",
              self.n_representatives, "an integer >= 1")


@dataclass(frozen=True)
class ReportParams:
    """What the trend report shows."""

    top_n: int = 5  # clusters per month in the top-n table, bar panels and exemplar grids
    exemplars_per_cluster: int = 4  # masked images per cluster in a month's exemplar grid
    texts_per_cluster: int = 10  # representative captions per cluster
    n_keywords: int = 10  # c-TF-IDF keywords (and RAKE keywords) per cluster

    def __post_init__(self) -> None:
        for key in ("top_n", "exemplars_per_cluster", "texts_per_cluster", "n_keywords"):
            check(getattr(self, key) >= 1, "report", key, getattr(self, key), "an integer >= 1")


SECTIONS: dict[str, type] = {
    "base": BaseParams,
    "validate": ValidateParams,
    "segment": SegmentParams,
    "preprocess": PreprocessParams,
    "embed": EmbedParams,
    "reduce": ReduceParams,
    "select_k": SelectKParams,
    "cluster": ClusterParams,
    "report": ReportParams,
}


OTHER_SECTIONS = ("paths",)  # read by dvc.yaml's ${paths.x}, not by a stage's core


def check_sections(params: Mapping[str, Any], where: str = "params.yaml") -> None:
    """Reject top-level sections that no stage reads (a misspelt `selct_k:` would be ignored).

    Raises:
        ConfigError: Naming each unknown section and the closest known name.
    """
    import difflib

    known = [*SECTIONS, *OTHER_SECTIONS]
    unknown = [name for name in params if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"{where} has unknown section(s) {', '.join(hints)}; known sections: "
                          f"{known}. Rename or remove them (a typo here would otherwise be "
                          "silently ignored).")


def load_section(params: Mapping[str, Any], section: str) -> Any:
    """Return the typed params of `section` from the whole params.yaml mapping.

    Raises:
        ConfigError: If the section is unknown or any of its values is invalid.
    """
    if section not in SECTIONS:
        raise ConfigError(f"unknown params section {section!r}; known: {sorted(SECTIONS)}")
    raw = params.get(section)
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"params.yaml [{section}] must be a mapping, got {raw!r}")
    return build(SECTIONS[section], section, raw)


def load_all(params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every known section at once (used by tests and `stylecluster check-params`)."""
    check_sections(params)
    return {name: load_section(params, name) for name in SECTIONS}
