"""The report's trend figures: monthly proportions, top clusters per month, cluster timelines (heatmap
and small multiples of share and count), each month's exemplar grid, and the cards' thumbnails. Same conventions as `figures` (drawn Figures, CJK font, no pyplot)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from stylecluster.report import trends
from stylecluster.report.figures import (UNCLUSTERED, cjk_figure, cluster_colors, cluster_name,
                                         new_figure, text_color)
from stylecluster.schemas import UNASSIGNED, UNASSIGNED_NAME

MIN_SEGMENT_LABEL = 0.06  # stacked-bar segments at least this tall carry their cluster id
THUMB_PX = 360  # exemplar images are shrunk to fit this box before drawing (2x DPI figures)
MAX_PANELS = 24  # small multiples: the largest clusters get a panel (cluster 0 = the largest)
CARD_THUMB_PX = 240  # the cluster cards' thumbnails: shown at 120 CSS px, sharp on 2x screens


def _month_ticks(ax: Any, months: Sequence[str]) -> None:
    ax.set_xticks(np.arange(len(months)), months, rotation=45 if len(months) > 8 else 0,
                  ha="right" if len(months) > 8 else "center", fontsize=8)


@cjk_figure
def plot_monthly(monthly: pd.DataFrame, keywords: Sequence[Sequence[str]]) -> Figure:
    """Stacked bars: for each month, the share of every cluster (each bar sums to 1).

    Args:
        monthly: month, cluster, share (the monthly_proportions table); a cluster -1 row
            (unassigned posts) is drawn grey, on top, and named "unassigned".
        keywords: Per cluster its keywords (legend names).
    """
    wide = monthly.pivot(index="month", columns="cluster", values="share").sort_index()
    months = list(wide.index)
    styles = [c for c in wide.columns if c != UNASSIGNED]
    k = len(styles)
    colors = cluster_colors(max(k, 1))
    fig = new_figure(max(7.0, min(0.6 * len(months) + 4.5, 20)), 5.5)
    ax = fig.add_subplot()
    x = np.arange(len(months))
    bottom = np.zeros(len(months))
    # the styles from the bottom, then the unassigned posts (grey, on top)
    for c in [*styles, *([UNASSIGNED] if UNASSIGNED in wide.columns else [])]:
        share = wide[c].to_numpy(dtype=float)
        color = UNCLUSTERED if c == UNASSIGNED else colors[c]
        tag = UNASSIGNED_NAME if c == UNASSIGNED else f"c{c}"
        ax.bar(x, share, bottom=bottom, color=color, width=0.8, edgecolor="white",
               linewidth=0.3,
               label=UNASSIGNED_NAME if c == UNASSIGNED else cluster_name(int(c), keywords, 2))
        for i in np.flatnonzero(share >= MIN_SEGMENT_LABEL):
            ax.text(x[i], bottom[i] + share[i] / 2, tag, ha="center", va="center",
                    fontsize=7, color=text_color(color))
        bottom += share
    _month_ticks(ax, months)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the month's clustered posts")
    ax.set_title(f"Monthly cluster proportions ({k} clusters, {len(months)} months)")
    if k <= 20:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title="cluster",
                  title_fontsize=8)
    else:
        ax.text(1.01, 1, f"{k} clusters: colours cycle every 20;\nsegments of at least "
                f"{MIN_SEGMENT_LABEL:.0%}\ncarry their cluster id", transform=ax.transAxes,
                va="top", fontsize=8)
    return fig


@cjk_figure
def plot_top_per_month(top: pd.DataFrame, keywords: Sequence[Sequence[str]]) -> Figure:
    """One small bar panel per month: its top clusters, largest on top, with their shares.

    Args:
        top: month, rank, cluster, share (the top-n table).
        keywords: Per cluster its keywords (bar names).
    """
    months = sorted(top["month"].unique())
    top_n = int(top["rank"].max()) if len(top) else 1
    k = max(int(top["cluster"].max()) + 1 if len(top) else 1, len(keywords))
    colors = cluster_colors(k)
    ncols = min(4, max(len(months), 1))
    nrows = max(math.ceil(len(months) / ncols), 1)
    fig = new_figure(3.6 * ncols + 0.4, (0.36 * top_n + 1.0) * nrows + 0.6)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    xmax = float(top["share"].max()) * 1.3 if len(top) else 1.0
    for ax, month in zip(axes, months):
        rows = top[top["month"] == month].sort_values("rank")
        y = np.arange(len(rows))[::-1]
        ax.barh(y, rows["share"], color=[colors[c] for c in rows["cluster"]], height=0.7)
        ax.set_yticks(y, [cluster_name(int(c), keywords, 2) for c in rows["cluster"]],
                      fontsize=8)
        for yi, share in zip(y, rows["share"]):
            ax.text(share, yi, f" {share:.0%}", va="center", fontsize=8)
        ax.set_xlim(0, xmax)
        ax.set_ylim(-0.6, top_n - 0.4)
        ax.set_title(month, fontsize=10)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    for ax in axes[len(months):]:
        ax.set_axis_off()
    fig.suptitle(f"Top {top_n} clusters per month (share of the month's posts)")
    return fig


@cjk_figure
def plot_timeline(monthly: pd.DataFrame, all_months: Sequence[str],
                  keywords: Sequence[Sequence[str]]) -> Figure:
    """Heatmap clusters x months: each cluster's share relative to its own peak, sorted by peak
    month, so a style's rise, lifetime and fall read along its row. Months without posts are grey.

    Args:
        monthly: month, cluster, share.
        all_months: Every month of the covered range (gaps included), in order.
        keywords: Per cluster its keywords (row names).
    """
    wide = monthly.pivot(index="cluster", columns="month", values="share")
    wide = wide.reindex(columns=list(all_months))  # NaN: a month without posts
    share = wide.to_numpy(dtype=float)  # (k, n_months)
    peak = np.nanmax(share, axis=1)
    peak_at = np.nanargmax(np.nan_to_num(share, nan=-1.0), axis=1)
    order = np.lexsort((wide.index.to_numpy(), -peak, peak_at))  # by peak month, then peak share
    rel = np.divide(share, peak[:, None], out=np.zeros_like(share), where=peak[:, None] > 0)
    rel[np.isnan(share)] = np.nan
    k, n_months = share.shape
    fig = new_figure(max(7.0, min(0.55 * n_months + 4.5, 22)), min(0.3 * k + 2.0, 40))
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["YlGnBu"].with_extremes(bad="0.85")
    img = ax.imshow(np.ma.masked_invalid(rel[order]), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                    interpolation="nearest")
    from matplotlib.patches import Rectangle

    for r, c in enumerate(order):  # a red box around each cluster's peak month
        ax.add_patch(Rectangle((peak_at[c] - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="tab:red",
                               linewidth=1.5))
    if k * n_months <= 400:
        for r, c in enumerate(order):
            for j in range(n_months):
                if share[c, j] >= 0.005:
                    ax.text(j, r, f"{share[c, j]:.0%}", ha="center", va="center", fontsize=7,
                            color="white" if rel[c, j] > 0.6 else "black")
    names = [f"{cluster_name(int(wide.index[c]), keywords, 2)}" for c in order]
    step = max(1, math.ceil(k / 80))
    ax.set_yticks(np.arange(0, k, step), names[::step], fontsize=7 if k > 30 else 8)
    _month_ticks(ax, all_months)
    fig.colorbar(img, ax=ax, label="share / the cluster's peak share", shrink=0.8)
    ax.set_title("Cluster timelines, sorted by peak month\ncolour: share relative to the "
                 "cluster's own peak · text: share of the month · red box: peak month"
                 + (" · grey: no posts" if np.isnan(share).any() else ""), fontsize=10)
    return fig


def thumbnail(image: Any, max_side: int = THUMB_PX) -> np.ndarray:
    """An image shrunk (never enlarged) to fit max_side x max_side.

    Args:
        image: A PIL image or an (H, W, 3) uint8 array (a masked image from segment).
        max_side: The box, in pixels.

    Returns:
        (h, w, 3) uint8 RGB array.
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side))
    return np.asarray(img)


