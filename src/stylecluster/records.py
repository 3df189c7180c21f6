"""Typed JSON records that cross a process boundary: select_k.json, the segment, preprocess, embed
and reduce summaries, validate's report and the embed run record.

Each is a frozen dataclass with `to_json()` (the mapping `storage.write_json` writes, keys in field
order; optional fields left at None are omitted) and `from_json(data, where)`, which names the file
and the missing or mistyped key when a record is not what the writer wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_args, get_type_hints

from stylecluster.errors import SchemaError

R = TypeVar("R", bound="Record")
# select_k.json's chosen_by when select_k.rule bic chose k (the lowest BIC of the Gaussian mixtures):
# a choice of its own, never a fallback.
BIC_CHOICE = "bic minimum"
_TYPES: dict[Any, tuple[type, ...]] = {int: (int,), float: (int, float), bool: (bool,),
                                       str: (str,)}


class Record:
    """Shared JSON conversion of the records below (dataclasses of plain JSON values)."""

    # Fields written only when set (absent from the JSON when None).
    OPTIONAL: ClassVar[tuple[str, ...]] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-ready mapping, keys in field order."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self.OPTIONAL and value is None:
                continue
            out[f.name] = value.to_json() if isinstance(value, Record) else value
        return out

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any], where: str) -> R:
        """Build the record from what `to_json` wrote.

        Raises:
            SchemaError: A key is missing or has the wrong JSON type; the message names `where`.
        """
        if not isinstance(data, Mapping):
            raise SchemaError(f"{where}: expected a JSON object, got {type(data).__name__}.")
        hints = get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data and f.name in cls.OPTIONAL:
                values[f.name] = None
                continue
            if f.name not in data:
                raise SchemaError(f"{where}: key {f.name!r} is missing; re-run the stage that "
                                  "writes it (dvc repro).")
            values[f.name] = _convert(hints[f.name], data[f.name], f"{where} [{f.name}]")
        return cls(**values)


def _convert(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_json(value, where)
    args = get_args(hint)
    if len(args) == 2 and type(None) in args:  # `int | None`: null, or checked as an int
        return None if value is None else _convert(
            next(a for a in args if a is not type(None)), value, where)
    allowed = _TYPES.get(hint)
    if allowed is not None:
        if isinstance(value, bool) and hint is not bool or not isinstance(value, allowed):
            raise SchemaError(f"{where}: expected {hint.__name__}, got {value!r}.")
        return value
    return value  # unions, lists and mappings of plain values: kept as written


@dataclass(frozen=True)
class SelectKRecord(Record):
    """select_k.json: the chosen k and the settings the cluster stage must reuse.

    `algorithm` is what ran (and what cluster runs); `algorithm_asked` is set only when it differs
    (kmeans switched to minibatch_kmeans above `select_k.minibatch_above` posts); `fit_sample` only
    when reduce fitted its reducer on a sample (reduce.fit_sample). `exact` / `n_scored` say
    whether the silhouette was exact or sampled.

    With `select_k.algorithm: hdbscan` no k is chosen (`chosen_by` "hdbscan"): best_k, prominence,
    has_peak, rule, silhouette and the k range are null, n_scored is 0, and the HDBSCAN settings
    (min_cluster_size as a count of posts, min_samples, cluster_selection_method) are written for
    the cluster stage; they are absent from a k-means record. `covariance_type` is written only
    with `select_k.algorithm: gmm` (the cluster stage refits with it).
    """

    OPTIONAL: ClassVar[tuple[str, ...]] = ("min_cluster_size", "min_samples",
                                           "cluster_selection_method", "algorithm_asked",
                                           "minibatch_above", "fit_sample", "covariance_type")

    best_k: int | None  # None: hdbscan (no k chosen)
    prominence: float | None
    has_peak: bool | None
    rule: str | None
    fallback: str | None
    exact: bool
    n: int
    n_scored: int
    silhouette: float | None
    k_min: int | None
    k_max: int | None
    k_step: int | None
    algorithm: str
    n_init: int
    random_state: int
    exact_max_n: int
    sample_size: int
    n_repeats: int
    warnings: list[str]
    chosen_by: str  # silhouette peak | stability peak | silhouette argmax | bic minimum | hdbscan
    stability_pairs: int | None  # None when select_k.fallback is argmax (no stability curve)
    stability_n: int | None  # posts per stability subsample
    min_cluster_size: int | None = None  # hdbscan only
    min_samples: int | None = None  # hdbscan only; None there: min_cluster_size
    cluster_selection_method: str | None = None  # hdbscan only
    algorithm_asked: str | None = None  # select_k.algorithm when another one ran
    minibatch_above: int | None = None  # the threshold, recorded when it switched the algorithm
    fit_sample: int | None = None  # reduce.fit_sample when reduce fitted on a sample
    covariance_type: str | None = None  # gmm only: select_k.covariance_type


@dataclass(frozen=True)
class VectorsSummary(Record):
    """One modality's vectors in embed/summary.json: encoder, cache key, dim, count; for text also
    the encoder's token limit and how many texts were cut to it."""

    OPTIONAL = ("max_tokens", "truncated")

    encoder: str
    cache_key: str
    dim: int
    n: int
    max_tokens: int | None = None
    truncated: int | None = None


