"""Choose the number of clusters: criteria over a k range and a peak-finding choice rule.

For every k in `range(k_min, k_max + 1, k_step)` the features are clustered with the registered
algorithm (cluster.CLUSTERERS) and scored by silhouette (primary; the fast engine in silhouette.py,
exact up to `exact_max_n` posts, sampled above), Davies-Bouldin and Calinski-Harabasz.

Choice rules:
- `prominence` (default): the most prominent interior local maximum of the silhouette curve
  (scipy.signal.find_peaks), ignoring bumps under `min_prominence`. On UMAP output the plain argmax
  tends to pick k=2, and on raw embeddings the curve only falls; the peak is what the research read.
- `argmax`: the k with the highest silhouette.
- `bic` (`select_k.algorithm: gmm` only): the k whose Gaussian mixture has the lowest Bayesian
  information criterion. With gmm every k's BIC is written beside the silhouette in
  silhouette.csv (a `bic` column, absent for the other algorithms); the rule then chooses from it
  (`chosen_by: bic minimum`), with no fallback, and has_peak still says whether the silhouette
  curve has a clear peak.

A curve with no interior peak (the research's "silhouette abnormal" case, the common one on real
data) is reported, not hidden: `has_peak` is false and a warning is logged. The fallback
(`select_k.fallback`) is then `stability` (default): the most prominent interior peak of the
resampling-stability curve (pipeline/stability.py; Ben-Hur et al. 2002, Lange et al. 2004), or the
silhouette argmax when that curve has no interior peak either; `argmax` takes the silhouette argmax
directly (on UMAP output usually k=2). The stability curve is computed only when it decides (no
silhouette peak, fallback stability: its fits would otherwise be most of select_k's time) and is
then written beside the silhouette in silhouette.csv; `chosen_by` in select_k.json says which rule
chose k.

`select_k.algorithm: hdbscan` chooses no k: nothing is scored, silhouette.csv has no rows and
select_k.json says `chosen_by: hdbscan` (`skipped`); the cluster stage runs HDBSCAN.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stylecluster.pipeline import cluster
from stylecluster.pipeline.stability import stability_curve, stability_peak
from stylecluster.config import SelectKParams
from stylecluster.errors import DataError
from stylecluster.records import BIC_CHOICE, SelectKRecord
from stylecluster.pipeline.silhouette import DEFAULT_BLOCK_MB, silhouette_scores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KChoice:
    """The outcome of a choice rule on one silhouette curve.

    Attributes:
        best_k: The chosen k.
        prominence: The chosen peak's prominence (0.0 when the chosen k is not an interior peak).
        has_peak: Whether the curve has an interior local maximum at least `min_prominence` high.
        fallback: None, or the rule actually used when the requested one could not apply.
    """

    best_k: int
    prominence: float
    has_peak: bool
    fallback: str | None


def choose_k(ks: np.ndarray, silhouette: np.ndarray, rule: str,
             min_prominence: float = 0.0, reduction: str | None = None,
             bic: np.ndarray | None = None) -> KChoice:
    """Apply a choice rule to a silhouette curve (rule "bic": to the BIC curve).

    Args:
        ks: (m,) increasing k values.
        silhouette: (m,) silhouette per k; NaN entries are skipped.
        rule: "prominence", "argmax" or "bic".
        min_prominence: Peaks less prominent than this are treated as noise.
        reduction: reduce.method of the features (from reduce/summary.json), so the no-peak
            advice suggests only what is not already set; None when unknown.
        bic: (m,) BIC per k, needed by rule "bic" (the lowest wins; NaN entries are skipped).

    Returns:
        A KChoice (has_peak and prominence describe the silhouette curve, whatever the rule).
        Ties go to the smaller k.

    Raises:
        DataError: If every silhouette value (rule "bic": every BIC value) is NaN.
    """
    from scipy.signal import find_peaks

    ks = np.asarray(ks)
    bic_k = _lowest_bic(ks, bic) if rule == "bic" else None
    silhouette = np.asarray(silhouette, dtype=np.float64)
    ok = np.isfinite(silhouette)
    if not ok.any():
        raise DataError(f"select_k: the silhouette is undefined at every k in {ks.tolist()}; "
                        "check the k range against the number of posts.")
    ks, silhouette = ks[ok], silhouette[ok]
    peaks, props = find_peaks(silhouette, prominence=(min_prominence, None))
    prominences = props["prominences"]
    argmax = int(np.argmax(silhouette))  # first maximum: the smaller k on ties
    if rule in ("argmax", "bic"):
        k = int(ks[argmax]) if bic_k is None else bic_k
        hit = np.flatnonzero(ks[peaks] == k)  # the chosen k's silhouette peak, if it is one
        prom = float(prominences[hit[0]]) if len(hit) else 0.0
        return KChoice(k, prom, bool(len(peaks)), None)
    if rule != "prominence":
        raise ValueError(f"unknown rule {rule!r}")
    if not len(peaks):
        log.warning(
            "select_k: the silhouette curve over k=%d..%d has no interior peak with prominence >= "
            "%g (the 'silhouette abnormal' case: it only falls or only rises); falling back to the "
            "argmax k=%d. Consider %s.", ks[0], ks[-1], min_prominence, ks[argmax],
            _no_peak_advice(reduction))
        return KChoice(int(ks[argmax]), 0.0, False, "argmax")
    best = int(np.argmax(prominences))  # first of equal prominences: the smaller k
    return KChoice(int(ks[peaks[best]]), float(prominences[best]), True, None)


def _lowest_bic(ks: np.ndarray, bic: np.ndarray | None) -> int:
    """The k of the lowest finite BIC (the smaller k on ties)."""
    if bic is None:
        raise ValueError("rule 'bic' needs the BIC curve (select_k.algorithm: gmm)")
    bic = np.asarray(bic, dtype=np.float64)
    ok = np.isfinite(bic)
    if not ok.any():
        raise DataError(f"select_k: the BIC is undefined at every k in {ks.tolist()}; check the "
                        "features (NaN or constant columns) and select_k.covariance_type.")
    return int(ks[ok][np.argmin(bic[ok])])


def _fallback(X: np.ndarray, ks: list[int], params: SelectKParams, random_state: int,
              choice: KChoice, curve: pd.DataFrame, warnings: list[str]) -> tuple[KChoice, str, Any]:
    """Apply `select_k.fallback` when the silhouette has no clear peak; add the stability curve to
    `curve` (in place) when the fallback is stability. Returns (choice, chosen_by, stability).
    Rule bic has no fallback: the BIC always has a minimum."""
    if params.rule == "bic":
        if choice.best_k in (ks[0], ks[-1]):
            warnings.append(f"the BIC is lowest at the edge of the k range (k={choice.best_k}); "
                            "widen select_k.k_min..k_max")
        return choice, BIC_CHOICE, None
    if choice.has_peak:
        return choice, "silhouette peak", None
    if params.rule == "argmax":
        return choice, "silhouette argmax", None
    stab = None
    if params.fallback == "stability":
        # Only when it decides: 2 x stability_pairs fits per k would be most of select_k's time.
        # One k-means start per fit (Lange et al.): restarts would hide the instability of a k
        # that cuts a continuum.
        stab = stability_curve(X, ks, params.algorithm, n_init=1, random_state=random_state,
                               options=cluster.clusterer_options(params.algorithm, params),
                               n_pairs=params.stability_pairs,
                               subsample=params.stability_subsample, max_n=params.sample_size)
        curve["stability"] = stab.means
        curve["stability_std"] = stab.stds
    peak = stability_peak(stab) if stab is not None else None
    if peak is None:
        warnings.append("silhouette curve has no interior peak; best_k is the silhouette argmax"
                        + (" (the stability curve has no interior peak either)" if stab else ""))
        return choice, "silhouette argmax", stab
    k, prominence = peak
    warnings.append(f"silhouette curve has no interior peak; best_k={k} is the most prominent "
                    f"peak of the resampling stability (prominence {prominence:.3f}; the "
                    f"silhouette argmax was k={choice.best_k})")
    return KChoice(k, 0.0, False, "stability"), "stability peak", stab


def _no_peak_advice(reduction: str | None) -> str:
    if reduction == "umap":  # already reduced the way the research found peaks
        return ("other UMAP settings (reduce.n_neighbors, reduce.n_components), widening the k "
                "range, or fixing k (cluster.n_clusters)")
    return "reducing the features (reduce.method: umap) or widening the k range"


def k_range(params: SelectKParams, n_points: int, n_distinct: int | None = None) -> list[int]:
    """The ks to try, with k_max clipped (and a warning) where the data cannot support it.

    Args:
        params: The select_k params.
        n_points: Number of posts.
        n_distinct: Number of distinct feature rows (defaults to n_points).

    Returns:
        The list of ks.

    Raises:
        DataError: If there are fewer than k_min + 1 posts (or distinct feature rows).
    """
    n_distinct = n_points if n_distinct is None else n_distinct
    limit = min(n_points, n_distinct)
    if limit < params.k_min + 1:
        what = "posts" if n_distinct >= n_points else "distinct feature rows"
        raise DataError(
            f"select_k: {limit} {what} but k_min = {params.k_min} needs at least "
            f"{params.k_min + 1}; add posts or lower select_k.k_min."
        )
    k_max = params.k_max
    if k_max >= limit:
        log.warning("select_k: k_max = %d but there are only %d %s; clipping k_max to %d",
                    k_max, limit, "posts" if n_distinct >= n_points else "distinct feature rows",
                    limit - 1)
        k_max = limit - 1
    return list(range(params.k_min, k_max + 1, params.k_step))


@dataclass(frozen=True)
class SelectKResult:
    """The criteria curve and the chosen k.

    Attributes:
        curve: One row per k: k, silhouette, davies_bouldin, calinski_harabasz, silhouette_std
            when the silhouette was sampled, bic with algorithm gmm, stability when it decided.
        summary: What select_k.json holds: best_k, prominence, has_peak, rule, fallback, exact, n,
            the settings the cluster stage must reuse (algorithm, n_init, random_state, exact_max_n,
            sample_size, n_repeats) and any warnings.
        labelings: (len(ks), n) labels per k, row-aligned with the curve.
    """

    curve: pd.DataFrame
    summary: dict[str, Any]
    labelings: np.ndarray = field(repr=False)


CURVE_COLUMNS = {"k": np.int64, "silhouette": np.float64, "davies_bouldin": np.float64,
                 "calinski_harabasz": np.float64}


def skipped(n: int, params: SelectKParams, random_state: int) -> SelectKResult:
    """The record of a density clusterer (select_k.algorithm: hdbscan), which chooses no k.

    Nothing is fitted: the curve has no rows, and select_k.json says `chosen_by: hdbscan` with
    best_k, prominence, has_peak, rule, silhouette and the k range null, plus the HDBSCAN settings
    the cluster stage runs with (min_cluster_size as a count of posts: a share is resolved here).

    Args:
        n: Number of posts.
        params: The select_k params.
        random_state: base.seed (recorded; HDBSCAN itself is deterministic).
    """
    log.info("select_k: select_k.algorithm = %s chooses its own number of clusters; k-selection "
             "is skipped (the cluster stage runs it)", params.algorithm)
    curve = pd.DataFrame({c: pd.Series([], dtype=t) for c, t in CURVE_COLUMNS.items()})
    summary = SelectKRecord(
        best_k=None, prominence=None, has_peak=None, rule=None, fallback=None,
        exact=n <= params.exact_max_n, n=n, n_scored=0, silhouette=None,
        k_min=None, k_max=None, k_step=None, algorithm=params.algorithm, n_init=params.n_init,
        random_state=random_state, exact_max_n=params.exact_max_n,
        sample_size=params.sample_size, n_repeats=params.n_repeats,
        warnings=[f"k-selection skipped: {params.algorithm} finds its own number of clusters"],
        chosen_by=params.algorithm, stability_pairs=None, stability_n=None,
        min_cluster_size=cluster.resolve_min_cluster_size(params.min_cluster_size, n),
        min_samples=params.min_samples,
        cluster_selection_method=params.cluster_selection_method,
        **cluster.clusterer_options(params.algorithm, params),
    ).to_json()
    return SelectKResult(curve, summary, np.zeros((0, n), dtype=np.int64))


def select_k(features: np.ndarray, ids: pd.DataFrame, params: SelectKParams,
             random_state: int, block_mb: float = DEFAULT_BLOCK_MB,
             reduction: str | None = None, fit_sample: int | None = None) -> SelectKResult:
    """Score every k in the range and choose one.

    Long on purpose: score every k, then build the curve, warnings and record from the same arrays.

    Args:
        features: (n, d) reduced features, row-aligned with `ids`.
        ids: Table with a `post_id` column.
        params: The select_k params.
        random_state: base.seed; seeds the clusterer and the silhouette samples.
        block_mb: runtime.block_mb, the memory bound of one silhouette distance block (MB); it
            changes speed, never the scores.
        reduction: reduce.method of the features, for the no-peak advice (see `choose_k`).
        fit_sample: reduce.fit_sample of the features (recorded: the reducer saw a sample).

    Returns:
        A SelectKResult; with a density algorithm (hdbscan) the `skipped` one.

    Raises:
        DataError: On NaN/inf rows (naming their post_ids), identical rows or too few posts.
    """
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    n_distinct = cluster.check_features(features, ids, "select_k")
    n = features.shape[0]
    if params.algorithm in cluster.DENSITY_ALGORITHMS:
        return skipped(n, params, random_state)
    ks = k_range(params, n, n_distinct)
    X = features.astype(np.float64, copy=False)
    asked = params.algorithm
    params = dataclasses.replace(  # the clusterer that runs, here, in stability and in cluster
        params, algorithm=cluster.algorithm_for(asked, n, params.minibatch_above))
    log.info("select_k: clustering %d posts (%d-d) with %s at %d values of k (%d..%d)", n,
             X.shape[1], params.algorithm, len(ks), ks[0], ks[-1])
    options = cluster.clusterer_options(params.algorithm, params)
    bic = None
    if params.algorithm == "gmm":  # the same fits give the labels and the BIC
        fits = cluster.gmm_fits(X, ks, n_init=params.n_init, random_state=random_state, **options)
        labels, bic = fits.labels, fits.bic
    else:
        labels = cluster.labelings(X, ks, params.algorithm, n_init=params.n_init,
                                   random_state=random_state, options=options)
    sil = silhouette_scores(X, labels, exact_max_n=params.exact_max_n,
                            sample_size=params.sample_size, n_repeats=params.n_repeats,
                            random_state=random_state, block_mb=block_mb)
    n_found = np.array([len(np.unique(row)) for row in labels])
    short = [(k, int(m)) for k, m in zip(ks, n_found) if m != k]
    warnings = []
    if ks[-1] < params.k_max - params.k_step + 1:
        warnings.append(f"k_max clipped from {params.k_max} to {ks[-1]}: only {n} posts "
                        f"({n_distinct} distinct feature rows)")
    if short:
        warnings.append(f"{len(short)} k value(s) gave fewer clusters than asked "
                        f"(k, found): {short[:5]}")
    curve = pd.DataFrame({
        "k": np.asarray(ks, dtype=np.int64),
        "silhouette": sil.scores.astype(np.float64),
        "davies_bouldin": [davies_bouldin_score(X, row) if m >= 2 else np.nan
                           for row, m in zip(labels, n_found)],
        "calinski_harabasz": [calinski_harabasz_score(X, row) if m >= 2 else np.nan
                              for row, m in zip(labels, n_found)],
    })
    if not sil.exact:
        curve["silhouette_std"] = sil.stds.astype(np.float64)
    if bic is not None:
        curve["bic"] = bic
    choice = choose_k(curve["k"].to_numpy(), curve["silhouette"].to_numpy(), params.rule,
                      params.min_prominence, reduction, bic)
    choice, chosen_by, stab = _fallback(X, ks, params, random_state, choice, curve, warnings)
    if not sil.exact:
        at = curve.index[curve["k"] == choice.best_k][0]
        if choice.has_peak and choice.prominence < 2 * curve.at[at, "silhouette_std"]:
            warnings.append(f"peak prominence {choice.prominence:.4f} is under twice the sampling "
                            f"std {curve.at[at, 'silhouette_std']:.4f}; raise select_k.sample_size "
                            "or n_repeats")
    for text in warnings:
        log.warning("select_k: %s", text)
    row = curve.loc[curve["k"] == choice.best_k].iloc[0]
    summary = SelectKRecord(
        best_k=choice.best_k,
        prominence=choice.prominence,
        has_peak=choice.has_peak,
        rule=params.rule,
        fallback=choice.fallback,
        exact=sil.exact,
        n=n,
        n_scored=sil.n,
        silhouette=float(row["silhouette"]),
        k_min=ks[0],
        k_max=ks[-1],
        k_step=params.k_step,
        algorithm=params.algorithm,
        n_init=params.n_init,
        random_state=random_state,
        exact_max_n=params.exact_max_n,
        sample_size=params.sample_size,
        n_repeats=params.n_repeats,
        warnings=warnings,
        chosen_by=chosen_by,
        stability_pairs=stab.n_pairs if stab else None,
        stability_n=stab.n_sub if stab else None,
        algorithm_asked=asked if asked != params.algorithm else None,
        minibatch_above=params.minibatch_above if asked != params.algorithm else None,
        fit_sample=fit_sample,
        **options,
    ).to_json()
    return SelectKResult(curve, summary, labels)
