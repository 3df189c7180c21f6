"""The verdict at the top of the report: is the clustering worth reading, in a few plain sentences.

Pure: reads metrics.json and select_k.json (as mappings), returns `Finding`s; no drawing, no IO.
The balance thresholds are the ones `stylecluster compare` judges experiments by (both read
`stylecluster.judging`), so the page and the comparison agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stylecluster.judging import MAX_LARGEST_SHARE, MAX_MONTH_SHARE
from stylecluster.judging import number as _num
from stylecluster.records import BIC_CHOICE

MAX_LENGTH_SKEW = 1.2  # the largest cluster's median caption length over the overall median
MAX_LENGTH_ETA = 0.5  # correlation ratio of log caption length on the clusters
HIGH_SILHOUETTE = 0.5  # a silhouette this high with ARI near 0: tidy clusters that miss the labels
NEAR_ZERO_ARI = 0.1


@dataclass(frozen=True)
class Finding:
    """One line of the verdict.

    Attributes:
        level: "ok" (reads well), "warn" (read with care) or "info" (a fact, no judgement).
        title: A few words, e.g. "Clear silhouette peak".
        text: One or two sentences with the numbers.
    """

    level: str
    title: str
    text: str



def peak_finding(metrics: Mapping[str, Any], selection: Mapping[str, Any]) -> Finding:
    """Whether select_k found a clear silhouette peak, and how k was chosen (chosen_by)."""
    k = selection.get("best_k", metrics.get("best_k"))
    prom = _num(selection, "prominence")
    prom = prom if prom is not None else _num(metrics, "prominence")
    has_peak = selection.get("has_peak", metrics.get("has_peak"))
    chosen_by = selection.get("chosen_by") or ("silhouette peak" if has_peak
                                               else "silhouette argmax")
    sil = _num(metrics, "silhouette")
    facts = [f"prominence {prom:.3f}" if prom is not None else "",
             f"silhouette {sil:.2f}" if sil is not None else ""]
    facts_text = ", ".join(f for f in facts if f)
    if has_peak:
        return Finding("ok", "Clear silhouette peak", f"k = {k}, chosen by the {chosen_by}"
                       + (f" ({facts_text})." if facts_text else "."))
    sil_text = f", silhouette {sil:.2f}" if sil is not None else ""
    how = "" if chosen_by == BIC_CHOICE else " (fallback)"  # rule bic: chosen, not a fallback
    return Finding("warn", "No clear silhouette peak",
                   f"k = {k} comes from the {chosen_by}{how}{sil_text}: other values of k "
                   "fit about as well, so treat the number of styles as a choice, not a finding.")


def balance_finding(metrics: Mapping[str, Any]) -> Finding | None:
    """Whether the clusters and months are balanced (largest cluster, worst month's top share)."""
    largest, month = _num(metrics, "largest_cluster_share"), _num(metrics, "worst_month_top_share")
    if largest is None and month is None:
        return None
    facts, balanced = [], True
    if largest is not None:
        over = largest > MAX_LARGEST_SHARE
        balanced &= not over
        facts.append(f"the largest cluster holds {largest:.0%} of the posts"
                     + (f" (over {MAX_LARGEST_SHARE:.0%})" if over else ""))
    if month is not None:
        over = month > MAX_MONTH_SHARE
        balanced &= not over
        facts.append(f"one cluster holds {month:.0%} of a month (over {MAX_MONTH_SHARE:.0%})"
                     if over else f"no cluster holds more than {month:.0%} of any month")
    ignored = metrics.get("n_months_ignored")
    note = f" ({ignored} small month(s) not counted)" if ignored else ""
    text = "; ".join(facts) + note + "."
    text = text[0].upper() + text[1:]
    if balanced:
        return Finding("ok", "Clusters balanced", text)
    return Finding("warn", "Clusters not balanced", text)


def length_finding(metrics: Mapping[str, Any]) -> Finding | None:
    """A warning when clusters follow caption length (length_skew or length_cluster_corr high)."""
    skew, eta = _num(metrics, "length_skew"), _num(metrics, "length_cluster_corr")
    high = []
    if skew is not None and skew > MAX_LENGTH_SKEW:
        high.append(f"length skew {skew:.2f} > {MAX_LENGTH_SKEW:g}")
    if eta is not None and eta > MAX_LENGTH_ETA:
        high.append(f"length correlation (eta) {eta:.2f} > {MAX_LENGTH_ETA:g}")
    if not high:
        return None
    return Finding("warn", "Clusters follow caption length",
                   "; ".join(high) + ": posts are grouped partly by how long their captions are, "
                   "not only by style (long chatty captions gather in one cluster). Image features "
                   "(reduce.modality) are less affected.")


def label_findings(metrics: Mapping[str, Any]) -> list[Finding]:
    """Agreement with known labels (NMI, ARI) and a warning when a high silhouette meets an ARI
    near 0 (the clusters are tidy but do not match the labels)."""
    ari, nmi = _num(metrics, "ari"), _num(metrics, "nmi")
    if ari is None and nmi is None:
        return []
    parts = [f"{name} {v:.2f}" for name, v in (("NMI", nmi), ("ARI", ari)) if v is not None]
    out = [Finding("info", "Agreement with the labels",
                   ", ".join(parts) + " (1 = the clusters are the labelled styles, 0 = chance).")]
    sil = _num(metrics, "silhouette")
    if sil is not None and ari is not None and sil >= HIGH_SILHOUETTE and ari < NEAR_ZERO_ARI:
        out.append(Finding("warn", "Tidy clusters, wrong grouping",
                           f"silhouette {sil:.2f} is high but ARI is {ari:.2f}: the clusters are "
                           "well separated yet do not follow the labelled styles; they may "
                           "follow something else (caption length, background, photo style)."))
    return out


def findings(metrics: Mapping[str, Any], selection: Mapping[str, Any]) -> list[Finding]:
    """The verdict, in reading order: peak and choice of k, balance, caption length, labels.

    Args:
        metrics: reports/metrics.json (flat keys; missing keys skip their finding).
        selection: select_k.json (best_k, has_peak, prominence, chosen_by).

    Returns:
        Findings; warnings sit where their topic is, not sorted first.
    """
    out = [peak_finding(metrics, selection)]
    used, best = metrics.get("n_clusters"), selection.get("best_k", metrics.get("best_k"))
    if used is not None and best is not None and used != best:
        out.append(Finding("info", "k set by hand",
                           f"the clustering uses k = {used} (cluster.n_clusters), not select_k's "
                           f"{best}."))
    out += [f for f in (balance_finding(metrics), length_finding(metrics)) if f is not None]
    return out + label_findings(metrics)
