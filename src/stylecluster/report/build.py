"""Report: monthly cluster trends, per-cluster keywords and texts, figures and one HTML page.

The orchestration of the `report` stage. `build` takes every upstream artifact in memory (an
`ReportInputs`), the `report` params and a function that loads a post's masked image, and returns a
`Report`: the tables (monthly proportions, top clusters per month), clusters.json, the trend metrics,
the figures (matplotlib Figures, not yet saved) and the HTML text. The stage script writes them.
The tables come from `trends` (how shares and keywords are defined is documented there), the
drawing from `figures` and `trend_figures`, the HTML from `page`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from stylecluster.config import ReportParams
from stylecluster.errors import DataError
from stylecluster.report import changes, figures, interactive, page, trend_figures, trends
from stylecluster.report import verdict
from stylecluster.report.drops import drop_counts
from stylecluster.report.keywords import MAX_DF, MIN_TOKEN_CHARS
from stylecluster.schemas import UNASSIGNED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportInputs:
    """Every upstream artifact the report reads, in memory.

    Attributes:
        posts: validate/posts.parquet (post_id, content, tags, month, optional label).
        texts: preprocess/texts.parquet (post_id, text, tokens, keywords, n_chars, has_text).
        labels: cluster/labels.parquet (post_id, cluster 0 = largest, distance).
        representatives: cluster/representatives.parquet (cluster, rank, post_id, distance).
        map2d: (n, 2) float32 2-D map, row-aligned with `map_ids`.
        map_ids: reduce/ids.parquet (post_id).
        curve: select_k/silhouette.csv (k, silhouette, davies_bouldin, calinski_harabasz,
            optional silhouette_std).
        selection: select_k.json (best_k, prominence, has_peak, ...).
        metrics: reports/metrics.json (flat keys).
        manifest: segment/manifest.parquet (post_id, clothing_share, kept, reason, mask_path).
        segment_summary: segment/summary.json (min_clothing_share, dropped_by_reason, ...).
        validation: reports/validation.json.
        dropped: The embed and reduce stages' dropped.parquet tables (post_id, stage, reason),
            in that order; the report concatenates them.
        params: The whole params.yaml mapping, shown in the page as it is.
    """

    posts: pd.DataFrame
    texts: pd.DataFrame
    labels: pd.DataFrame
    representatives: pd.DataFrame
    map2d: np.ndarray
    map_ids: pd.DataFrame
    curve: pd.DataFrame
    selection: Mapping[str, Any]
    metrics: Mapping[str, Any]
    manifest: pd.DataFrame
    segment_summary: Mapping[str, Any]
    validation: Mapping[str, Any]
    dropped: Sequence[pd.DataFrame]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    """What the report stage writes.

    Attributes:
        monthly: monthly_proportions.csv: month, cluster, share (every cluster in every month with
            posts, zeros included; shares sum to 1 per month; cluster -1 = unassigned, present
            only when a density clusterer left posts unassigned).
        top_per_month: top5_per_month.csv: month, rank (1 = largest), cluster, share.
        clusters: clusters.json: n_posts, n_undated, n_clusters, n_unassigned, unassigned_share,
            months, and `clusters`, one entry per style (the unassigned posts have none).
        trends: trends.json (DVC metrics): month-to-month turnover, top-n coverage, lifetimes.
        drops: Posts dropped or left without text before clustering: source, reason, n_posts.
        figures: File name under figures/ -> matplotlib Figure (drawn, not saved).
        html: index.html, referring to figures as `figures/<name>` and thumbnails as
            `thumbs/<name>`.
        membership: posts_clusters.csv/.xlsx: every clustered post with its cluster's name.
        thumbs: File name under thumbs/ (`c<cluster>_<i>.jpg`) -> (h, w, 3) uint8 image: each
            cluster's posts closest to its centre, for the summary cards.
        map_page: map.html and its map_thumbs/ images (`report.interactive`; when off, a
            placeholder page and no images).
    """

    monthly: pd.DataFrame
    top_per_month: pd.DataFrame
    clusters: dict[str, Any]
    trends: dict[str, Any]
    drops: pd.DataFrame
    figures: dict[str, Any]
    html: str
    membership: pd.DataFrame
    thumbs: dict[str, np.ndarray] = field(default_factory=dict)
    map_page: interactive.MapPage = field(default_factory=interactive.placeholder_page)

N_THUMBS = 4  # thumbnails per cluster card




def build(inputs: ReportInputs, params: ReportParams, load_image: trends.ImageLoader, *,
          min_month_posts: int = 1, progress: bool = False) -> Report:
    """Build every table, figure and the HTML page of the report.

    Args:
        inputs: The upstream artifacts.
        params: The `report` params.
        load_image: post_id -> masked image (H, W, 3) uint8 array or PIL image, or None when the
            post has no kept image (text-only features).
        min_month_posts: cluster.min_month_posts: smaller months are left out of the cards'
            trends (peak, last month's change, sparkline) and the rising / falling table.
        progress: Progress bars (stderr) over the exemplar grids and thumbnails.

    Returns:
        A Report (figures drawn, not saved).

    Raises:
        DataError: If the labels are empty or name posts missing from posts.parquet.
    """
    table = trends.join_posts(inputs.labels, inputs.posts, inputs.texts)
    noise, styles, k = _split_unassigned(table)
    monthly = trends.monthly_proportions(table, k)  # with an unassigned row when there is noise
    monthly_styles = monthly[monthly["cluster"] != UNASSIGNED].reset_index(drop=True)
    top = trends.top_per_month(monthly, params.top_n)
    clusters = trends.cluster_summaries(styles, monthly_styles, inputs.representatives, params,
                                        n_posts=len(table))
    _warn_unused_names(params, k)
    months = sorted(monthly["month"].unique())
    metrics = trends.trend_metrics(monthly_styles, top, clusters, params.top_n)
    drops = drop_counts(inputs.validation, inputs.segment_summary, inputs.manifest,
                        inputs.texts, inputs.dropped, inputs.metrics)
    log.info("report: %d posts, %d clusters, %d months", len(table), k, len(months))

    figs = _overview_figures(inputs, monthly, monthly_styles, top, clusters, months)
    counts = changes.monthly_counts(table, k)  # shares of all posts, unassigned ones too
    figs["small_multiples.png"] = trend_figures.plot_small_multiples(
        counts, trends.month_range(months) if months else [], _keywords(clusters),
        min_month_posts)
    grids = _exemplar_figures(table, top, months, _keywords(clusters), params, load_image,
                              progress)
    figs.update(dict(grids.values()))
    exemplar_files = {month: name for month, (name, _) in grids.items()}
    clusters_json = _clusters_json(table, k, months, clusters, int(noise.sum()))
    thumbs, thumb_files = _thumbnails(table, inputs.representatives, k, load_image, progress)
    summary = page.Summary(verdict.findings(inputs.metrics, inputs.selection),
                           changes.cluster_trends(counts, min_month_posts),
                           changes.movers(counts, min_month_posts), thumb_files, min_month_posts,
                           _hex_colors(k))
    html = page.render(page.PageData(
        monthly=monthly, top=top, clusters=clusters_json, trends=metrics, drops=drops,
        metrics=dict(inputs.metrics), selection=dict(inputs.selection),
        validation=dict(inputs.validation), segment_summary=dict(inputs.segment_summary),
        params=dict(inputs.params), figures=[n for n in figs if n not in exemplar_files.values()],
        exemplar_figures=exemplar_files, summary=summary, interactive_map=params.interactive,
        figure_widths={n: figures.css_width(f) for n, f in figs.items()}))
    map_page = _map_page(inputs, params, clusters, load_image, progress)
    return Report(monthly=monthly, top_per_month=top, clusters=clusters_json, trends=metrics,
                  drops=drops, figures=figs, html=html, thumbs=thumbs, map_page=map_page,
                  membership=trends.membership(inputs.labels, inputs.posts, clusters))


def _map_page(inputs: ReportInputs, params: ReportParams, clusters: Sequence[Mapping[str, Any]],
              load_image: trends.ImageLoader, progress: bool) -> interactive.MapPage:
    """map.html: the plotly map with `report.interactive`, else the placeholder page (fast)."""
    if not params.interactive:
        return interactive.placeholder_page()
    return interactive.map_page(inputs.map2d, inputs.map_ids, inputs.labels, inputs.posts,
                                _keywords(clusters), load_image, progress=progress)


def _clusters_json(table: pd.DataFrame, k: int, months: list[str],
                   clusters: list[dict[str, Any]], n_unassigned: int) -> dict[str, Any]:
    return {
        "n_posts": int(len(table)),
        "n_undated": int(table["month"].isna().sum()),  # clustered, in no month's trend
        "n_clusters": k,
        "n_unassigned": n_unassigned,  # posts HDBSCAN left in no cluster
        "unassigned_share": n_unassigned / len(table),
        "months": months,
        "keyword_method": (f"c-TF-IDF over jieba tokens of >= {MIN_TOKEN_CHARS} characters, "
                           f"skipping words in more than {MAX_DF:.0%} of posts; hashtags: the "
                           "same over whole hashtags, those words trimmed from their ends; "
                           "rake_keywords: the most frequent RAKE keywords"),
        "clusters": clusters,
    }


def _exemplar_figures(table: pd.DataFrame, top: pd.DataFrame, months: Sequence[str],
                      keywords: list[list[str]], params: ReportParams,
                      load_image: trends.ImageLoader, progress: bool,
                      ) -> dict[str, tuple[str, Any]]:
    """month -> (file name, its exemplar grid Figure)."""
    out = {}
    for month in tqdm(months, desc="report: exemplar grids", unit="month", disable=not progress):
        rows = trends.month_exemplars(table, top, month, keywords, params.exemplars_per_cluster,
                                      load_image)
        out[month] = (f"exemplars_{month}.png",
                      trend_figures.plot_exemplars(month, rows, params.exemplars_per_cluster))
    return out


def _hex_colors(k: int) -> dict[int, str]:
    """Each cluster's figure colour as "#rrggbb" (the cards' sparklines match the figures)."""
    from matplotlib.colors import to_hex

    return {c: to_hex(rgba) for c, rgba in enumerate(figures.cluster_colors(k))}


def _thumbnails(table: pd.DataFrame, representatives: pd.DataFrame, k: int,
                load_image: trends.ImageLoader, progress: bool,
                ) -> tuple[dict[str, np.ndarray], dict[int, list[str]]]:
    """Up to N_THUMBS thumbnails per cluster: its representatives first, then its other posts by
    distance to the centre, skipping posts without a kept image.

    Returns:
        (file name -> image, cluster -> its file names in order).
    """
    images: dict[str, np.ndarray] = {}
    files: dict[int, list[str]] = {}
    for c in tqdm(range(k), desc="report: card thumbnails", unit="cluster", disable=not progress):
        reps = representatives[representatives["cluster"] == c].sort_values("rank")["post_id"]
        members = table[table["cluster"] == c].sort_values(["distance", "post_id"])["post_id"]
        members_set = set(members)
        files[c] = []
        for pid in dict.fromkeys([*[p for p in reps if p in members_set], *members]):
            img = load_image(pid)
            if img is None:
                continue
            name = f"c{c}_{len(files[c]) + 1}.jpg"
            images[name] = trend_figures.thumbnail(img, trend_figures.CARD_THUMB_PX)
            files[c].append(name)
            if len(files[c]) >= N_THUMBS:
                break
    return images, files


def _warn_unused_names(params: ReportParams, k: int) -> None:
    unknown = sorted(c for c in params.cluster_names if c >= k)
    if unknown:
        log.warning("report: report.cluster_names names cluster(s) %s, but there are only %d "
                    "clusters (0..%d); those names are not used", unknown, k, k - 1)


def _split_unassigned(table: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, int]:
    """(n,) bool of the unassigned posts (HDBSCAN's noise: reported, never a style), the styles'
    rows and their number k.

    Raises:
        DataError: If every post is unassigned.
    """
    noise = table["cluster"] == UNASSIGNED
    styles = table[~noise]
    if styles.empty:
        raise DataError(f"report: all {len(table)} clustered posts are unassigned; nothing to "
                        "report. Lower select_k.min_cluster_size or min_samples.")
    return noise, styles, int(styles["cluster"].max()) + 1


def _keywords(clusters: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Per cluster the words that label it in figures and tables: its name (the analyst's whole,
    an automatic one word by word), so figures read `c3 <name>` as the cards do."""
    return [[c["name"]] if c["named_by"] == "analyst"
            else [] if c["named_by"] == "id" else c["name"].split(" ") for c in clusters]


def _overview_figures(inputs: ReportInputs, monthly: pd.DataFrame, monthly_styles: pd.DataFrame,
                      top: pd.DataFrame, clusters: Sequence[Mapping[str, Any]],
                      months: Sequence[str]) -> dict[str, Any]:
    """Every figure except the per-month exemplar grids, by file name, in the page's order
    (`monthly` with the unassigned row, for the stacked bars; `monthly_styles` without it)."""
    keywords = _keywords(clusters)
    threshold = inputs.segment_summary.get("min_clothing_share",
                                           inputs.params.get("segment", {}).get(
                                               "min_clothing_share", 0.05))
    return {
        "silhouette.png": figures.plot_silhouette(inputs.curve, inputs.selection),
        "map2d.png": figures.plot_map(inputs.map2d, inputs.map_ids, inputs.labels, keywords),
        "monthly_proportions.png": trend_figures.plot_monthly(monthly, keywords),
        "top_per_month.png": trend_figures.plot_top_per_month(top, keywords),
        "timelines.png": trend_figures.plot_timeline(monthly_styles, trends.month_range(months),
                                                     keywords),
        "clothing_share.png": figures.plot_clothing_share(inputs.manifest, float(threshold)),
        "cluster_sizes.png": figures.plot_sizes([c["size"] for c in clusters], inputs.metrics),
    }
