"""Typed, frozen params: one dataclass per params.yaml section, and the source of every default.

`load_section(params, "embed")` turns the `embed:` mapping into `EmbedParams`, rejecting unknown keys,
wrong types and out-of-range values before any heavy work starts. Stage code receives these objects;
only entry points read params.yaml (through `storage.read_params`).

Defaults are written once, here: each field is a `param(default, help)` (type, default and a line of
help together), ranges are checked in `__post_init__`, and params.yaml is rendered from these classes
by `stylecluster check-params --write-defaults params.yaml` (a unit test fails when the committed
file differs from the rendering). This direction, not the reverse, because the code needs defaults
anyway: tests, benchmarks and notebooks build params without a file (`load_section({}, "reduce")`),
and a file-first design would either repeat every default in code or make every field required. The
type, the range check, the default and the comment a user reads in params.yaml sit side by side, so
none can drift. To change a default: edit it here, re-render params.yaml, commit both. A run with
other values overrides keys (`dvc exp run -S reduce.n_neighbors=30`, or an edited copy of the file).

Per-backend options (`embed.options`, `segment.options`) are declared by each backend next to its
code; their mapping here is checked by the backend registry (`stylecluster.encoders`,
`stylecluster.segmenters`), which config.py does not import.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stylecluster import dates
from stylecluster.errors import ConfigError
from stylecluster.paramtypes import (DEFAULT_FILE, WHERE, ParamError, as_plain, build, check,
                                     param)
from stylecluster.sections import BaseParams, PathsParams, RuntimeParams

__all__ = ["SECTIONS", "UNTRACKED", "ParamError", "as_plain", "build", "check", "check_sections",
           "load_all", "load_section", "param"]


@dataclass(frozen=True)
class ValidateParams:
    """How raw posts are checked and normalised (great-expectations)."""

    time_format: str = param("%Y-%m-%d %H:%M:%S",
                             "or auto | epoch_s | epoch_ms (see src/stylecluster/dates.py)")
    timezone: str = param("Asia/Shanghai", "zone of naive timestamps; stored as UTC, months in "
                          "this zone's UTC day")
    min_date: str = param("2010-01-01")
    max_date: str = param("2030-12-31")
    caption_max_chars: int = param(5000)
    caption_mostly: float = param(0.95, "soft check: at least this share of captions within "
                                  "bounds")
    image_mostly: float = param(1.0, "share of images that must exist and decode (1.0: any "
                                "failure blocks)")
    labels: tuple[str, ...] | None = param(None, "allowed label values; null accepts any")
    check_images: bool = param(True)
    undated: Literal["keep", "drop", "error"] = param(
        "keep", "posts without a date: keep (clustered, left out of the monthly "
        "trends and counted) | drop (counted) | error")
    min_posts: int = param(12, "fewer stops validate: reduce's UMAP to 10 dimensions needs 12")

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
            dates.check_timezone(self.timezone, f"{WHERE} [validate.timezone]")
        except ConfigError as exc:
            raise ParamError(f"{exc} Fix the value in {WHERE}.") from None
        check(self.min_posts >= 1, "validate", "min_posts", self.min_posts, "an integer >= 1")


@dataclass(frozen=True)
class SegmentParams:
    """Body/clothing segmentation and the clothing-share filter."""

    method: Literal["auto", "mediapipe", "none"] = param(
        "auto", "auto (an image whose alpha marks a transparent background: the alpha is the "
        "person mask; any other: mediapipe) | mediapipe | none (every pixel)")
    min_clothing_share: float = param(0.05, "drop images whose clothing covers less (>95% black)")
    remove_skin: bool = param(True, "drop skin-coloured pixels (YCrCb box) from the person mask "
                              "(auto and mediapipe)")
    remove_head: bool = param(True, "drop the detected face box, widened for hair (auto and "
                              "mediapipe; mediapipe's face detector)")
    max_side: int = param(2048, "longer side of a decoded image; larger ones are shrunk (aspect "
                          "kept)")
    # Checked against the registry by `segmenters.check_options` (check-params, the segment stage):
    # importing the registry here would make config depend on the segmenter package.
    options: dict[str, dict[str, Any]] = param(
        default_factory=dict, help="per method (a method not listed takes its defaults)",
        registry="stylecluster.segmenters")

    def __post_init__(self) -> None:
        check(self.max_side >= 64, "segment", "max_side", self.max_side,
              "an integer >= 64 (pixels on the longer side of a decoded image)")
        check(0.0 <= self.min_clothing_share < 1.0, "segment", "min_clothing_share",
              self.min_clothing_share, "a number in [0, 1)")


@dataclass(frozen=True)
class PreprocessParams:
    """Chinese text cleaning, jieba tokens and RAKE keywords."""

    fields: Literal["content", "tags", "both"] = param(
        "both", "content | tags | both (content + tags, as in the research)")
    embed_text: Literal["keywords", "tokens", "clean"] = param(
        "clean", "which representation is embedded: keywords | tokens | clean")
    user_dict: str | None = param("data/external/userdict_fashion_zh.txt",
                                  "jieba user dictionary (null: none); a dvc dep")
    max_keywords: int = param(10, "RAKE keywords kept per post")

    def __post_init__(self) -> None:
        check(self.max_keywords >= 1, "preprocess", "max_keywords", self.max_keywords,
              "an integer >= 1")
        check(self.user_dict is None or self.user_dict.strip() != "", "preprocess", "user_dict",
              self.user_dict, "null or the path of a jieba user dictionary")


@dataclass(frozen=True)
class EmbedParams:
    """Encoders, batch size, device and each backend's options."""

    image_encoder: str = param(
        "efficientnet-lite0",
        "efficientnet-lite0 | efficientnet-lite1 | efficientnet-lite2 (1280-d) | imagebind | "
        "chinese-clip | pixels (a no-model baseline) | a+b: both, stacked (stack_weights)")
    stack_weights: dict[str, float] = param(
        default_factory=dict, help="a stacked encoder's block weights by part name (1.0 when not "
        "listed): each part's unit vector scaled by it, then the blocks joined")
    text_encoder: str = param("e5-small", "e5-small (384-d) | use-multilingual (512-d) | "
                              "sentence-transformers | imagebind | chinese-clip")
    batch_size: int = param(32)
    text_pooling: Literal["whole", "chunks", "tokens"] = param(
        "whole", "whole (embed_input as one text) | chunks (mean of chunk vectors, "
        "text_chunk_chars) | tokens (weighted mean of each distinct preprocess token's vector, "
        "text_token_weighting); whole by default: on the sample tokens raised text NMI but "
        "neither took length out of the text clusters, and both made concat slightly worse "
        "(README, caption length)")
    text_chunk_chars: int = param(64, "chunks: the most characters in a chunk (cut at sentence "
                                  "ends where possible)")
    text_token_weighting: Literal["idf", "tfidf", "mean", "ctfidf"] = param(
        "idf", "tokens: idf (each distinct token by its smoothed idf) | tfidf (also by its count) "
        "| mean (every occurrence alike) | ctfidf (c-TF-IDF with hashtags as classes)")
    device: Literal["cpu", "cuda"] = param(
        "cpu", "cpu | cuda (torch encoders, e5-small included through its torch runtime; "
        "use-multilingual runs on the CPU)")
    # Checked against the registry by `encoders.check_options` (check-params, the embed stage):
    # importing the registry here would make every stage depend on the encoder package.
    options: dict[str, dict[str, Any]] = param(
        default_factory=dict, help="per backend (a backend not listed takes its defaults)",
        registry="stylecluster.encoders")

    def __post_init__(self) -> None:
        # Encoder names, too, are checked against the registry by check-params and the embed stage.
        check(self.batch_size >= 1, "embed", "batch_size", self.batch_size, "an integer >= 1")
        for part, w in self.stack_weights.items():
            check(w > 0, "embed", f"stack_weights.{part}", w, "a number > 0")
        check(self.text_chunk_chars >= 8, "embed", "text_chunk_chars", self.text_chunk_chars,
              "an integer >= 8 (characters per chunk)")


