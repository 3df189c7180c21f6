"""The report's one HTML page: offline, self-contained apart from the figures beside it.

No script, no external stylesheet, font or image: CSS is inline, the CJK font is embedded as a
subset (`fonts.web_font_face`), figures are linked by relative paths (`figures/<name>.png`), so the
page works opened straight from the file system. The markup lives in Jinja2 templates
(templates/page.html, body.html, macros.html, shipped as package data); this module turns a
`PageData` into plain values for them. Autoescape is on, so every value that comes from the data
(captions, keywords, labels, params, reasons) is escaped; undefined names are errors.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd

from stylecluster.report import fonts
from stylecluster.report.sparkline import Sparkline, sparkline
from stylecluster.report.changes import Movers
from stylecluster.report.verdict import Finding
from stylecluster.schemas import UNASSIGNED, UNASSIGNED_NAME

FIGURE_TITLES = {
    "silhouette.png": "Silhouette (and Davies-Bouldin, Calinski-Harabasz) over k",
    "map2d.png": "2-D map of the posts, coloured by cluster",
    "monthly_proportions.png": "Monthly cluster proportions",
    "top_per_month.png": "Top clusters per month",
    "timelines.png": "Cluster timelines",
    "clothing_share.png": "Clothing share of the images (segment)",
    "cluster_sizes.png": "Cluster sizes and balance",
    "small_multiples.png": "Each cluster over time: share and posts per month",
}
SUMMARY_FIGURES = ("small_multiples.png",)  # shown in the summary band, not in a later section


@dataclass(frozen=True)
class Summary:
    """The summary band at the top of the page (built by `report.build`).

    Attributes:
        findings: The verdict (`verdict.findings`).
        trends: `changes.cluster_trends`: per cluster its shares over the counted months, peak
            month and last month's change.
        movers: `changes.movers`: the rising / falling table.
        thumbs: cluster -> its thumbnail file names under thumbs/ (closest to the centre first).
        min_month_posts: cluster.min_month_posts (months below it are not compared).
        colors: cluster -> its colour in the figures ("#rrggbb"), for the card's sparkline.
    """

    findings: Sequence[Finding]
    trends: pd.DataFrame
    movers: Movers
    thumbs: Mapping[int, Sequence[str]]
    min_month_posts: int
    colors: Mapping[int, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class PageData:
    """Everything the page shows (built by `report.build`)."""

    monthly: pd.DataFrame
    top: pd.DataFrame
    clusters: Mapping[str, Any]
    trends: Mapping[str, Any]
    drops: pd.DataFrame
    metrics: Mapping[str, Any]
    selection: Mapping[str, Any]
    validation: Mapping[str, Any]
    segment_summary: Mapping[str, Any]
    params: Mapping[str, Any]
    figures: Sequence[str]
    exemplar_figures: Mapping[str, str]
    summary: Summary | None = None
    figure_widths: Mapping[str, int] = dataclasses.field(default_factory=dict)  # CSS px
    interactive_map: bool = False  # map.html holds the plotly map (report.interactive)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text (escaped by the template) and whether it is right-aligned."""

    text: str
    num: bool


@dataclass(frozen=True)
class Table:
    """A table for the template's `table` macro."""

    header: list[str]
    rows: list[list[Cell]]


def fmt(value: Any) -> str:
    """A value as short readable text (not escaped)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) if value else "[]"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _cell(value: Any) -> Cell:
    return Cell(fmt(value), isinstance(value, (int, float)) and not isinstance(value, bool))


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table of formatted cells (`fmt`); numbers are right-aligned."""
    return Table([str(h) for h in header], [[_cell(v) for v in row] for row in rows])


def kv_table(mapping: Mapping[str, Any]) -> Table:
    """A two-column key/value table."""
    return table(["key", "value"], [(k, v) for k, v in mapping.items()])


def _mask_sources(segment: Mapping[str, Any]) -> Table | None:
    """Which path made each image's person mask (alpha, mediapipe, none), with images kept."""
    counts = segment.get("mask_source") or {}
    kept = segment.get("kept_by_mask_source") or {}
    rows = [(source, int(n), int(kept.get(source, 0))) for source, n in counts.items() if n]
    return table(["person mask from", "images", "kept"], rows) if rows else None


MASK_SOURCE_NOTES = {
    "auto": "segment.method auto takes the person mask from a transparent background's alpha "
            "where there is one, from mediapipe elsewhere.",
    "mediapipe": "segment.method mediapipe takes every person mask from mediapipe, alpha or not "
                 "(segment.method auto would use a pre-cut image's alpha).",
    "none": "segment.method none keeps every image whole: no person mask, no clothing share.",
}


def _mask_sources_note(segment: Mapping[str, Any]) -> str:
    """The line above the mask-source table: what the run's segment.method does."""
    method = segment.get("method")
    return MASK_SOURCE_NOTES.get(method, f"segment.method {method}.")


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _monthly_table(monthly: pd.DataFrame) -> Table:
    wide = monthly.pivot(index="month", columns="cluster", values="share").sort_index()
    rows = [[m, *[_pct(v) for v in wide.loc[m]]] for m in wide.index]
    return table(["month", *[UNASSIGNED_NAME if c == UNASSIGNED else f"c{c}"
                             for c in wide.columns]], rows)


