"""The report's optional interactive map (`report.interactive`): reports/map.html, the 2-D map of
map2d.png as a plotly scatter, hover shows a post's id, cluster, month and caption, and a small
inline handler on `plotly_hover` shows its thumbnail in a side panel.

Offline and self-contained like index.html: plotly.js (the installed package's copy) is inlined,
the CJK font subset is embedded, nothing is fetched. The thumbnails (at most THUMB_PX) are files
beside the page (`map_thumbs/m<row>.jpg`), not base64 in it: the browser loads one only when its
point is hovered, and the page stays ~5 MB (plotly.js) whatever the number of posts, where
embedding would add ~4 kB per post. Deterministic: a fixed div id, no time stamps, coordinates
rounded, so a re-run writes the same bytes. plotly is imported only when the map is drawn.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from stylecluster import catalog
from stylecluster.errors import DataError
from stylecluster.report import figures, fonts, trend_figures
from stylecluster.report.trends import ImageLoader
from stylecluster.schemas import UNASSIGNED, UNASSIGNED_NAME

THUMB_PX = 96  # the side panel's thumbnail box
CAPTION_CHARS = 120  # caption cut in the hover label and the panel
HOVER_LINE_CHARS = 40  # hover labels do not wrap by themselves
WEBGL_FROM = 10_000  # points; from here Scattergl (WebGL), below it SVG (every point in the DOM)
DIV_ID = "stylecluster-map"  # plotly's default is a random uuid: the bytes would differ per run
NOT_CLUSTERED = "not clustered"  # a map post without a label (e.g. dropped after reduce)

# After Plotly.newPlot; `{plot_id}` is filled by plotly. It runs while the page is being parsed,
# so the handler looks the panel's elements up on each hover (a lookup at attach time found none
# while the panel came after the plot). textContent, never innerHTML: captions are user text.
# customdata per point: [post_id, cluster name, month, caption, thumbnail file].
HOVER_JS = """
document.getElementById('{plot_id}').on('plotly_hover', function (ev) {
  var d = ev.points[0].customdata;
  var img = document.getElementById('map-thumb'), none = document.getElementById('map-nothumb');
  document.getElementById('map-hint').hidden = true;
  document.getElementById('map-info').hidden = false;
  document.getElementById('map-post').textContent = d[0];
  document.getElementById('map-cluster').textContent = d[1];
  document.getElementById('map-month').textContent = d[2];
  document.getElementById('map-caption').textContent = d[3];
  if (d[4]) {
    img.src = 'THUMBS/' + encodeURIComponent(d[4]);
    img.alt = 'thumbnail of ' + d[0];
    img.hidden = false; none.hidden = true;
  } else {
    img.removeAttribute('src'); img.hidden = true; none.hidden = false;
  }
});
""".replace("THUMBS", catalog.REPORT_MAP_THUMBS.name)


@dataclass
class MapPage:
    """map.html and its thumbnails.

    Attributes:
        html: The page.
        thumbs: File name under map_thumbs/ -> (h, w, 3) uint8 image (empty for the placeholder).
        n_points: Points drawn (0 for the placeholder).
    """

    html: str
    thumbs: dict[str, np.ndarray] = field(default_factory=dict)
    n_points: int = 0


def placeholder_page() -> MapPage:
    """The page written when `report.interactive` is false (map.html is a DVC out either way)."""
    return MapPage(_render(plot="", headline="interactive map off", font_css="",
                           message="The interactive map is off. Set report.interactive: true "
                                   "(params.yaml, or dvc exp run -S report.interactive=true) and "
                                   "re-run the report stage; the static map is figures/map2d.png "
                                   "in index.html."))


def map_page(map2d: np.ndarray, map_ids: pd.DataFrame, labels: pd.DataFrame,
             posts: pd.DataFrame, keywords: Sequence[Sequence[str]], load_image: ImageLoader, *,
             progress: bool = False) -> MapPage:
    """The interactive map: one trace per cluster (colours and names as in map2d.png), grey
    traces for the unassigned posts and map posts without a label, and a thumbnail per post with a
    kept image.

    Args:
        map2d: (n, 2) coordinates, row-aligned with `map_ids`.
        map_ids: reduce/ids.parquet (post_id).
        labels: post_id, cluster (-1 = unassigned).
        posts: post_id, month, content (the caption).
        keywords: Per style cluster (0..k-1) its name words (`build._keywords`).
        load_image: post_id -> masked image or None (no kept image).
        progress: A progress bar over the thumbnails.

    Returns:
        A MapPage: html, thumbnails (`m<row>.jpg`), number of points.

    Raises:
        DataError: If `map2d` is not (len(map_ids), 2).
    """
    xy = np.asarray(map2d, dtype=np.float64)  # (n, 2)
    if xy.shape != (len(map_ids), 2):
        raise DataError(f"report: {catalog.MAP2D.label} has shape {xy.shape} but "
                        f"{catalog.FEATURE_IDS.label} has {len(map_ids)} post_ids; expected "
                        f"({len(map_ids)}, 2). Re-run the reduce stage.")
    ids = map_ids["post_id"].astype(str).tolist()
    cluster = map_ids["post_id"].map(labels.set_index("post_id")["cluster"])
    post = posts.set_index("post_id")
    months = map_ids["post_id"].map(post["month"]).fillna("no month").astype(str).tolist()
    captions = [_cut(c) for c in map_ids["post_id"].map(post["content"]).tolist()]
    k = len(keywords)
    names = {c: figures.cluster_name(c, keywords, 2) for c in range(k)}
    names[UNASSIGNED] = UNASSIGNED_NAME
    thumbs: dict[str, np.ndarray] = {}
    files = []
    for row, pid in enumerate(tqdm(ids, desc="report: map thumbnails", unit="img",
                                   disable=not progress)):
        img = load_image(pid)
        files.append("" if img is None else f"m{row}.jpg")
        if img is not None:
            thumbs[files[-1]] = trend_figures.thumbnail(img, THUMB_PX)
    cl = cluster.fillna(-2).to_numpy(dtype=np.int64)  # (n,) -2: not in labels.parquet
    row_names = [names.get(int(c), NOT_CLUSTERED) for c in cl]
    groups = _groups(cl, names)
    traces = [_trace(rows, f"{label} ({len(rows)})", color, rank, xy, ids, row_names, months,
                     captions, files) for label, rows, color, rank in groups]
    plot, font_text = _plot_div(traces, len(ids))
    headline = (f"{len(ids)} posts · {k} clusters"
                + "".join(f" · {len(rows)} {label} (grey)" for label, rows, _, rank in groups
                          if rank > k))
    text = " ".join([headline, *names.values(), *captions, *months, font_text])
    return MapPage(_render(plot=plot, headline=headline, message="",
                           font_css=fonts.web_font_face(text)), thumbs, len(ids))


def _cut(caption: Any) -> str:
    text = "" if caption is None or (isinstance(caption, float) and np.isnan(caption)) \
        else " ".join(str(caption).split())
    return text if len(text) <= CAPTION_CHARS else text[:CAPTION_CHARS - 1] + "…"


def _groups(cl: np.ndarray, names: dict[int, str]) -> list[tuple[str, np.ndarray, str, int]]:
    """(legend label, row indices, colour, legend rank) per trace: the clusters in id order, then
    the unassigned posts and the map posts without a label (grey, drawn first, listed last).

    Args:
        cl: (n,) cluster per map row; -1 unassigned, -2 not in labels.parquet.
        names: cluster -> its name (0..k-1).
    """
    from matplotlib.colors import to_hex

    k = sum(1 for c in names if c >= 0)
    colors = [to_hex(c) for c in figures.cluster_colors(max(k, 1))]
    grey = to_hex(figures.UNCLUSTERED)
    out = [(UNASSIGNED_NAME, np.flatnonzero(cl == UNASSIGNED), grey, k + 1),
           (NOT_CLUSTERED, np.flatnonzero(cl == -2), grey, k + 2)]
    out = [g for g in out if len(g[1])]
    return out + [(names[c], np.flatnonzero(cl == c), colors[c], c) for c in range(k)
                  if (cl == c).any()]


def _trace(rows: np.ndarray, legend: str, color: str, rank: int, xy: np.ndarray,
           ids: list[str], row_names: list[str], months: list[str], captions: list[str],
           files: list[str]) -> dict[str, Any]:
    """One scatter trace as a plain dict (plotly validates it when the figure is built); the
    hover text is escaped (plotly renders a subset of HTML in it), customdata is raw (the panel
    sets textContent)."""
    name_of = [row_names[r] for r in rows]
    hover = [f"<b>{html.escape(ids[r])}</b><br>{html.escape(n)} · {html.escape(months[r])}"
             + "".join(f"<br>{html.escape(captions[r][i:i + HOVER_LINE_CHARS])}"
                       for i in range(0, len(captions[r]), HOVER_LINE_CHARS))
             for r, n in zip(rows, name_of)]
    return {"x": np.round(xy[rows, 0], 4).tolist(), "y": np.round(xy[rows, 1], 4).tolist(),
            "name": legend, "legendrank": rank, "mode": "markers",
            "marker": {"color": color, "size": 7 if len(ids) < 2000 else 4, "opacity": 0.85},
            "text": hover, "hovertemplate": "%{text}<extra></extra>",
            "customdata": [[ids[r], n, months[r], captions[r], files[r]]
                           for r, n in zip(rows, name_of)]}


def _plot_div(traces: list[dict[str, Any]], n: int) -> tuple[str, str]:
    """(the plot's <div> with plotly.js inlined and HOVER_JS attached, the legend's text)."""
    import plotly.graph_objects as go

    scatter = go.Scattergl if n >= WEBGL_FROM else go.Scatter
    family = "ReportCJK, system-ui, sans-serif"
    fig = go.Figure([scatter(**t) for t in traces])
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 36, "b": 10}, hovermode="closest", template="plotly_white",
        font={"family": family}, hoverlabel={"font": {"family": family}, "align": "left"},
        legend={"title": {"text": "cluster (posts)"}, "itemsizing": "constant"},
        xaxis={"showticklabels": False, "title": {"text": "map dimension 1"}, "zeroline": False},
        yaxis={"showticklabels": False, "title": {"text": "map dimension 2"}, "zeroline": False})
    div = fig.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False,
                      div_id=DIV_ID, post_script=HOVER_JS, default_width="100%",
                      default_height="82vh",
                      config={"displaylogo": False, "responsive": True})
    return div, " ".join(t["name"] for t in traces)


def _render(**values: str) -> str:
    from stylecluster.report.page import environment

    return environment().get_template("map.html").render(**values)