@dataclass(frozen=True)
class ReduceParams:
    """Modality choice and dimensionality reduction before clustering."""

    modality: Literal["image", "text", "concat"] = param("image", "image | text | concat")
    method: Literal["none", "pca", "umap"] = param("umap", "none | pca | umap")
    n_components: int = param(10)
    n_neighbors: int = param(15, "a seeded UMAP (random_state = base.seed) runs single-threaded")
    min_dist: float = param(0.0)
    metric: str = param("cosine")
    weights: dict[str, float] = param(default_factory=lambda: {"text": 1.0, "image": 1.0},
                                      help="concat: each block L2-normalised, then scaled")
    text_debias: Literal["none", "top_pcs", "length", "both"] = param(
        "none", "text vectors (text modality, concat's text half) before reduction: none | "
        "top_pcs (subtract the mean, project out the top text_top_pcs principal components) | "
        "length (subtract the part a fit on log n_chars explains) | both (length, then top_pcs); "
        "none by default: on the sample none of them took length out of the text clusters and "
        "all made concat worse (README, caption length)")
    text_top_pcs: int = param(1, "top_pcs/both: principal components removed (Mu & Viswanath: "
                              "about dim/100; on the sample 1 beat 2, 3 and 5)")
    fit_sample: int | None = param(
        None, "null: fit PCA/UMAP (and the 2-D map) on every post | N: fit on a seeded sample of "
        "N posts (random_state = base.seed), transform the rest in batches (large sets)")

    def __post_init__(self) -> None:
        check(self.n_components >= 1, "reduce", "n_components", self.n_components,
              "an integer >= 1")
        check(self.n_neighbors >= 2, "reduce", "n_neighbors", self.n_neighbors, "an integer >= 2")
        check(0.0 <= self.min_dist <= 1.0, "reduce", "min_dist", self.min_dist,
              "a number in [0, 1]")
        check(set(self.weights) == {"text", "image"} and all(w >= 0 for w in self.weights.values()),
              "reduce", "weights", self.weights,
              "a mapping with non-negative 'text' and 'image' weights")
        check(self.fit_sample is None or self.fit_sample >= 100, "reduce", "fit_sample",
              self.fit_sample, "null or an integer >= 100")
        check(1 <= self.text_top_pcs <= 64, "reduce", "text_top_pcs", self.text_top_pcs,
              "an integer in [1, 64] (all-but-the-top removes a few, about dim/100)")