@cjk_figure
def plot_small_multiples(counts: pd.DataFrame, all_months: Sequence[str],
                         keywords: Sequence[Sequence[str]], min_month_posts: int = 1,
                         ncols: int = 4) -> Figure:
    """One small panel per cluster (the MAX_PANELS largest): its share of each month (line, left axis, shared by all
    panels) over its posts per month (grey bars, right axis, the panel's own scale).

    Args:
        counts: month, cluster, n_posts, month_posts, share (`changes.monthly_counts`).
        all_months: Every month of the covered range (gaps: no line point, no bar), in order.
        keywords: Per cluster its keywords (panel titles).
        min_month_posts: Months with fewer posts get a hollow point: too small to compare.
        ncols: Panels per row.
    """
    share = counts.pivot(index="cluster", columns="month", values="share").reindex(
        columns=list(all_months))  # (k, n_months), NaN where a month has no posts
    posts = counts.pivot(index="cluster", columns="month", values="n_posts").reindex(
        columns=list(all_months)).fillna(0)
    totals = posts.sum(axis=0).to_numpy(dtype=float)  # (n_months,) posts per month
    n_all = len(share)
    share, posts = share.iloc[:MAX_PANELS], posts.iloc[:MAX_PANELS]
    k, n_months = share.shape
    ncols = max(1, min(ncols, k))
    nrows = max(math.ceil(k / ncols), 1)
    colors = cluster_colors(max(n_all, 1))
    fig = new_figure(3.2 * ncols + 0.4, 2.1 * nrows + 0.7)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
                         .ravel())
    x = np.arange(n_months)
    small = (totals > 0) & (totals < min_month_posts)  # gaps (no posts) stay gaps
    top = float(np.nanmax(share.to_numpy(dtype=float))) if k and n_months else 1.0
    for ax, c in zip(axes, share.index):
        bars = ax.twinx()
        bars.bar(x, posts.loc[c].to_numpy(dtype=float), color="0.85", width=0.8)
        bars.tick_params(axis="y", labelsize=6, colors="0.45")
        bars.set_ylim(0, max(float(posts.loc[c].max()), 1.0) * 1.15)
        ax.set_zorder(bars.get_zorder() + 1)  # the share line over the count bars
        ax.patch.set_visible(False)
        line = share.loc[c].to_numpy(dtype=float)
        ax.plot(x, line, color=colors[c], marker="o", ms=2.5, lw=1.6)
        ax.plot(x[small], line[small], ls="", marker="o", ms=4, mfc="white", mec=colors[c])
        ax.set_title(cluster_name(int(c), keywords, 2), fontsize=9, color=colors[c])
        ax.set_ylim(0, max(top * 1.15, 0.01))
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    step = max(1, math.ceil(n_months / 6))
    for ax in axes[:k]:  # every panel labels its months (shared x hides them above the last row)
        ax.set_xticks(x[::step], list(all_months)[::step], fontsize=6, rotation=45, ha="right")
        ax.tick_params(axis="x", labelbottom=True)
    for ax in axes[k:]:
        ax.set_axis_off()
    note = (f"\nhollow point: a month with fewer than {min_month_posts} posts, too small to "
            "compare" if small.any() else "")
    if n_all > k:
        note += f"\nthe {k} largest of {n_all} clusters"
    fig.suptitle("Each cluster over time: share of the month (line, left axis, same scale) and "
                 "posts per month (grey bars, right axis)" + note, fontsize=10)
    return fig


