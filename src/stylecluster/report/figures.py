"""The report's model-selection and overview figures, the segment stage's clothing-share
histogram, and the drawing helpers the trend figures share; each function returns a drawn Figure.

Figures are built on the Agg canvas directly (no pyplot: no global figure state, no display) inside
`fonts.cjk_context`, so Chinese labels use the packaged CJK font even when the stage saves them later
with `storage.write_figure`. Trend figures (months, timelines, exemplar grids) live in
`trend_figures`, which builds on the helpers here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from stylecluster import catalog
from stylecluster.errors import DataError
from stylecluster.report import fonts
from stylecluster.records import BIC_CHOICE
from stylecluster.report.share_hist import plot_clothing_share_hist
from stylecluster.schemas import UNASSIGNED, UNASSIGNED_NAME

DPI = 200  # 2x: sharp on high-density screens; the page shows each figure at half its pixel width
UNCLUSTERED = (0.78, 0.78, 0.78, 1.0)
F = TypeVar("F", bound=Callable[..., Figure])


def cjk_figure(fn: F) -> F:
    """Build the figure inside the CJK font context.

    Every Text keeps the font properties it was created with, and tick labels made later, at
    draw time, copy them from the axis's first tick (made here, when labels are set), so the
    figure renders with the CJK font wherever it is saved; no second draw is needed.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with fonts.cjk_context():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def new_figure(width: float, height: float, *, layout: str | None = "constrained") -> Figure:
    """A Figure with an Agg canvas attached (inches; constrained layout avoids overlaps)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def cluster_colors(n_clusters: int) -> list[tuple[float, float, float, float]]:
    """One RGBA colour per cluster: tab10 up to 10 clusters, else tab20 (cycling past 20).

    tab20 is reordered so that its ten dark shades come before their light twins: neighbouring
    cluster ids (similar sizes) never get two shades of one hue.
    """
    from matplotlib import colormaps

    if n_clusters <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n_clusters)]
    cmap = colormaps["tab20"]
    return [cmap((2 * (i % 10) + (i // 10) % 2) % 20) for i in range(n_clusters)]


def text_color(rgba: Sequence[float]) -> str:
    """Black or white, whichever reads better on `rgba` (relative luminance)."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "white"


def cluster_name(cluster: int, keywords: Sequence[Sequence[str]], n_words: int = 1) -> str:
    """Short label such as 'c3 连衣裙' (the cluster id and its top keywords)."""
    words = list(keywords[cluster])[:n_words] if cluster < len(keywords) else []
    return " ".join([f"c{cluster}", *words])