@dataclass(frozen=True)
class SelectKParams:
    """The k range, clustering algorithm, criteria and choice rule."""

    k_min: int = param(2)
    k_max: int = param(30, "the research looked up to about 200")
    k_step: int = param(1)
    algorithm: Literal["kmeans", "agglomerative", "minibatch_kmeans", "gmm", "hdbscan"] = param(
        "kmeans", "kmeans | agglomerative | minibatch_kmeans | gmm (Gaussian mixture, seeded; "
        "labels = the most probable component; its BIC is recorded per k) | hdbscan (density "
        "clusters, no k: select_k is skipped, the posts HDBSCAN leaves as noise are reported as "
        "unassigned)")
    rule: Literal["prominence", "argmax", "bic"] = param(
        "prominence", "prominence (most prominent local maximum) | argmax | bic (lowest BIC; "
        "algorithm gmm only)")
    covariance_type: Literal["full", "diag", "tied", "spherical"] = param(
        "full", "gmm only: full | diag | tied | spherical; full and tied are refused on more than "
        "64 dimensions (raw embeddings: diag, or reduce.method umap | pca)")
    exact_max_n: int = param(10000, "exact silhouette up to this many posts, sampled above")
    sample_size: int = param(5000, "sampled mode: points per sample ...")
    n_repeats: int = param(5, "... and samples averaged (mean and std recorded)")
    n_init: int = param(4, "k-means (and gmm) restarts; random_state = base.seed")
    minibatch_above: int | None = param(
        50000, "algorithm kmeans on more posts than this runs MiniBatchKMeans (seeded; select_k, "
        "its stability fits and cluster); null: always exact KMeans")
    min_prominence: float = param(
        0.05, "a \"clear peak\" rises at least this much above its neighbours; smaller "
        "bumps are noise (raw 1280-d image features: 0.03); none -> the fallback + warning")
    fallback: Literal["stability", "argmax"] = param(
        "stability", "no clear silhouette peak: stability (the most prominent interior peak of "
        "the resampling-stability curve) | argmax (of the silhouette)")
    stability_pairs: int = param(10, "stability: subsample pairs per k (mean ARI of each pair's "
                                 "two clusterings on their shared posts)")
    stability_subsample: float = param(0.8, "stability: share of the posts in each subsample "
                                       "(at most sample_size posts)")
    min_cluster_size: int | float = param(
        0.02, "hdbscan: the smallest group of posts that counts as a style (sklearn.cluster."
        "HDBSCAN; deterministic, no seed): a share of the posts (a number in (0, 0.5], e.g. 0.02; "
        "at least 5 posts, sklearn's default) or a count (an integer >= 2)")
    min_samples: int | None = param(None, "hdbscan: neighbours a core post needs (larger: more "
                                    "posts unassigned); null: min_cluster_size")
    cluster_selection_method: Literal["eom", "leaf"] = param(
        "eom", "hdbscan: eom (excess of mass: fewer, larger clusters) | leaf (the finest clusters "
        "of the tree)")

    def __post_init__(self) -> None:
        check(self.k_min >= 2, "select_k", "k_min", self.k_min, "an integer >= 2")
        check(self.exact_max_n >= 2, "select_k", "exact_max_n", self.exact_max_n,
              "an integer >= 2")
        check(self.n_init >= 1, "select_k", "n_init", self.n_init, "an integer >= 1")
        check(self.minibatch_above is None or self.minibatch_above >= 2, "select_k",
              "minibatch_above", self.minibatch_above, "null or an integer >= 2")
        check(self.min_prominence >= 0, "select_k", "min_prominence", self.min_prominence,
              "a number >= 0")
        check(self.k_max > self.k_min, "select_k", "k_max", self.k_max,
              f"an integer > k_min ({self.k_min})")
        check(self.k_step >= 1, "select_k", "k_step", self.k_step, "an integer >= 1")
        check(self.sample_size >= 100, "select_k", "sample_size", self.sample_size,
              "an integer >= 100")
        check(self.n_repeats >= 1, "select_k", "n_repeats", self.n_repeats, "an integer >= 1")
        check(self.stability_pairs >= 2, "select_k", "stability_pairs", self.stability_pairs,
              "an integer >= 2")
        check(0.2 <= self.stability_subsample < 1.0, "select_k", "stability_subsample",
              self.stability_subsample, "a number in [0.2, 1) (two draws share about its square)")
        size = self.min_cluster_size
        check(not isinstance(size, bool) and (
            (isinstance(size, int) and size >= 2) or (isinstance(size, float) and 0 < size <= 0.5)),
            "select_k", "min_cluster_size", size,
            "a share of the posts in (0, 0.5] (e.g. 0.02) or a count, an integer >= 2")
        check(self.min_samples is None or self.min_samples >= 1, "select_k", "min_samples",
              self.min_samples, "null or an integer >= 1")
        check(self.rule != "bic" or self.algorithm == "gmm", "select_k", "rule", self.rule,
              f"prominence or argmax with select_k.algorithm {self.algorithm!r} (BIC needs a "
              "likelihood: set select_k.algorithm: gmm, or rule: prominence)")