def _top_table(top: pd.DataFrame, names: Mapping[int, str]) -> Table:
    n = int(top["rank"].max()) if len(top) else 0
    rows = []
    for month, group in top.groupby("month", sort=True):
        cells = [f"c{r.cluster} {names.get(r.cluster, '')} ({_pct(r.share)})"
                 for r in group.sort_values("rank").itertuples()]
        rows.append([month, *cells, *[""] * (n - len(cells))])
    return table(["month", *[f"#{i}" for i in range(1, n + 1)]], rows)


def _card(c: Mapping[str, Any]) -> dict[str, Any]:
    """One cluster's card: facts (label, text), hashtags, keywords, RAKE keywords and example
    captions."""
    facts = [("size", c["size"]), ("share", _pct(c["share"])), ("peak month", c["peak_month"]),
             ("peak share", _pct(c["peak_share"])), ("months at ≥ half the peak",
                                                     c["lifetime_months"]),
             ("months present", c["months_present"]), ("median chars", c.get("median_chars"))]
    if "purity" in c:
        facts += [("majority label", c.get("majority_label")),
                  ("purity", None if c.get("purity") is None else _pct(c["purity"]))]
    return {"id": int(c["cluster"]), "name": c.get("name") or "",
            "named_by": c.get("named_by") or "keywords",
            "facts": [(k, fmt(v)) for k, v in facts],
            "hashtags": list(c.get("hashtags", [])), "keywords": list(c.get("keywords", [])),
            "rake": list(c.get("rake_keywords", [])),
            "examples": list(c.get("examples", []))}


def _summary_table(clusters: Sequence[Mapping[str, Any]], n_unassigned: int = 0,
                   unassigned_share: float = 0.0) -> Table:
    rows = [(f"c{c['cluster']}", c.get("name"), c["size"], _pct(c["share"]), c["peak_month"],
             c["lifetime_months"], c.get("median_chars"), " ".join(c.get("keywords", [])[:5]),
             *([c.get("majority_label"), None if c.get("purity") is None
                else _pct(c["purity"])] if "purity" in c else []))
            for c in clusters]
    if n_unassigned:  # its own row, after the styles: no peak, lifetime or keywords
        rows.append((UNASSIGNED_NAME, UNASSIGNED_NAME, n_unassigned, _pct(unassigned_share),
                     None, None, None, "", *([None, None] if clusters and "purity" in clusters[0]
                                              else [])))
    head = ["cluster", "name", "size", "share", "peak month", "lifetime (months)", "median chars",
            "top keywords (c-TF-IDF)",
            *(["majority label", "purity"] if clusters and "purity" in clusters[0] else [])]
    return table(head, rows)


def _validation(v: Mapping[str, Any]) -> dict[str, Table | None]:
    summary = {k: v.get(k) for k in ("source", "success", "n_rows", "n_blocking_failures",
                                     "n_soft_failures", "n_missing_content") if k in v}
    months = v.get("months") or {}
    results = v.get("results") or []
    rows = [(r.get("expectation"), r.get("column"), r.get("success"), r.get("blocking"),
             r.get("unexpected_count"), r.get("examples") or "") for r in results]
    return {"validation": kv_table(summary),
            "validation_months": table(["month", "posts"], list(months.items())) if months
            else None,
            "validation_checks": table(["expectation", "column", "success", "blocking",
                                        "unexpected", "examples"], rows) if results else None}


def _pp(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:+.1f} pp"


def _direction(value: float | None) -> str:
    """CSS class of a change: up, down or flat (under 0.05 pp either way)."""
    if value is None or math.isnan(value) or abs(value) < 0.05:
        return "flat"
    return "up" if value > 0 else "down"


def _style_card(c: Mapping[str, Any], trend: Mapping[str, Any] | None,
                thumbs: Sequence[str], color: str) -> dict[str, Any]:
    """One cluster's card in the summary band: name, thumbnails, share, sparkline, peak, change."""
    shares = list(trend["shares"]) if trend is not None else []
    line: Sparkline | None = sparkline(shares) if shares else None
    months = list(trend["months"]) if trend is not None else []
    change = trend["change_pp"] if trend is not None else None
    return {"id": int(c["cluster"]), "name": c.get("name") or f"c{c['cluster']}",
            "named_by": c.get("named_by") or "keywords", "size": c["size"],
            "share": _pct(c["share"]), "thumbs": [f"thumbs/{quote(t)}" for t in thumbs],
            "sparkline": line, "span": f"{months[0]} to {months[-1]}" if months else "",
            "peak_month": (trend or {}).get("peak_month") or "—",
            "peak_share": _pct(trend["peak_share"]) if trend is not None else "—",
            "last_month": months[-1] if months else "—",
            "last_share": _pct(trend["last_share"]) if trend is not None else "—",
            "change": _pp(change), "direction": _direction(change), "color": color}