@cjk_figure
def plot_exemplars(month: str, rows: Sequence[trends.ExemplarRow], n_images: int) -> Figure:
    """A month's exemplar grid: one row per top cluster, its masked images closest to the centre.

    Each row is captioned with rank, cluster id, the cluster's share of the month and its top
    keywords; a missing image (fewer posts, or a post without a kept image) leaves a grey cell.

    Args:
        month: "YYYY-MM".
        rows: From `trends.month_exemplars`, rank order.
        n_images: Images per row.
    """
    n_rows = max(len(rows), 1)
    fig = new_figure(1.75 * n_images + 0.5, 2.15 * n_rows + 0.5)
    fig.suptitle(f"{month}: top {len(rows)} clusters, posts closest to each cluster's centre",
                 fontsize=11)
    subfigs = np.atleast_1d(fig.subfigures(n_rows, 1))
    for sub, row in zip(subfigs, rows):
        words = " ".join(row.keywords)
        sub.suptitle(f"#{row.rank}  c{row.cluster} · {row.share:.0%} of {month} · {words}",
                     x=0.02, ha="left", fontsize=9)
        axes = np.atleast_1d(sub.subplots(1, n_images))
        for j, ax in enumerate(axes):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(row.images):
                ax.imshow(thumbnail(row.images[j]))
                ax.set_xlabel(row.post_ids[j], fontsize=6)
            else:  # a grey card of a typical image's shape
                ax.imshow(np.full((4, 3, 3), 0.9), vmin=0, vmax=1)
                ax.text(0.5, 0.5, "no image", ha="center", va="center", fontsize=7,
                        color="0.4", transform=ax.transAxes)
            for spine in ax.spines.values():
                spine.set_visible(False)
    if not rows:
        subfigs[0].text(0.5, 0.5, "no clustered posts this month", ha="center")
    return fig