@cjk_figure
def plot_silhouette(curve: pd.DataFrame, selection: Mapping[str, Any]) -> Figure:
    """Silhouette over k (large panel) with Davies-Bouldin and Calinski-Harabasz beside it, and
    the BIC below them when the curve has one (select_k.algorithm: gmm).

    Long on purpose: one figure's panels and annotations read best as one sequence.

    The chosen k is marked on every panel; on the silhouette panel, the peak's prominence is drawn
    as a bracket below the peak, or "no interior peak" is written when select_k found none.

    Args:
        curve: silhouette.csv (k, silhouette, davies_bouldin, calinski_harabasz[, silhouette_std,
            stability, bic]).
        selection: select_k.json (best_k, prominence, has_peak, rule, chosen_by).
    """
    side_panels = [("davies_bouldin", "Davies-Bouldin (lower is better)"),
                   ("calinski_harabasz", "Calinski-Harabasz (higher is better)")]
    if "bic" in curve and curve["bic"].notna().any():
        side_panels.append(("bic", "BIC of the Gaussian mixture (lower is better)"))
    fig = new_figure(11, 4.6 if len(side_panels) == 2 else 5.6)
    grid = fig.add_gridspec(len(side_panels), 2, width_ratios=[2.1, 1])
    ax = fig.add_subplot(grid[:, 0])
    side = [fig.add_subplot(grid[row, 1]) for row in range(len(side_panels))]
    curve = curve.sort_values("k")
    ks = curve["k"].to_numpy()
    best = selection.get("best_k")
    if len(curve) == 0:
        skipped = selection.get("best_k") is None and selection.get("chosen_by")
        ax.text(0.5, 0.5, f"k-selection skipped: {selection.get('chosen_by')} finds its own "
                "clusters" if skipped else "no silhouette curve (select_k scored no k)",
                ha="center", transform=ax.transAxes)
        return fig
    sil = curve["silhouette"].to_numpy(dtype=float)
    ax.plot(ks, sil, marker="o", ms=3, color="tab:blue", label="silhouette")
    if "silhouette_std" in curve and curve["silhouette_std"].notna().any():
        std = curve["silhouette_std"].to_numpy(dtype=float)
        ax.fill_between(ks, sil - std, sil + std, color="tab:blue", alpha=0.2,
                        label="± sampling std")
    if best is not None:
        for a in (ax, *side):
            a.axvline(best, color="tab:red", linestyle="--", linewidth=1)
        at = np.flatnonzero(ks == best)
        if len(at):
            y = sil[at[0]]
            ax.plot([best], [y], marker="o", ms=9, mfc="none", mec="tab:red", mew=2,
                    label=f"chosen k = {best}")
            prom = float(selection.get("prominence") or 0.0)
            if selection.get("has_peak") and prom > 0:
                ax.annotate("", xy=(best, y - prom), xytext=(best, y),
                            arrowprops={"arrowstyle": "|-|", "color": "tab:red"})
                ax.annotate(f"prominence {prom:.3f}", xy=(best, y - prom / 2),
                            xytext=(10, 0), textcoords="offset points", va="center",
                            color="tab:red", bbox={"boxstyle": "round,pad=0.2", "fc": "white",
                                                   "ec": "none", "alpha": 0.9})
    if "stability" in curve and curve["stability"].notna().any():
        twin = ax.twinx()
        twin.plot(ks, curve["stability"].to_numpy(dtype=float), marker="s", ms=3,
                  color="tab:green", alpha=0.8, label="stability (mean ARI of subsample pairs)")
        twin.set_ylabel("stability (higher is better)", color="tab:green")
        twin.tick_params(axis="y", labelcolor="tab:green")
        twin.legend(loc="upper right", fontsize=8)
    if selection.get("has_peak") is False:
        chosen_by = selection.get("chosen_by") or "silhouette argmax"
        how = "" if chosen_by == BIC_CHOICE else " (fallback)"
        ax.text(0.98, 0.04, f"no clear silhouette peak: k from the {chosen_by}{how}",
                ha="right", va="bottom", transform=ax.transAxes, color="tab:red",
                bbox={"boxstyle": "round", "fc": "white", "ec": "tab:red"})
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel("silhouette (higher is better)")
    rule = selection.get("rule", "")
    chosen = selection.get("chosen_by") or (f"rule: {rule}" if rule else "")
    ax.set_title(f"Silhouette over k; chosen k = {best}" + (f" ({chosen})" if chosen else ""))
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    for a, (col, title) in zip(side, side_panels):
        if col in curve:
            values = curve[col].to_numpy(dtype=float)
            a.plot(ks, values, marker=".", color="tab:gray")
            at = np.flatnonzero(ks == best) if col == "bic" and best is not None else []
            if len(at):
                a.plot([best], [values[at[0]]], marker="o", ms=7, mfc="none", mec="tab:red",
                       mew=1.5)
        a.set_title(title, fontsize=9)
        a.tick_params(labelsize=8)
        a.grid(alpha=0.3)
    side[-1].set_xlabel("k")
    return fig


@cjk_figure
def plot_map(map2d: np.ndarray, map_ids: pd.DataFrame, labels: pd.DataFrame,
             keywords: Sequence[Sequence[str]], n_named: int = 12) -> Figure:
    """The 2-D map of all posts coloured by cluster; the largest clusters named at their medians.

    Args:
        map2d: (n, 2) coordinates, row-aligned with `map_ids`.
        map_ids: Table with post_id.
        labels: post_id, cluster; unlabelled and unassigned (-1) map posts are drawn grey.
        keywords: Per cluster its keywords (for the names).
        n_named: How many of the largest clusters get a name on the map.

    Raises:
        DataError: If `map2d` is not (len(map_ids), 2).
    """
    map2d = np.asarray(map2d, dtype=float)
    if map2d.ndim != 2 or map2d.shape != (len(map_ids), 2):
        raise DataError(f"report: {catalog.MAP2D.label} has shape {map2d.shape} but "
                        f"{catalog.FEATURE_IDS.label} has {len(map_ids)} post_ids; expected "
                        f"({len(map_ids)}, 2). Re-run the reduce stage.")
    cluster_of = labels.set_index("post_id")["cluster"]
    cl = map_ids["post_id"].map(cluster_of).fillna(-1).to_numpy(dtype=np.int64)
    k = int(labels["cluster"].max()) + 1 if len(labels) else 0
    colors = np.array(cluster_colors(max(k, 1)) + [UNCLUSTERED])  # index -1 -> grey
    fig = new_figure(9, 7.5)
    ax = fig.add_subplot()
    size = float(np.clip(20000 / max(len(cl), 1), 2, 30))
    order = np.argsort(cl == -1)[::-1]  # grey points first, under the coloured ones
    ax.scatter(map2d[order, 0], map2d[order, 1], c=colors[cl[order]], s=size, linewidths=0,
               alpha=0.8)
    sizes = np.bincount(cl[cl >= 0], minlength=k)
    lo, hi = map2d.min(axis=0), map2d.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    placed: list[np.ndarray] = []  # label centres in axes fractions
    for c in np.argsort(-sizes, kind="stable")[:n_named]:
        if sizes[c] == 0:
            continue
        median = np.median(map2d[cl == c], axis=0)
        at = _free_spot((median - lo) / span, placed)
        placed.append(at)
        ax.annotate(cluster_name(int(c), keywords), median, xytext=lo + at * span,
                    ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": colors[c],
                          "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "color": colors[c], "lw": 0.8})
    if 0 < k <= 12:
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], marker="o", ls="", color=colors[c],
                          label=f"{cluster_name(c, keywords, 2)} ({sizes[c]})") for c in range(k)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
                  title="cluster (posts)", title_fontsize=8)
    note = _grey_note(int((cl == -1).sum()),
                      int(map_ids["post_id"].map(cluster_of).eq(UNASSIGNED).sum()))
    palette = "colours cycle every 20 clusters; " if k > 20 else ""
    ax.set_title(f"2-D map of {len(cl)} posts, k = {k}{note}\n({palette}"
                 f"the {min(n_named, k)} largest clusters named at their medians)", fontsize=10)
    ax.set_xlabel("map dimension 1")
    ax.set_ylabel("map dimension 2")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def _grey_note(n_grey: int, n_unassigned: int) -> str:
    """The map title's note on its grey points: unassigned posts and posts not clustered."""
    parts = ([f"{n_unassigned} {UNASSIGNED_NAME}"] if n_unassigned else []) + (
        [f"{n_grey - n_unassigned} not clustered"] if n_grey > n_unassigned else [])
    return f"; {', '.join(parts)} (grey)" if parts else ""