@dataclass(frozen=True)
class ClusterParams:
    """The final clustering; `n_clusters` overrides the k chosen by select_k."""

    n_clusters: int | None = param(None, "null: the k chosen by select_k (must be null with "
                                   "select_k.algorithm: hdbscan, which finds its own)")
    n_representatives: int = param(10)
    min_month_posts: int = param(20, "months with fewer clustered posts are left out of the month "
                                 "balance metrics (a 2-post month is always 'dominated') and "
                                 "counted as n_months_ignored")

    def __post_init__(self) -> None:
        check(self.n_clusters is None or self.n_clusters >= 2, "cluster", "n_clusters",
              self.n_clusters, "null or an integer >= 2")
        check(self.min_month_posts >= 1, "cluster", "min_month_posts", self.min_month_posts,
              "an integer >= 1 (1 measures every month)")
        check(self.n_representatives >= 1, "cluster", "n_representatives",
              self.n_representatives, "an integer >= 1")


@dataclass(frozen=True)
class ReportParams:
    """What the trend report shows."""

    top_n: int = param(5, "clusters per month in the top-n table, bar panels and exemplar grids")
    exemplars_per_cluster: int = param(4, "masked images per cluster in a month's exemplar grid")
    texts_per_cluster: int = param(10, "representative captions per cluster (closest to its "
                                   "centre)")
    n_keywords: int = param(10, "c-TF-IDF hashtags and keywords (and most frequent RAKE "
                                        "keywords) per cluster")
    cluster_names: dict[int, str] = param(
        default_factory=dict, help="the analyst's names, e.g. {0: 羽绒服, 3: 通勤西装}; used in every "
        "figure, table and export; unnamed clusters get their top two hashtags (c-TF-IDF), "
        "else caption keywords")
    interactive: bool = param(False, "also write map.html: the 2-D map in plotly (offline, "
                              "plotly.js inlined), hover shows caption and thumbnail; "
                              "false: a placeholder page")

    def __post_init__(self) -> None:
        for key in ("top_n", "exemplars_per_cluster", "texts_per_cluster", "n_keywords"):
            check(getattr(self, key) >= 1, "report", key, getattr(self, key), "an integer >= 1")
        check(isinstance(self.cluster_names, Mapping) and all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0
            and isinstance(n, str) and n.strip() for c, n in self.cluster_names.items()),
            "report", "cluster_names", self.cluster_names,
            "a mapping of cluster ids (integers >= 0, cluster 0 = the largest) to non-empty names")