@dataclass(frozen=True)
class EmbedSummary(Record):
    """embed/summary.json. It holds only what follows from the inputs and params, so a warm-cache
    re-run writes the same bytes (run facts go to `EmbedRunRecord`).

    `dropped` counts rows of embed/dropped.parquet by the stage that caused them; the two
    `without_*` counts say what each drop costs: a post segment dropped has no image vector, a post
    with no (or empty) text has no text vector.
    """

    image: VectorsSummary
    text: VectorsSummary
    dropped: dict[str, int]
    n_dropped: int
    without_image: int
    without_text: int


@dataclass(frozen=True)
class ReduceSummary(Record):
    """reduce/summary.json: the modality and method, how many posts went in and were used, the
    posts left out (they lack the chosen modality) by reason, the dimensions and, when a text
    block is used, reduce.text_debias."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ("text_debias", "fit_sample")

    modality: str
    method: str
    n_input: int
    n_used: int
    n_dropped: int
    dropped_by_reason: dict[str, int]
    dim_in: int
    dim_out: int
    weights: dict[str, float] | None
    shared_knn: bool
    text_debias: str | None = None
    fit_sample: int | None = None  # reduce.fit_sample when the reducer was fitted on a sample


@dataclass(frozen=True)
class ModalityRun(Record):
    """What the embed stage did for one modality in one run."""

    encoder: str
    n: int
    cache_hits: int
    encoded: int
    loaded: int
    batch_size: int
    encode_seconds: float
    wall_seconds: float
    items_per_s: float | None


@dataclass(frozen=True)
class EmbedRunRecord(Record):
    """The embed run record (`logs/embed.json`): cache hits, items encoded, timings, device.

    It changes from run to run, so it is not a DVC output. Inside a queued `dvc exp run` the stage
    runs in a temporary copy of the project; it then also writes the record to
    `experiment_record_path(...)` in the parent project, where `stylecluster compare` reads it.
    """

    image: ModalityRun
    text: ModalityRun
    device: str
    cache: dict[str, Any]

    @property
    def n_cached(self) -> int:
        return self.image.cache_hits + self.text.cache_hits

    @property
    def n_encoded(self) -> int:
        return self.image.encoded + self.text.encoded


@dataclass(frozen=True)
class TextCleaning(Record):
    """What caption cleaning removed or converted, over the fields preprocess uses."""

    nan_token_posts: int  # posts with a standalone nan/NaN/None/null/NULL token removed
    nan_tokens_removed: int
    emoji_code_posts: int  # posts with a `:code:` turned into Chinese emoji words
    emoji_codes_converted: int
    unknown_code_posts: int  # posts with a `:code:` that names no emoji (dropped)
    unknown_codes_dropped: int


@dataclass(frozen=True)
class PreprocessSummary(Record):
    """preprocess/summary.json: field counts, cleaning counts, duplicates and lengths.

    `content` and `tags` hold {missing, nan_literal, empty, empty_after_cleaning}; `n_chars` and
    `tokens_per_post` hold quantiles ({} when there is no text).
    """

    n_posts: int
    fields: str
    embed_text: str
    content: dict[str, int]
    tags: dict[str, int]
    cleaning: TextCleaning
    tag_only_posts: int
    has_text_false: int
    duplicate_texts: dict[str, Any]
    n_chars: dict[str, float]
    tokens_per_post: dict[str, float]
    no_keywords_with_text: int
    empty_embed_input: int


@dataclass(frozen=True)
class SegmentSummary(Record):
    """segment/summary.json: counts kept/dropped by kind and by person-mask source, and the
    clothing-share mean and quantiles over readable images.

    `dropped_by_reason` has one entry per `pipeline.segment.DROP_KINDS`; `mask_source` and
    `kept_by_mask_source` one per mask source (alpha, mediapipe, none). The mean and each quantile
    are None when no image was readable; `unreadable_post_ids` holds the first 50 (all of them are
    in the manifest).
    """

    method: str
    min_clothing_share: float
    pose_gate: bool
    n_images: int
    n_kept: int
    n_dropped: int
    dropped_by_reason: dict[str, int]
    mask_source: dict[str, int]
    kept_by_mask_source: dict[str, int]
    clothing_share_mean: float | None
    clothing_share_quantiles: dict[str, float | None]
    unreadable_post_ids: list[str]


@dataclass(frozen=True)
class ValidationSummary(Record):
    """reports/validation.json: every expectation with its count and examples, and the counts.

    Always written: the row count, the required columns, `success` and `results` (one entry per
    expectation: expectation, column, success, blocking, unexpected_count, examples, fix). The
    counts are absent when a required column is missing; the normalisation facts
    (`n_control_char_cells`, `extra_columns`, `months`) only once every blocking check passed;
    `n_undated_dropped` only with `validate.undated: drop`, `min_posts_failure` only when too few
    posts remain, `source` (the raw posts file) once the stage has added it.
    """

    OPTIONAL = ("n_blocking_failures", "n_soft_failures", "n_missing_content", "n_undated",
                "n_text_only", "n_long_captions", "image_problems", "n_control_char_cells",
                "extra_columns", "n_undated_dropped", "min_posts_failure", "months", "source")

    n_rows: int
    required_columns: list[str]
    success: bool
    results: list[dict[str, Any]]
    n_blocking_failures: int | None = None
    n_soft_failures: int | None = None
    n_missing_content: int | None = None
    n_undated: int | None = None
    n_text_only: int | None = None
    n_long_captions: int | None = None
    image_problems: list[dict[str, Any]] | None = None
    n_control_char_cells: int | None = None
    extra_columns: list[str] | None = None
    n_undated_dropped: int | None = None
    min_posts_failure: str | None = None
    months: dict[str, int] | None = None
    source: str | None = None


def experiment_record_path(parent_root: str | Path, logs_dir: str | Path, experiment: str,
                           stage: str = "embed") -> Path:
    """Where a queued experiment's run record goes in the parent project (`logs/exps/<name>/`)."""
    return Path(parent_root) / logs_dir / "exps" / experiment / f"{stage}.json"


def run_record_paths(run_log: str | Path, env: Mapping[str, str], cwd: str | Path) -> list[Path]:
    """Every file a stage's run record goes to: `run_log`, and inside a queued `dvc exp run` (DVC
    sets DVC_EXP_NAME, and DVC_ROOT to the parent project) its copy in the parent project."""
    run_log = Path(run_log)
    paths = [run_log]
    name, root = env.get("DVC_EXP_NAME"), env.get("DVC_ROOT")
    if name and root and not run_log.is_absolute() and Path(root).resolve() != Path(cwd).resolve():
        paths.append(experiment_record_path(root, run_log.parent, name, run_log.stem))
    return paths