def _free_spot(xy: np.ndarray, placed: Sequence[np.ndarray], box: tuple[float, float] = (0.1, 0.04),
               ) -> np.ndarray:
    """The nearest point to `xy` (axes fractions), stepping up or down, whose label box does not
    overlap an already placed one."""
    for dy in (0.0, *[s * i * box[1] for i in range(1, 12) for s in (1, -1)]):
        cand = xy + np.array([0.0, dy])
        if all(abs(cand[0] - p[0]) >= box[0] or abs(cand[1] - p[1]) >= box[1] for p in placed):
            return cand
    return xy


@cjk_figure
def plot_sizes(sizes: Sequence[int], metrics: Mapping[str, Any]) -> Figure:
    """Cluster sizes as a sorted bar chart, with the balance metrics of metrics.json.

    Args:
        sizes: Posts per cluster, indexed by cluster id.
        metrics: reports/metrics.json (largest_cluster_share, size_entropy, size_gini, ...).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    k = len(sizes)
    order = np.argsort(-sizes, kind="stable")
    total = max(int(sizes.sum()), 1)
    colors = cluster_colors(max(k, 1))
    fig = new_figure(max(9.0, min(0.22 * k + 6, 20)), 4.6)
    ax, side = fig.subplots(1, 2, width_ratios=[4, 1.25])
    ax.bar(np.arange(k), sizes[order] / total, color=[colors[c] for c in order])
    ax.set_ylim(0, max(float(sizes.max(initial=0)) / total, 1 / max(k, 1)) * 1.25)  # legend room
    if k:
        ax.axhline(1 / k, color="black", linestyle=":", linewidth=1,
                   label=f"balanced share 1/k = {1 / k:.3f}")
        ax.legend(loc="upper right", fontsize=8)
    if k <= 60:
        ax.set_xticks(np.arange(k), [f"c{c}" for c in order], rotation=90 if k > 20 else 0,
                      fontsize=8)
    ax.set_xlabel("cluster, largest first")
    ax.set_ylabel("share of clustered posts")
    ax.set_title(f"Cluster sizes ({total} posts in {k} clusters)")
    ax.grid(axis="y", alpha=0.3)
    lines = []
    for key, fmt in (("unassigned_share", "{:.3f}"), ("largest_cluster_share", "{:.3f}"),
                     ("size_entropy", "{:.3f}"),
                     ("size_gini", "{:.3f}"), ("n_tiny_clusters", "{}"),
                     ("mean_month_top_share", "{:.3f}"), ("worst_month_top_share", "{:.3f}"),
                     ("n_months_ignored", "{} small months left out"), ("length_skew", "{:.2f}")):
        value = metrics.get(key)
        if value is not None and not (key == "unassigned_share" and not value):
            lines.append(f"{key}\n  {fmt.format(value)}")
    side.set_axis_off()
    side.text(0.0, 1.0, "balance (metrics.json)\n\n" + "\n".join(lines) if lines else
              "no balance metrics", transform=side.transAxes, va="top", fontsize=8,
              family="monospace")
    return fig


@cjk_figure
def plot_clothing_share(manifest: pd.DataFrame, threshold: float) -> Figure:
    """segment's clothing-share histogram (kept and dropped counts, threshold marked), at the
    report's DPI (segment's own copy stays at 100, so segment does not re-run for it)."""
    fig = plot_clothing_share_hist(manifest, threshold)
    fig.set_dpi(DPI)
    return fig


def css_width(fig: Figure) -> int:
    """The width in CSS pixels the page shows a figure at: 100 px per inch, i.e. half of its
    pixels at DPI 200, so 2x screens get every pixel and text keeps its size."""
    return int(round(fig.get_figwidth() * 100))
