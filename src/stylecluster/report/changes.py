"""The summary band's tables: posts per cluster per month, the change in percentage points between
the last two counted months, the rising / falling table and each cluster's trend (shares over the
counted months, peak, last month's change). Pure pandas/numpy: no drawing, no IO.

Months with fewer than `cluster.min_month_posts` posts are not counted: a month of 3 posts swings
by 33 points per post and would decide every "rising" verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def monthly_counts(table: pd.DataFrame, n_clusters: int) -> pd.DataFrame:
    """Posts of every cluster in every month with clustered posts (the counts behind the shares).

    Args:
        table: Rows with month and cluster (from `join_posts`); undated rows are left out.
        n_clusters: k; clusters 0..k-1 all get a row per month (0 posts where absent).

    Returns:
        month, cluster, n_posts, month_posts (the month's clustered posts), share (n_posts /
        month_posts, as in `monthly_proportions`), sorted by month then cluster.
    """
    counts = pd.crosstab(table["month"], table["cluster"]).sort_index()
    # the month's posts include unassigned ones (HDBSCAN's noise, cluster -1): shares then agree
    # with monthly_proportions, whose unassigned row is not a style and gets no row here
    month_posts = counts.sum(axis=1)
    counts = counts.reindex(columns=range(n_clusters), fill_value=0)
    long = counts.stack().rename("n_posts").reset_index()
    long.columns = ["month", "cluster", "n_posts"]
    long["month_posts"] = long["month"].map(month_posts).astype(np.int64)
    long["month"] = long["month"].astype(str)
    long["cluster"] = long["cluster"].astype(np.int64)
    long["n_posts"] = long["n_posts"].astype(np.int64)
    long["share"] = (long["n_posts"] / long["month_posts"]).astype(np.float64)
    return long.sort_values(["month", "cluster"], ignore_index=True)


def counted_months(counts: pd.DataFrame, min_month_posts: int) -> list[str]:
    """Months with at least `min_month_posts` clustered posts (cluster.min_month_posts), in order:
    the months whose shares the trend cards and the rising / falling table compare."""
    totals = counts.groupby("month")["month_posts"].first()
    return sorted(str(m) for m in totals[totals >= min_month_posts].index)


def pp_change(counts: pd.DataFrame, previous: str, last: str) -> pd.DataFrame:
    """Each cluster's share in `previous` and `last` and the change in percentage points.

    Returns:
        cluster, previous_share, last_share, previous_posts, last_posts, change_pp
        (100 * (last_share - previous_share)), one row per cluster, by cluster id.
    """
    wide = counts.pivot(index="cluster", columns="month", values="share")
    n = counts.pivot(index="cluster", columns="month", values="n_posts")
    out = pd.DataFrame({"cluster": wide.index.astype(np.int64),
                        "previous_share": wide[previous].to_numpy(dtype=float),
                        "last_share": wide[last].to_numpy(dtype=float),
                        "previous_posts": n[previous].to_numpy(dtype=np.int64),
                        "last_posts": n[last].to_numpy(dtype=np.int64)})
    out["change_pp"] = 100.0 * (out["last_share"] - out["previous_share"])
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Movers:
    """The rising / falling table: every cluster ranked by its change between the last two months
    with at least `min_month_posts` posts.

    Attributes:
        previous, last: The two months compared (None when fewer than two months count).
        table: `pp_change`'s columns, ranked by change_pp (largest rise first; ties: lower
            cluster id); empty when fewer than two months count.
        skipped: Months after `previous` that were left out for having too few posts.
        min_month_posts: The threshold used.
    """

    previous: str | None
    last: str | None
    table: pd.DataFrame
    skipped: list[str]
    min_month_posts: int


def movers(counts: pd.DataFrame, min_month_posts: int) -> Movers:
    """Rank the clusters by their share change (pp) between the last two counted months."""
    months = counted_months(counts, min_month_posts)
    if len(months) < 2:
        empty = pd.DataFrame(columns=["cluster", "previous_share", "last_share",
                                      "previous_posts", "last_posts", "change_pp"])
        return Movers(None, months[-1] if months else None, empty, [], min_month_posts)
    previous, last = months[-2], months[-1]
    table = pp_change(counts, previous, last).sort_values(
        ["change_pp", "cluster"], ascending=[False, True], kind="stable", ignore_index=True)
    skipped = sorted(m for m in counts["month"].unique() if m > previous and m not in months)
    return Movers(previous, last, table, skipped, min_month_posts)


def cluster_trends(counts: pd.DataFrame, min_month_posts: int) -> pd.DataFrame:
    """Per cluster its trend over the counted months (`counted_months`; all months with posts
    when none reaches `min_month_posts`, so a small data set still gets a trend).

    Returns:
        cluster, months (the months used, shared by every row), shares (its share in each of
        them), peak_month / peak_share (highest share; ties: the earliest; None / 0.0 when the
        cluster has no post in those months), last_share and change_pp (last month's share minus
        the previous month's, in percentage points; None with a single month).
    """
    months = counted_months(counts, min_month_posts) or sorted(counts["month"].unique())
    wide = counts.pivot(index="cluster", columns="month", values="share")
    wide = wide.reindex(columns=months).sort_index()
    rows = []
    for c, shares in zip(wide.index, wide.to_numpy(dtype=float)):  # shares: (n_months,)
        peak = int(np.argmax(shares)) if len(shares) else 0
        has_peak = len(shares) > 0 and shares[peak] > 0
        rows.append({"cluster": int(c), "months": list(months), "shares": shares.tolist(),
                     "peak_month": months[peak] if has_peak else None,
                     "peak_share": float(shares[peak]) if has_peak else 0.0,
                     "last_share": float(shares[-1]) if len(shares) else 0.0,
                     "change_pp": float(100 * (shares[-1] - shares[-2]))
                     if len(shares) >= 2 else None})
    return pd.DataFrame(rows)