def _movers(movers: Movers, names: Mapping[int, str]) -> list[dict[str, Any]]:
    return [{"rank": i + 1, "id": int(r.cluster), "name": names.get(int(r.cluster), ""),
             "previous": f"{_pct(r.previous_share)} ({r.previous_posts})",
             "last": f"{_pct(r.last_share)} ({r.last_posts})", "change": _pp(r.change_pp),
             "direction": _direction(r.change_pp)}
            for i, r in enumerate(movers.table.itertuples(index=False))]


def summary_context(s: Summary | None, clusters: Sequence[Mapping[str, Any]],
                    names: Mapping[int, str]) -> dict[str, Any] | None:
    """The summary band's values: the verdict, the cluster cards and the rising / falling rows."""
    if s is None:
        return None
    by_cluster = {int(t["cluster"]): t for t in s.trends.to_dict("records")}
    m = s.movers
    return {
        "findings": [{"level": f.level, "title": f.title, "text": f.text} for f in s.findings],
        "cards": [_style_card(c, by_cluster.get(int(c["cluster"])),
                              s.thumbs.get(int(c["cluster"]), []),
                              s.colors.get(int(c["cluster"]), "")) for c in clusters],
        "auto_named": any(c.get("named_by") != "analyst" for c in clusters),
        "movers": _movers(m, names), "previous": m.previous, "last": m.last,
        "skipped": ", ".join(m.skipped), "min_month_posts": s.min_month_posts,
    }


SELECTION_KEYS = ("best_k", "chosen_by", "min_cluster_size", "min_samples",
                  "cluster_selection_method", "has_peak", "prominence", "rule", "fallback",
                  "silhouette", "algorithm", "k_min", "k_max", "k_step", "exact", "n", "n_scored")
NAV = [("summary", "Summary"), ("selection", "Choice of k"), ("map", "Map"),
       ("trends", "Monthly trends"), ("exemplars", "Exemplars"), ("clusters", "Clusters"),
       ("data", "Data & drops"), ("metrics", "Metrics"), ("params", "Params")]


def context(d: PageData) -> dict[str, Any]:
    """The body template's values, all plain text, tables or lists of them."""
    cl = d.clusters
    clusters = list(cl.get("clusters", []))
    names = {int(c["cluster"]): c.get("name") or f"c{c['cluster']}" for c in clusters}
    months = list(cl.get("months", []))
    span = f"{months[0]} to {months[-1]}" if months else "no months"
    sil = d.metrics.get("silhouette")
    noise = int(cl.get("n_unassigned") or 0)
    headline = (f"{cl.get('n_posts', 0)} posts · {cl.get('n_clusters', 0)} clusters · "
                + (f"{noise} {UNASSIGNED_NAME} · " if noise else "")
                + f"{len(months)} months ({span})"
                + (f" · silhouette {sil:.3f}" if isinstance(sil, (int, float)) else ""))
    return {
        "headline": headline, "nav": NAV,
        "figures": {n: FIGURE_TITLES.get(n, n) for n in d.figures},
        "widths": dict(d.figure_widths), "interactive_map": d.interactive_map,
        "band": summary_context(d.summary, clusters, names),
        "metrics": kv_table(d.metrics), "trends": kv_table(d.trends),
        "selection": kv_table({k: d.selection[k] for k in SELECTION_KEYS if k in d.selection}),
        "selection_warnings": [str(w) for w in d.selection.get("warnings") or []],
        "monthly": _monthly_table(d.monthly), "top": _top_table(d.top, names),
        "exemplars": sorted(d.exemplar_figures.items()),
        "keyword_method": cl.get("keyword_method", ""),
        "summary": _summary_table(clusters, int(cl.get("n_unassigned") or 0),
                                  float(cl.get("unassigned_share") or 0.0)), "cards": [_card(c) for c in clusters],
        "drops": table(["source", "reason", "posts"], d.drops.itertuples(index=False)),
        "segment": kv_table({k: v for k, v in d.segment_summary.items() if k not in (
            "unreadable_post_ids", "mask_source", "kept_by_mask_source")}),
        "mask_sources": _mask_sources(d.segment_summary),
        "mask_sources_note": _mask_sources_note(d.segment_summary),
        **_validation(d.validation),
        "params": [{"name": section,
                    "table": kv_table(values) if isinstance(values, Mapping) else None,
                    "text": fmt(values)} for section, values in d.params.items()],
    }


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the page's templates (autoescape, strict undefined)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("stylecluster.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["urlquote"] = quote
    return env


def render_body(d: PageData) -> str:
    """The page's <body> content."""
    return environment().get_template("body.html").render(context(d))


def render(d: PageData) -> str:
    """The whole page as one HTML string."""
    body = render_body(d)
    # both are markup already (`| safe` in page.html): the escaped body and the @font-face rule
    return environment().get_template("page.html").render(
        body=body, font_css=fonts.web_font_face(body))
