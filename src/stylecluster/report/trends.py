"""Report tables: monthly cluster shares, top clusters per month, cluster summaries, trend metrics
and each month's exemplar rows (the summary band's month-over-month tables are in `changes.py`). Pure pandas/numpy: no drawing, no IO.

Shares are always within a month: `share` of cluster c in month m = posts of c in m / clustered
posts in m, so each month's shares sum to 1. Keywords are c-TF-IDF (BERTopic's class-based TF-IDF)
over each cluster's jieba tokens: a word scores high when it is frequent in the cluster and rare in
the others, which keeps clusters' keyword lists distinct; the most frequent RAKE keywords are listed
beside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster import catalog
from stylecluster.config import ReportParams
from stylecluster.errors import DataError
from stylecluster.report.keywords import (MIN_TOKEN_CHARS, cluster_keywords, tag_keywords,
                                         token_list)
from stylecluster.schemas import UNASSIGNED, UNASSIGNED_NAME

MAX_EXAMPLE_CHARS = 160  # longer captions are cut (with an ellipsis) in clusters.json and the page

ImageLoader = Callable[[str], Any]  # post_id -> (H, W, 3) uint8 image, or None when it has none


def auto_name(cluster: int, words: Sequence[str], n_words: int = 2) -> str:
    """A cluster's name when the analyst gave none: its first `n_words` words (its top tags or
    keywords; filler and emoji words are kept out of them by preprocess), skipping a word that
    contains or is contained in one already taken (马面裙, not 马面裙 织金马面裙), or `c<id>`
    when it has none."""
    picked: list[str] = []
    for word in words:
        if len(picked) == n_words:
            break
        if not any(word in p or p in word for p in picked):
            picked.append(word)
    return " ".join(picked) or f"c{cluster}"


def name_cluster(cluster: int, analyst: str | None,
                 candidates: Sequence[tuple[str, Sequence[str]]]) -> tuple[str, str]:
    """(name, named_by) of a cluster: the analyst's name, else `auto_name` of the first candidate
    word list that has words (named_by: that list's source), else (`c<id>`, "id")."""
    if analyst:
        return analyst, "analyst"
    for source, words in candidates:
        if words:
            return auto_name(cluster, words), source
    return f"c{cluster}", "id"


def membership(labels: pd.DataFrame, posts: pd.DataFrame,
               clusters: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Which post is in which cluster, for posts_clusters.csv/.xlsx: post_id, posted_at (UTC,
    ISO 8601), month, cluster, cluster_name, distance, content, tags, image_path and every other
    column the posts carry (label, columns kept by `stylecluster import --keep`), largest cluster
    first, then by distance to its centre; posts a density clusterer left unassigned (cluster -1,
    cluster_name "unassigned", distance empty) come last."""
    names = {int(c["cluster"]): c["name"] for c in clusters}
    names[UNASSIGNED] = UNASSIGNED_NAME
    first = ["post_id", "posted_at", "month", "cluster", "cluster_name", "distance", "content",
             "tags", "image_path"]
    table = labels[["post_id", "cluster", "distance"]].merge(posts, on="post_id", how="left")
    table["cluster_name"] = table["cluster"].map(names)
    stamps = pd.to_datetime(table["posted_at"], utc=True)
    table["posted_at"] = stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(stamps.notna(), None)
    rest = [c for c in table.columns if c not in first]
    last = table["cluster"] == UNASSIGNED  # the unassigned posts after every style
    return table[first + rest].assign(_last=last).sort_values(
        ["_last", "cluster", "distance"], kind="stable", ignore_index=True).drop(columns="_last")


def join_posts(labels: pd.DataFrame, posts: pd.DataFrame, texts: pd.DataFrame) -> pd.DataFrame:
    """One row per clustered post: its cluster, distance, month, caption fields and text columns.

    Raises:
        DataError: If a clustered post is not in posts.parquet (the inputs are from different runs)
            or the labels are empty.
    """
    if labels.empty:
        raise DataError(f"report: {catalog.LABELS.label} has no rows; nothing to report. "
                        "Re-run the cluster stage (dvc repro cluster).")
    post_cols = [c for c in ("post_id", "content", "tags", "month", "label") if c in posts.columns]
    table = labels[["post_id", "cluster", "distance"]].merge(posts[post_cols], on="post_id",
                                                             how="left", indicator=True)
    unknown = table.loc[table["_merge"] == "left_only", "post_id"]
    if len(unknown):
        raise DataError(
            f"report: {len(unknown)} clustered post(s) are not in {catalog.POSTS.label}, e.g. "
            f"{unknown.iloc[:5].tolist()}; labels and posts come from different runs. "
            "Re-run the pipeline (dvc repro).")
    table = table.drop(columns="_merge")
    text_cols = [c for c in ("post_id", "text", "tokens", "keywords", "hashtags", "n_chars",
                             "has_text") if c in texts.columns]
    table = table.merge(texts[text_cols], on="post_id", how="left")
    table["cluster"] = table["cluster"].astype(np.int64)
    return table


def monthly_proportions(table: pd.DataFrame, n_clusters: int) -> pd.DataFrame:
    """Share of every cluster in every month that has clustered posts.

    Args:
        table: Rows with month and cluster (from `join_posts`).
        n_clusters: k; clusters 0..k-1 all get a row per month (0.0 where absent).

    Returns:
        month, cluster, share (float), sorted by month then cluster; shares sum to 1 per month.
        When some posts are unassigned (HDBSCAN noise, cluster -1) each month also has a
        cluster -1 row, their share: the styles' shares are of all the month's posts.
    """
    counts = pd.crosstab(table["month"], table["cluster"])
    noise = [UNASSIGNED] if (table["cluster"] == UNASSIGNED).any() else []
    counts = counts.reindex(columns=[*noise, *range(n_clusters)], fill_value=0).sort_index()
    shares = counts.div(counts.sum(axis=1), axis=0)
    long = shares.stack().rename("share").reset_index()
    long.columns = ["month", "cluster", "share"]
    long["month"] = long["month"].astype(str)
    long["cluster"] = long["cluster"].astype(np.int64)
    long["share"] = long["share"].astype(np.float64)
    return long.sort_values(["month", "cluster"], ignore_index=True)


def top_per_month(monthly: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The `top_n` largest clusters of each month (fewer when fewer clusters have posts there);
    unassigned posts (cluster -1) are never a style and never ranked.

    Returns:
        month, rank (1 = largest; ties broken by the lower cluster id), cluster, share.
    """
    present = monthly[(monthly["share"] > 0) & (monthly["cluster"] != UNASSIGNED)]  # styles only
    ordered = present.sort_values(["month", "share", "cluster"], ascending=[True, False, True])
    top = ordered.groupby("month", sort=True).head(top_n).copy()
    top["rank"] = top.groupby("month").cumcount() + 1
    return top[["month", "rank", "cluster", "share"]].reset_index(drop=True)


def month_range(months: Sequence[str]) -> list[str]:
    """Every month from the first to the last of `months`, gaps included ("YYYY-MM")."""
    periods = pd.PeriodIndex(sorted(set(months)), freq="M")
    return [str(p) for p in pd.period_range(periods.min(), periods.max(), freq="M")]


def _caption(row: Mapping[str, Any]) -> str:
    """What a reader sees of a post: its caption, else its tags, else the cleaned text."""
    for key in ("content", "tags", "text"):
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            if len(value) > MAX_EXAMPLE_CHARS:
                value = value[:MAX_EXAMPLE_CHARS - 1] + "…"
            return value
    return ""


def cluster_examples(table: pd.DataFrame, representatives: pd.DataFrame, cluster: int,
                     n: int) -> list[dict[str, Any]]:
    """Up to `n` captions of `cluster`: representatives first (closest to the centre), then the
    cluster's other posts by distance; posts with no caption, tags or text are skipped."""
    members = table[table["cluster"] == cluster].sort_values(["distance", "post_id"])
    reps = representatives[representatives["cluster"] == cluster].sort_values("rank")["post_id"]
    order = list(dict.fromkeys([*reps.tolist(), *members["post_id"].tolist()]))
    by_id = members.set_index("post_id")
    out = []
    for pid in order:
        if pid not in by_id.index:
            continue
        row = by_id.loc[pid]
        text = _caption(row)
        if text:
            out.append({"post_id": pid, "month": row["month"], "text": text,
                        "distance": round(float(row["distance"]), 4)})
        if len(out) >= n:
            break
    return out


def lifetime_months(shares: np.ndarray) -> int:
    """Months in which a cluster holds at least half of its peak share (0 if it never appears)."""
    peak = float(np.max(shares)) if len(shares) else 0.0
    return int((shares >= peak / 2).sum()) if peak > 0 else 0


def cluster_summaries(table: pd.DataFrame, monthly: pd.DataFrame,
                      representatives: pd.DataFrame, params: ReportParams,
                      n_posts: int | None = None) -> list[dict[str, Any]]:
    """The per-cluster entries of clusters.json.

    `table` holds the styles' posts (no unassigned ones); `n_posts` is the number of all
    clustered posts, unassigned included (default: len(table)), the denominator of `share`.

    Each: cluster, size, share (of all clustered posts), peak_month (highest within-month share;
    ties: the earliest), peak_share, lifetime_months (months at >= half the peak share),
    months_present, median_chars, name and named_by (see `name_cluster`: the analyst's, else
    from hashtags, keywords or rake_keywords), hashtags (hashtag c-TF-IDF), keywords (caption
    c-TF-IDF), rake_keywords (most frequent RAKE keywords of at least MIN_TOKEN_CHARS
    characters), examples (captions, see `cluster_examples`) and, when posts carry labels, majority_label, purity and n_labelled.
    """
    k = int(monthly["cluster"].max()) + 1
    keywords = cluster_keywords(table, k, params.n_keywords)
    tags = tag_keywords(table, k, params.n_keywords)
    wide = monthly.pivot(index="month", columns="cluster", values="share").sort_index()
    has_labels = "label" in table.columns and table["label"].notna().any()
    out = []
    for c in range(k):
        members = table[table["cluster"] == c]
        col = wide[c].to_numpy()
        peak_i = int(np.argmax(col))
        rake = Counter(w for kws in members.get("keywords", []) for w in token_list(kws)
                       if len(w) >= MIN_TOKEN_CHARS)
        n_chars = members["n_chars"].dropna() if "n_chars" in members else pd.Series([], float)
        rake_top = [w for w, _ in sorted(rake.items(), key=lambda kv: (-kv[1], kv[0]))
                    [:params.n_keywords]]
        name, named_by = name_cluster(c, params.cluster_names.get(c), [
            ("hashtags", tags[c]), ("keywords", keywords[c]), ("rake_keywords", rake_top)])
        entry: dict[str, Any] = {
            "cluster": c,
            "name": name,
            "named_by": named_by,
            "size": int(len(members)),
            "share": float(len(members) / (n_posts or len(table))),
            "peak_month": str(wide.index[peak_i]),
            "peak_share": float(col[peak_i]),
            "lifetime_months": lifetime_months(col),
            "months_present": int((col > 0).sum()),
            "median_chars": float(n_chars.median()) if len(n_chars) else None,
            "hashtags": tags[c],
            "keywords": keywords[c],
            "rake_keywords": rake_top,
            "examples": cluster_examples(table, representatives, c, params.texts_per_cluster),
        }
        if has_labels:
            known = members["label"].dropna().astype(str)
            if len(known):
                counts = known.value_counts()
                top = counts[counts == counts.max()].index.min()  # ties: alphabetical first
                entry.update(majority_label=str(top), purity=float(counts.max() / len(known)),
                             n_labelled=int(len(known)))
            else:
                entry.update(majority_label=None, purity=None, n_labelled=0)
        out.append(entry)
    return out


def trend_metrics(monthly: pd.DataFrame, top: pd.DataFrame, clusters: list[dict[str, Any]],
                  top_n: int) -> dict[str, Any]:
    """Flat trend metrics for DVC (trends.json).

    Returns:
        n_months; top_n; top_n_coverage_mean (share of a month's posts in its top-n clusters,
        averaged over months); top_n_turnover_mean (share of the top-n that changes from one
        month with posts to the next, averaged; None for a single month); lifetime_months_median;
        peak_share_median; n_clusters_in_every_month; label_purity (size-weighted mean purity,
        only with labels).
    """
    months = sorted(monthly["month"].unique())
    sets = {m: set(g["cluster"]) for m, g in top.groupby("month")}
    turnover = [1 - len(sets[a] & sets[b]) / max(len(sets[a]), len(sets[b]), 1)
                for a, b in zip(months, months[1:])]
    present = monthly[monthly["share"] > 0].groupby("cluster")["month"].nunique()
    out: dict[str, Any] = {
        "n_months": len(months),
        "top_n": top_n,
        "top_n_coverage_mean": float(top.groupby("month")["share"].sum().mean()),
        "top_n_turnover_mean": float(np.mean(turnover)) if turnover else None,
        "lifetime_months_median": float(np.median([c["lifetime_months"] for c in clusters])),
        "peak_share_median": float(np.median([c["peak_share"] for c in clusters])),
        "n_clusters_in_every_month": int((present == len(months)).sum()),
    }
    labelled = [c for c in clusters if c.get("purity") is not None]
    if labelled:
        weights = np.array([c["n_labelled"] for c in labelled], dtype=float)
        out["label_purity"] = float(np.average([c["purity"] for c in labelled], weights=weights))
    return out


@dataclass(frozen=True)
class ExemplarRow:
    """One row of a month's exemplar grid: a cluster, its share that month, keywords, images."""

    rank: int
    cluster: int
    share: float
    keywords: list[str]
    post_ids: list[str]
    images: list[Any]


def month_exemplars(table: pd.DataFrame, top: pd.DataFrame, month: str,
                    keywords: list[list[str]], n_images: int,
                    load_image: ImageLoader) -> list[ExemplarRow]:
    """For `month`, its top clusters and their posts closest to the centre that have an image."""
    rows = []
    in_month = table[table["month"] == month]
    for rec in top[top["month"] == month].itertuples(index=False):
        members = in_month[in_month["cluster"] == rec.cluster].sort_values(["distance", "post_id"])
        ids, images = [], []
        for pid in members["post_id"]:
            img = load_image(pid)
            if img is not None:
                ids.append(pid)
                images.append(img)
            if len(images) >= n_images:
                break
        rows.append(ExemplarRow(int(rec.rank), int(rec.cluster), float(rec.share),
                                keywords[int(rec.cluster)][:3], ids, images))
    return rows


# --- each cluster's trend and the rising / falling table -----------------------------------------
