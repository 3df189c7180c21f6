"""The report's one HTML page: offline, self-contained apart from the figures beside it.

No script, no external stylesheet, font or image: CSS is inline, the CJK font is embedded as a
subset (`fonts.web_font_face`), figures are linked by relative paths (`figures/<name>.png`), so the
page works opened straight from the file system. Every value that comes from the data (captions,
keywords, labels, params, reasons) is escaped with `html.escape`.
"""

from __future__ import annotations

import html as _html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd

from stylecluster.report import fonts

FIGURE_TITLES = {
    "silhouette.png": "Silhouette (and Davies-Bouldin, Calinski-Harabasz) over k",
    "map2d.png": "2-D map of the posts, coloured by cluster",
    "monthly_proportions.png": "Monthly cluster proportions",
    "top_per_month.png": "Top clusters per month",
    "timelines.png": "Cluster timelines",
    "clothing_share.png": "Clothing share of the images (segment)",
    "cluster_sizes.png": "Cluster sizes and balance",
}

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5; font-size: 15px;
  font-family: ReportCJK, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
header { background: #24292f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #d0d7de; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line);
  padding: 8px 32px; z-index: 1; font-size: 14px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px; }
section { margin-top: 28px; scroll-margin-top: 44px; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 4px; font-size: 20px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: #fff; }
.card h3 { margin-top: 2px; }
.facts { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 13px; margin-bottom: 4px; }
.facts span { color: var(--muted); } .facts b { color: var(--fg); }
.cols { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-start; }
.kw { display: inline-block; background: #ddf4ff; color: #0a3069; border-radius: 10px;
  padding: 0 8px; margin: 2px 3px 2px 0; font-size: 13px; }
.kw.rake { background: #fff8c5; color: #4d2d00; }
.muted { color: var(--muted); font-size: 13px; }
ol.examples { padding-left: 22px; margin: 6px 0; font-size: 13px; }
ol.examples li { margin-bottom: 3px; word-break: break-word; }
details { margin: 6px 0 12px; }
summary { cursor: pointer; color: var(--accent); }
.warn { color: #9a6700; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
"""


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


def esc(value: Any) -> str:
    """Escape any value for HTML text or an attribute."""
    return _html.escape(str(value), quote=True)


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


def _cell(value: Any) -> str:
    cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return f"<td{cls}>{esc(fmt(value))}</td>"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; every cell is escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def kv_table(mapping: Mapping[str, Any]) -> str:
    """A two-column key/value table."""
    return table(["key", "value"], [(k, v) for k, v in mapping.items()])


def figure(name: str, caption: str) -> str:
    """A linked figure, `figures/<name>` relative to the page."""
    src = "figures/" + quote(name)
    return (f'<figure><a href="{esc(src)}"><img src="{esc(src)}" alt="{esc(caption)}"></a>'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _monthly_table(monthly: pd.DataFrame) -> str:
    wide = monthly.pivot(index="month", columns="cluster", values="share").sort_index()
    rows = [[m, *[_pct(v) for v in wide.loc[m]]] for m in wide.index]
    return table(["month", *[f"c{c}" for c in wide.columns]], rows)


def _top_table(top: pd.DataFrame, keywords: Mapping[int, list[str]]) -> str:
    n = int(top["rank"].max()) if len(top) else 0
    rows = []
    for month, group in top.groupby("month", sort=True):
        cells = [f"c{r.cluster} {' '.join(keywords.get(r.cluster, [])[:2])} ({_pct(r.share)})"
                 for r in group.sort_values("rank").itertuples()]
        rows.append([month, *cells, *[""] * (n - len(cells))])
    return table(["month", *[f"#{i}" for i in range(1, n + 1)]], rows)


def _cluster_card(c: Mapping[str, Any]) -> str:
    kws = "".join(f'<span class="kw">{esc(w)}</span>' for w in c.get("keywords", []))
    rake = "".join(f'<span class="kw rake">{esc(w)}</span>' for w in c.get("rake_keywords", []))
    facts = [("size", c["size"]), ("share", _pct(c["share"])), ("peak month", c["peak_month"]),
             ("peak share", _pct(c["peak_share"])), ("months at ≥ half the peak",
                                                     c["lifetime_months"]),
             ("months present", c["months_present"]), ("median chars", c.get("median_chars"))]
    if "purity" in c:
        facts += [("majority label", c.get("majority_label")),
                  ("purity", None if c.get("purity") is None else _pct(c["purity"]))]
    fact_html = "".join(f"<span>{esc(k)} <b>{esc(fmt(v))}</b></span>" for k, v in facts)
    examples = "".join(f'<li>{esc(e["text"])} <span class="muted">({esc(e["post_id"])}, '
                       f'{esc(e["month"])})</span></li>' for e in c.get("examples", []))
    return (f'<div class="card" id="cluster-{int(c["cluster"])}"><h3>Cluster c{int(c["cluster"])}'
            f'</h3><div class="facts">{fact_html}</div>'
            f'<div><span class="muted">c-TF-IDF:</span> {kws or "—"}</div>'
            f'<div><span class="muted">RAKE:</span> {rake or "—"}</div>'
            f"<details open><summary>{len(c.get('examples', []))} representative captions"
            f'</summary><ol class="examples">{examples}</ol></details></div>')


def _validation(v: Mapping[str, Any]) -> str:
    summary = {k: v.get(k) for k in ("source", "success", "n_rows", "n_blocking_failures",
                                     "n_soft_failures", "n_missing_content") if k in v}
    out = kv_table(summary)
    months = v.get("months") or {}
    if months:
        out += "<h3>Posts per month</h3>" + table(["month", "posts"], list(months.items()))
    results = v.get("results") or []
    if results:
        rows = [(r.get("expectation"), r.get("column"), r.get("success"), r.get("blocking"),
                 r.get("unexpected_count"), r.get("examples") or "") for r in results]
        out += ("<details><summary>All checks</summary>"
                + table(["expectation", "column", "success", "blocking", "unexpected", "examples"],
                        rows) + "</details>")
    return out


def _selection(sel: Mapping[str, Any]) -> str:
    keys = ("best_k", "has_peak", "prominence", "rule", "fallback", "silhouette", "algorithm",
            "k_min", "k_max", "k_step", "exact", "n", "n_scored")
    out = kv_table({k: sel[k] for k in keys if k in sel})
    for w in sel.get("warnings") or []:
        out += f'<p class="warn">select_k warning: {esc(w)}</p>'
    return out


def _params(params: Mapping[str, Any]) -> str:
    parts = []
    for section, values in params.items():
        body = (kv_table(values) if isinstance(values, Mapping)
                else f"<p>{esc(fmt(values))}</p>")
        parts.append(f"<div><h3>{esc(section)}</h3>{body}</div>")
    return '<div class="cols">' + "".join(parts) + "</div>"


def render_body(d: PageData) -> str:
    """The page's <body> content."""
    cl = d.clusters
    clusters = list(cl.get("clusters", []))
    keywords = {int(c["cluster"]): list(c.get("keywords") or c.get("rake_keywords") or [])
                for c in clusters}
    months = list(cl.get("months", []))
    span = f"{months[0]} to {months[-1]}" if months else "no months"
    sil = d.metrics.get("silhouette")
    headline = (f"{cl.get('n_posts', 0)} posts · {cl.get('n_clusters', 0)} clusters · "
                f"{len(months)} months ({span})"
                + (f" · silhouette {sil:.3f}" if isinstance(sil, (int, float)) else ""))
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in [
        ("metrics", "Metrics"), ("selection", "Choice of k"), ("map", "Map"),
        ("trends", "Monthly trends"), ("exemplars", "Exemplars"), ("clusters", "Clusters"),
        ("data", "Data & drops"), ("params", "Params")])
    figs = set(d.figures)

    def fig(name: str) -> str:
        return figure(name, FIGURE_TITLES.get(name, name)) if name in figs else ""

    exemplars = "".join(f"<h3>{esc(m)}</h3>" + figure(n, f"{m}: top clusters, exemplar images")
                        for m, n in sorted(d.exemplar_figures.items()))
    cards = "".join(_cluster_card(c) for c in clusters)
    summary_rows = [(f"c{c['cluster']}", c["size"], _pct(c["share"]), c["peak_month"],
                     c["lifetime_months"], c.get("median_chars"),
                     " ".join(c.get("keywords", [])[:5]),
                     *([c.get("majority_label"), None if c.get("purity") is None
                        else _pct(c["purity"])] if "purity" in c else []))
                    for c in clusters]
    summary_head = ["cluster", "size", "share", "peak month", "lifetime (months)",
                    "median chars", "top keywords (c-TF-IDF)",
                    *(["majority label", "purity"] if clusters and "purity" in clusters[0]
                      else [])]
    return f"""
<header><h1>stylecluster: outfit styles and their monthly trends</h1>
<p>{esc(headline)}</p></header>
<nav>{nav}</nav>
<main>
<section id="metrics"><h2>Metrics</h2>
<p class="muted">reports/metrics.json (cluster stage) and reports/trends.json (this stage).</p>
<div class="cols"><div><h3>Clustering (metrics.json)</h3>{kv_table(d.metrics)}</div>
<div><h3>Trends (trends.json)</h3>{kv_table(d.trends)}</div></div></section>
<section id="selection"><h2>Choice of k</h2>{fig("silhouette.png")}{_selection(d.selection)}
</section>
<section id="map"><h2>Map of the posts</h2>{fig("map2d.png")}{fig("cluster_sizes.png")}</section>
<section id="trends"><h2>Monthly trends</h2>
{fig("monthly_proportions.png")}
<details><summary>Monthly proportions table (also
<a href="monthly_proportions.csv">monthly_proportions.csv</a>)</summary>
{_monthly_table(d.monthly)}</details>
{fig("top_per_month.png")}
<p>Top clusters per month (also <a href="top5_per_month.csv">top5_per_month.csv</a>):</p>
{_top_table(d.top, keywords)}
{fig("timelines.png")}</section>
<section id="exemplars"><h2>Exemplars per month</h2>
<p class="muted">For each month its top clusters, with the masked images of that month's posts
closest to the cluster's centre.</p>{exemplars}</section>
<section id="clusters"><h2>Clusters</h2>
<p class="muted">Keywords: {esc(cl.get("keyword_method", ""))}. Full data:
<a href="clusters.json">clusters.json</a>.</p>
{table(summary_head, summary_rows)}
<div class="cards">{cards}</div></section>
<section id="data"><h2>Data and drops</h2>
<h3>Posts dropped or left without text</h3>
<p class="muted">Sources overlap: a post whose image segment dropped is listed again by embed and,
for image features, by reduce.</p>
{table(["source", "reason", "posts"], d.drops.itertuples(index=False))}
<h3>Segmentation</h3>{fig("clothing_share.png")}
{kv_table({k: v for k, v in d.segment_summary.items() if k != "unreadable_post_ids"})}
<h3>Validation</h3>{_validation(d.validation)}</section>
<section id="params"><h2>Params of this run</h2>{_params(d.params)}</section>
</main>"""


def render(d: PageData) -> str:
    """The whole page as one HTML string."""
    body = render_body(d)
    font_css = fonts.web_font_face(body)
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>stylecluster report</title><style>{font_css}\n{CSS}</style></head>"
            f"<body>{body}</body></html>\n")
