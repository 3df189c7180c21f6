"""Render the experiment comparison: Markdown and HTML tables, and the silhouette-curve overlay.

Pure: takes the table `stylecluster.experiments.compare.build_table` made and returns text or a Figure;
`stylecluster.experiments.run` writes them to reports/compare/.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from stylecluster.experiments.compare import Thresholds

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def to_markdown(table: pd.DataFrame, hint: str, thresholds: Thresholds) -> str:
    """The table as GitHub Markdown, with the thresholds and the apply hint."""
    cols = list(table.columns)
    lines = ["# Experiment comparison", "", hint, "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_cell(row[c]).replace("|", "\\|") for c in cols) + " |")
    lines += ["", "Criteria: " + _criteria(thresholds), "",
              "![silhouette curves](silhouette_overlay.png)", ""]
    return "\n".join(lines)


def _criteria(t: Thresholds) -> str:
    peak = ("has_peak (select_k.min_prominence)" if t.min_prominence is None
            else f"has_peak and prominence >= {t.min_prominence:g}")
    return (f"peak = {peak}; balanced = "
            f"largest_cluster_share <= {t.max_largest_share:g} and worst_month_top_share <= "
            f"{t.max_month_share:g}; coherent = ARI >= {t.min_ari:g} and NMI >= {t.min_nmi:g} "
            f"(labels) or keyword_purity >= {t.min_keyword_purity:g}.")


def to_html(table: pd.DataFrame, hint: str, thresholds: Thresholds) -> str:
    """A standalone HTML page: the table (verdict cells coloured), criteria and the overlay."""
    colours = {"pass": "#d4f4d2", "fail": "#f8d3d0", "failed": "#f8d3d0", "success": "#d4f4d2"}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for _, row in table.iterrows():
        cells = []
        for c in table.columns:
            text = _cell(row[c])
            style = f' style="background:{colours[text]}"' if text in colours else ""
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>stylecluster: experiment comparison</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}} th{{background:#eee}}</style>
</head><body>
<h1>Experiment comparison</h1>
<p>{html.escape(hint)}</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<p>Criteria: {html.escape(_criteria(thresholds))}</p>
<img src="silhouette_overlay.png" alt="silhouette curves of all experiments">
</body></html>
"""


def overlay_figure(curves: Mapping[str, pd.DataFrame], chosen: Mapping[str, Any]) -> Figure:
    """The silhouette curves of all experiments in one axes, each chosen k marked.

    Args:
        curves: Experiment name -> its silhouette.csv (columns k, silhouette).
        chosen: Experiment name -> its best_k (None: not marked).

    Returns:
        A Figure (Agg canvas attached); an empty axes says so when there is no curve.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, curve in curves.items():
        (line,) = ax.plot(curve["k"], curve["silhouette"], marker=".", label=name)
        k = chosen.get(name)
        hit = curve[curve["k"] == k] if k is not None else curve.iloc[0:0]
        if not hit.empty:
            ax.plot(hit["k"], hit["silhouette"], marker="o", markersize=10, fillstyle="none",
                    color=line.get_color())
    if not curves:
        ax.text(0.5, 0.5, "no successful experiment", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("k (number of clusters)")
    ax.set_ylabel("silhouette")
    ax.set_title(f"Silhouette curves of {len(curves)} experiment(s); circles: chosen k")
    if curves:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