# In params.yaml's order. Every section is typed; `runtime` is the one no stage declares in dvc.yaml.
SECTIONS: dict[str, type] = {
    "base": BaseParams,
    "runtime": RuntimeParams,
    "paths": PathsParams,
    "validate": ValidateParams,
    "segment": SegmentParams,
    "preprocess": PreprocessParams,
    "embed": EmbedParams,
    "reduce": ReduceParams,
    "select_k": SelectKParams,
    "cluster": ClusterParams,
    "report": ReportParams,
}

UNTRACKED = ("runtime",)  # sections no stage may declare as a DVC param (speed, never results)

MOVED = {  # keys that left a section (issues 13, 15), named when an old params file still has them
    "segment": {key: f"segment.options.mediapipe.{key}" for key in (
        "person_threshold", "selfie_model", "face_model", "min_face_confidence", "pose_gate")},
    "base": {"progress": "runtime.progress"},
    "select_k": {"block_mb": "runtime.block_mb"},
    "embed": {"torch_threads": "runtime.torch_threads",
              "image_runtime": "embed.options.efficientnet-lite0.runtime",
              "imagebind_checkpoint": "embed.options.imagebind.checkpoint",
              "sentence_transformers_path": "embed.options.sentence-transformers.path",
              "chinese_clip_path": "embed.options.chinese-clip.path"},
}


def check_sections(params: Mapping[str, Any], where: str = DEFAULT_FILE) -> None:
    """Reject top-level sections that no stage reads (a misspelt `selct_k:` would be ignored).

    Raises:
        ConfigError: Naming each unknown section and the closest known name.
    """
    known = list(SECTIONS)
    unknown = [name for name in params if name not in known]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(f"{where} has unknown section(s) {', '.join(hints)}; known sections: "
                          f"{known}. Rename or remove them (a typo here would otherwise be "
                          "silently ignored).")


def load_section(params: Mapping[str, Any], section: str, where: str = DEFAULT_FILE) -> Any:
    """Return the typed params of `section` from the whole params file's mapping.

    Args:
        params: The params file's mapping.
        section: A name in `SECTIONS`.
        where: The file `params` was read from, named in error messages.

    Raises:
        ConfigError: If the section is unknown or any of its values is invalid.
    """
    if section not in SECTIONS:
        raise ConfigError(f"unknown params section {section!r}; known: {list(SECTIONS)}")
    return build(SECTIONS[section], section, params.get(section), where, MOVED.get(section))


def load_all(params: Mapping[str, Any], where: str = DEFAULT_FILE) -> dict[str, Any]:
    """Validate every section at once (used by tests and `stylecluster check-params`)."""
    check_sections(params, where)
    return {name: load_section(params, name, where) for name in SECTIONS}
