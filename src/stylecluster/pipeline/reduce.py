"""Pick the modality to cluster (image | text | concat) and reduce it (none | pca | umap).

`concat` puts each post's [text, image] side by side, each block L2-normalised and scaled by
`reduce.weights`, so neither modality wins by its dimension (1280-d image vs 384-d text); only posts
with both embeddings take part. Before that, `reduce.text_debias` may take caption length out of
the text block (`pipeline.text_debias`: top principal components and/or a fit on log length), so
text clusters are styles rather than length bands. Posts lacking a needed modality are excluded and returned in
`dropped` with a reason, never silently.

Reducers sit in a registry keyed by `reduce.method` (STYLE rule 6). Besides the clustering features
a 2-D UMAP map of the same input is computed for plotting; it is kept separate from the features.
The k-nearest-neighbour graph is computed once and shared by the feature and map UMAP runs (exact
below 4096 posts, as UMAP does it; pynndescent above). A seeded UMAP runs single-threaded.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster.config import ReduceParams
from stylecluster.errors import BackendError, ConfigError, DataError
from stylecluster.pipeline import fit_sample
from stylecluster.pipeline.text_debias import NEEDS_LENGTH, debias_text
from stylecluster.records import ReduceSummary

log = logging.getLogger(__name__)

MODALITIES = ("text", "image")  # concat order: [text, image]
UMAP_SMALL_N = 4096  # below this UMAP computes exact neighbours itself


@dataclass(frozen=True)
class ReduceResult:
    """Reduced features and the 2-D map, row-aligned with `ids`.

    Attributes:
        features: (n, n_components) float32 clustering features ((n, d) for method none).
        map2d: (n, 2) float32 UMAP map for plotting.
        ids: Table with one `post_id` per row.
        dropped: Posts excluded here: post_id, stage ("reduce"), reason.
        summary: Counts and settings for the stage's summary.json.
    """

    features: np.ndarray
    map2d: np.ndarray
    ids: pd.DataFrame
    dropped: pd.DataFrame
    summary: ReduceSummary


def _l2_normalise(block: np.ndarray, post_ids: np.ndarray, modality: str) -> np.ndarray:
    norms = np.linalg.norm(block, axis=1)
    zero = norms == 0
    if zero.any():
        raise DataError(
            f"reduce: {int(zero.sum())} {modality} embedding(s) are all zeros and cannot be "
            f"normalised, post_ids {post_ids[zero][:10].tolist()}; re-run the embed stage."
        )
    return block / norms[:, None]


def _check_finite(matrix: np.ndarray, ids: pd.DataFrame, modality: str) -> None:
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        names = ids["post_id"].to_numpy()[bad]
        raise DataError(
            f"reduce: {int(bad.sum())} {modality} embedding row(s) contain NaN or inf, post_ids "
            f"{names[:10].tolist()}{' ...' if len(names) > 10 else ''}; re-run the embed stage "
            "for those posts or remove them."
        )


@dataclass(frozen=True)
class ModalityInput:
    """The matrix to reduce and the posts left out.

    Attributes:
        X: (n, d) float64 input; for concat [text, image], each block L2-normalised and weighted.
        ids: Table with one `post_id` per row of X.
        dropped: Posts lacking a needed modality: post_id, stage ("reduce"), reason.
    """

    X: np.ndarray
    ids: pd.DataFrame
    dropped: pd.DataFrame


def _text_lengths(texts: pd.DataFrame | None, post_ids: list[str],
                  method: str) -> np.ndarray | None:
    """n_chars of each post in `post_ids` (None when `method` does not use lengths)."""
    if method not in NEEDS_LENGTH:
        return None
    if texts is None:
        raise DataError(f"reduce: reduce.text_debias = {method!r} needs the text lengths "
                        "(preprocess's texts.parquet, --texts) but none were given.")
    lengths = texts.set_index(texts["post_id"].astype(str))["n_chars"]
    missing = [pid for pid in post_ids if pid not in lengths.index]
    if missing:
        raise DataError(f"reduce: {len(missing)} text embedding(s) have no row in texts.parquet, "
                        f"post_ids {missing[:10]}; preprocess and embed come from different "
                        "runs (dvc repro).")
    return lengths.loc[post_ids].to_numpy(dtype=np.float64)


def _check_embeddings(embeddings: Mapping[str, tuple[np.ndarray, pd.DataFrame]],
                      needed: tuple[str, ...], modality: str) -> None:
    for name in needed:
        if name not in embeddings:
            raise DataError(f"reduce: reduce.modality = {modality!r} needs {name} "
                            "embeddings but none were given; run the embed stage.")
    for name, (matrix, ids) in embeddings.items():
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise DataError(f"reduce: {name} embeddings have shape {matrix.shape} but "
                            f"{len(ids)} post_ids; re-run the embed stage.")
        _check_finite(matrix, ids, name)


def select_modality(
    embeddings: Mapping[str, tuple[np.ndarray, pd.DataFrame]], params: ReduceParams,
    texts: pd.DataFrame | None = None,
) -> ModalityInput:
    """Build the input matrix of the chosen modality and list the posts that lack it.

    Args:
        embeddings: modality ("image", "text") -> ((n_m, d_m) float matrix, ids table with
            `post_id`), row-aligned. A modality may be absent when it is not needed.
        params: The reduce params (modality, weights, text_debias, text_top_pcs).
        texts: preprocess's texts table (post_id, n_chars); needed when reduce.text_debias is
            length or both.

    Returns:
        A ModalityInput. The row order follows the image ids (text ids for modality text).

    Raises:
        DataError: If a needed modality is missing, misaligned, has NaN/inf or all-zero rows, or
            text lengths are needed and missing.
    """
    needed = ("text", "image") if params.modality == "concat" else (params.modality,)
    _check_embeddings(embeddings, needed, params.modality)
    universe: list[str] = []
    seen: set[str] = set()
    for name in ("image", "text"):  # union of all posts, image order first
        if name in embeddings:
            for pid in embeddings[name][1]["post_id"].astype(str):
                if pid not in seen:
                    seen.add(pid)
                    universe.append(pid)
    have = {name: set(embeddings[name][1]["post_id"].astype(str)) for name in embeddings}
    keep = [pid for pid in universe if all(pid in have[name] for name in needed)]
    missing_reason = {}
    for pid in universe:
        lacks = [name for name in needed if pid not in have[name]]
        if lacks:
            missing_reason[pid] = (f"no {' and no '.join(lacks)} embedding "
                                   f"(reduce.modality = {params.modality})")
    dropped = pd.DataFrame({"post_id": list(missing_reason), "stage": "reduce",
                            "reason": list(missing_reason.values())},
                           columns=["post_id", "stage", "reason"]).astype(str)
    keep_ids = np.asarray(keep, dtype=object)
    blocks = []
    for name in needed:
        matrix, ids = embeddings[name]
        row = pd.Series(np.arange(len(ids)), index=ids["post_id"].astype(str))
        block = np.asarray(matrix, dtype=np.float64)[row.loc[keep].to_numpy()]
        if name == "text" and params.text_debias != "none":
            block = debias_text(block, _text_lengths(texts, keep, params.text_debias),
                                params.text_debias, params.text_top_pcs)
        if params.modality == "concat":
            block = _l2_normalise(block, keep_ids, name) * params.weights[name]
        blocks.append(block)
    X = np.hstack(blocks)  # (n, sum of the needed blocks' dims)
    return ModalityInput(X, pd.DataFrame({"post_id": keep_ids.astype(str)}), dropped)


# --- reducers: (X, n_components, params, random_state, knn) -> (n, n_components) ---------------

def _reduce_none(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
                 knn: Any = None) -> np.ndarray:
    return X


def _check_pca(X: np.ndarray, n_components: int) -> None:
    limit = min(X.shape)
    if n_components > limit:
        raise ConfigError(
            f"params.yaml [reduce.n_components] = {n_components} is more than PCA allows here: "
            f"min(n_posts={X.shape[0]}, dim={X.shape[1]}) = {limit}. Lower reduce.n_components."
        )


def _reduce_pca(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
                knn: Any = None) -> np.ndarray:
    from sklearn.decomposition import PCA

    _check_pca(X, n_components)
    return PCA(n_components=n_components, random_state=random_state).fit_transform(X)


def _fit_pca(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
             knn: Any = None) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """reduce.fit_sample: PCA fitted on the sample; its coordinates and its transform."""
    from sklearn.decomposition import PCA

    _check_pca(X, n_components)
    model = PCA(n_components=n_components, random_state=random_state)
    return model.fit_transform(X), model.transform


def _import_umap() -> Any:
    try:
        with warnings.catch_warnings():  # umap's optional ParametricUMAP wants tensorflow: unused
            warnings.filterwarnings("ignore", message="Tensorflow not installed")
            import umap
    except ImportError as exc:  # pragma: no cover - umap-learn is a core dependency
        raise BackendError("reduce.method = 'umap' (and the 2-D map) need umap-learn: "
                           "pip install umap-learn") from exc
    return umap


def _umap_model(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
                knn: Any = None) -> Any:
    umap = _import_umap()
    n = X.shape[0]
    if n_components >= n - 1:
        raise DataError(
            f"reduce: UMAP to {n_components} dimensions needs more than {n_components + 1} posts, "
            f"got {n}. Add posts or lower reduce.n_components."
        )
    # random_state makes UMAP reproducible and single-threaded (n_jobs=1 said explicitly).
    model = umap.UMAP(
        n_components=n_components,
        n_neighbors=min(params.n_neighbors, n - 1),
        min_dist=params.min_dist,
        metric=params.metric,
        random_state=random_state,
        n_jobs=1,
        precomputed_knn=knn if knn is not None else (None, None, None),
    )
    return model


def _reduce_umap(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
                 knn: Any = None) -> np.ndarray:
    model = _umap_model(X, n_components, params, random_state, knn)
    with warnings.catch_warnings():
        # an exact kNN graph has no NNDescent search index; only UMAP.transform would need one
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
        return model.fit_transform(X)


def _fit_umap(X: np.ndarray, n_components: int, params: ReduceParams, random_state: int,
              knn: Any = None) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """reduce.fit_sample: UMAP fitted on the sample, and its transform (which needs a search
    index: an exact shared graph, below UMAP_SMALL_N, has none, so UMAP then builds its own)."""
    model = _umap_model(X, n_components, params, random_state,
                        knn if knn is not None and knn[2] is not None else None)
    return model.fit_transform(X), model.transform


Reducer = Callable[..., np.ndarray]
REDUCERS: dict[str, Reducer] = {"none": _reduce_none, "pca": _reduce_pca, "umap": _reduce_umap}
FITTERS: dict[str, Callable[..., Any]] = {  # reduce.fit_sample: (coordinates, transform)
    "none": lambda X, *_: (X, lambda rows: rows), "pca": _fit_pca, "umap": _fit_umap}


def _shared_knn(X: np.ndarray, params: ReduceParams, random_state: int) -> Any:
    """One kNN graph for both UMAP runs, as UMAP itself would compute it.

    Below UMAP_SMALL_N posts UMAP takes exact neighbours from all pairwise distances; doing that
    here with numpy (same mergesort order) also skips compiling UMAP's parallel numba kNN kernel,
    about half of UMAP's first-call compile time. Above it, pynndescent's approximate graph. None
    (UMAP computes its own) for a metric sklearn's pairwise_distances does not know.
    """
    n = X.shape[0]
    k = min(params.n_neighbors, n - 1)
    if n < UMAP_SMALL_N:
        from sklearn.metrics import pairwise_distances

        try:
            dmat = pairwise_distances(X, metric=params.metric)  # (n, n)
        except ValueError:
            log.info("reduce: metric %r is UMAP-only; UMAP computes its own neighbours",
                     params.metric)
            return None
        indices = np.argsort(dmat, axis=1, kind="mergesort")[:, :k].astype(np.int32)  # (n, k)
        dists = np.take_along_axis(dmat, indices, axis=1)
        return (indices, dists, None)
    _import_umap()
    from umap.umap_ import nearest_neighbors

    indices, dists, index = nearest_neighbors(
        X, k, params.metric, {}, False, np.random.RandomState(random_state), n_jobs=1)
    return (indices, dists, index)


def reduce_embeddings(
    embeddings: Mapping[str, tuple[np.ndarray, pd.DataFrame]],
    params: ReduceParams,
    random_state: int,
    texts: pd.DataFrame | None = None,
) -> ReduceResult:
    """Select the modality, reduce it and compute the 2-D map.

    Long on purpose: align modalities, weight, reduce, map to 2-D and summarise, in order.

    Args:
        embeddings: modality -> ((n_m, d_m) matrix, ids table), as in `select_modality`.
        params: The reduce params.
        random_state: base.seed, passed to PCA and UMAP.
        texts: preprocess's texts table (post_id, n_chars), for reduce.text_debias length/both.

    Returns:
        A ReduceResult.

    Raises:
        ConfigError: If reduce.method or reduce.metric is unknown or n_components does not fit.
        DataError: On bad embeddings or too few posts.
    """
    if params.method not in REDUCERS:
        raise ConfigError(f"params.yaml [reduce.method] = {params.method!r} is not a known "
                          f"reducer; choose one of {sorted(REDUCERS)}.")
    chosen = select_modality(embeddings, params, texts)
    X, ids, dropped = chosen.X, chosen.ids, chosen.dropped
    n = X.shape[0]
    if n < 4:  # a 2-D UMAP map needs more than 3 points
        raise DataError(
            f"reduce: only {n} post(s) have the embeddings reduce.modality = {params.modality!r} "
            f"needs ({len(dropped)} excluded for a missing modality); at least 4 are needed."
        )
    if params.n_neighbors >= n:
        log.warning("reduce: reduce.n_neighbors = %d but only %d posts; using %d",
                    params.n_neighbors, n, n - 1)
        params = dataclasses.replace(params, n_neighbors=n - 1)
    _check_metric(params.metric)  # the 2-D map is a UMAP whatever the method
    log.info("reduce: %d posts, %s %d-d -> %s", n, params.modality, X.shape[1], params.method)
    sample = params.fit_sample is not None and params.fit_sample < n
    if sample:
        features, map2d, knn = _reduce_on_sample(X, params, random_state)
    else:
        knn = _shared_knn(X, params, random_state)
        features = REDUCERS[params.method](X, params.n_components, params, random_state, knn)
        if params.method == "umap" and params.n_components == 2:
            map2d = features
        else:
            map2d = _reduce_umap(X, 2, params, random_state, knn)
    features = np.asarray(features, dtype=np.float32)
    map2d = np.asarray(map2d, dtype=np.float32)
    if not np.isfinite(features).all() or not np.isfinite(map2d).all():
        raise DataError("reduce: the reducer produced NaN/inf values; check the embeddings "
                        "for duplicates or degenerate rows and the reduce params.")
    reasons = dropped["reason"].value_counts().to_dict()
    summary = ReduceSummary(
        modality=params.modality, method=params.method, n_input=n + len(dropped), n_used=n,
        n_dropped=len(dropped), dropped_by_reason={str(k): int(v) for k, v in reasons.items()},
        dim_in=int(X.shape[1]), dim_out=int(features.shape[1]),
        weights=dict(params.weights) if params.modality == "concat" else None,
        shared_knn=knn is not None,
        text_debias=params.text_debias if params.modality != "image" else None,
        fit_sample=params.fit_sample if sample else None)
    return ReduceResult(features, map2d, ids, dropped, summary)


def _reduce_on_sample(X: np.ndarray, params: ReduceParams,
                      random_state: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """reduce.fit_sample: the features and the 2-D map fitted on a seeded sample of the rows
    (random_state), every other row transformed (pipeline.fit_sample). Returns (features, map2d,
    the sample's shared kNN graph)."""
    rows = fit_sample.sample_rows(X.shape[0], params.fit_sample, random_state)
    sample_params = dataclasses.replace(params, n_neighbors=min(params.n_neighbors, len(rows) - 1))
    knn = _shared_knn(X[rows], sample_params, random_state)
    log.info("reduce: fitting %s on %d of %d posts, transforming the rest", params.method,
             len(rows), X.shape[0])

    def fitter(method: str, n_components: int) -> Callable[[np.ndarray], Any]:
        return lambda Xs: FITTERS[method](Xs, n_components, sample_params, random_state, knn)

    features = fit_sample.fit_then_transform(X, rows, fitter(params.method, params.n_components))
    if params.method == "umap" and params.n_components == 2:
        return features, features, knn
    map2d = fit_sample.fit_then_transform(X, rows, fitter("umap", 2))
    return features, map2d, knn


def _check_metric(metric: str) -> None:
    _import_umap()
    from umap.distances import named_distances

    if metric not in named_distances:
        raise ConfigError(
            f"params.yaml [reduce.metric] = {metric!r} is not a UMAP metric; use e.g. 'cosine' or "
            f"'euclidean' (all: {sorted(named_distances)})."
        )
