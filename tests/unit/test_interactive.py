"""The interactive map (report/interactive.py, `report.interactive`): points, hover text, the
thumbnails, offline-ness and byte-identical output; its browser test is
tests/integration/test_interactive_map.py."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from stylecluster.config import ReportParams
from stylecluster.errors import DataError
from stylecluster.report import build, interactive
from tests.unit.test_report import loader, make_inputs

KEYWORDS = [["连衣裙"], ["西装"], ["卫衣"], ["大衣"]]
LONG = "长" * 200


def _inputs():
    """60 posts in 4 clusters; 5 of them unassigned (HDBSCAN noise), one with a 200-char
    caption, one without an image."""
    inputs = make_inputs(n=60, k=4, seed=1)
    labels = inputs.labels.copy()
    labels.loc[labels.index[-5:], "cluster"] = -1
    posts = inputs.posts.copy()
    posts.loc[posts.index[0], "content"] = LONG
    return inputs, labels, posts


def _page(inputs, labels, posts):
    images = loader(inputs)
    no_image = inputs.map_ids["post_id"].iloc[1]
    return interactive.map_page(inputs.map2d, inputs.map_ids, labels, posts, KEYWORDS,
                                lambda pid: None if pid == no_image else images(pid))


@pytest.fixture(scope="module")
def drawn():
    inputs, labels, posts = _inputs()
    return inputs, labels, _page(inputs, labels, posts)


def plot_data(page_html: str) -> list[dict]:
    """The traces passed to Plotly.newPlot (plotly's JSON, decoded)."""
    at = page_html.index(f'Plotly.newPlot(                        "{interactive.DIV_ID}",')
    start = page_html.index("[", at)
    return json.JSONDecoder().raw_decode(page_html[start:])[0]


def test_every_map_post_is_one_point_coloured_and_named_by_its_cluster(drawn):
    inputs, labels, page = drawn
    traces = plot_data(page.html)
    assert page.n_points == 60 and sum(len(t["x"]) for t in traces) == 60
    names = [t["name"] for t in traces]
    assert names[0] == "unassigned (5)", names
    assert traces[0]["marker"]["color"] == "#c7c7c7", "unassigned posts are grey"
    assert all(t["type"] == "scatter" for t in traces), "SVG below WEBGL_FROM points"
    sizes = labels["cluster"].value_counts()
    assert names[1:] == [f"c{c} {KEYWORDS[c][0]} ({sizes[c]})" for c in range(4)], names
    ids = [d[0] for t in traces for d in t["customdata"]]
    assert sorted(ids) == sorted(inputs.map_ids["post_id"]), "each post exactly once"
    first = traces[1]  # cluster 0: its first map row is post 0
    row = inputs.map_ids["post_id"].tolist().index(first["customdata"][0][0])
    assert first["x"][0] == pytest.approx(float(inputs.map2d[row, 0]), abs=1e-4)


def test_hover_shows_post_cluster_month_and_a_cut_escaped_caption(drawn):
    inputs, _, page = drawn
    by_id = {d[0]: (d, text) for t in plot_data(page.html)
             for d, text in zip(t["customdata"], t["text"])}
    pid, second = inputs.map_ids["post_id"].iloc[0], inputs.map_ids["post_id"].iloc[2]
    (post, name, month, caption, thumb), text = by_id[pid]
    assert (name, month) == ("c0 连衣裙", inputs.posts.set_index("post_id").loc[pid, "month"])
    assert caption == LONG[:interactive.CAPTION_CHARS - 1] + "…", "caption cut to 120 chars"
    assert text.startswith(f"<b>{pid}</b><br>c0 连衣裙 · {month}<br>") and text.count("<br>") == 2 + 2  # 3 caption lines of 40
    (_, _, _, raw, _), text = by_id[second]
    assert "<b>好看</b>" in raw, "customdata stays raw (the panel sets textContent)"
    assert "&lt;b&gt;好看&lt;&#x2F;b&gt;" in text or "&lt;b&gt;好看&lt;/b&gt;" in text, text
    assert "<b>好看" not in text, "a caption's HTML reached the hover label"
    assert "textContent" in page.html and "innerHTML" not in interactive.HOVER_JS


def test_thumbnails_are_small_and_named_by_map_row(drawn):
    inputs, _, page = drawn
    data = {d[0]: d[4] for t in plot_data(page.html) for d in t["customdata"]}
    ids = inputs.map_ids["post_id"].tolist()
    assert data[ids[1]] == "" and "m1.jpg" not in page.thumbs, "no image: no thumbnail"
    assert data[ids[0]] == "m0.jpg" and len(page.thumbs) == 59
    assert all(max(img.shape[:2]) <= interactive.THUMB_PX for img in page.thumbs.values())
    assert "'map_thumbs/' + encodeURIComponent(d[4])" in page.html


def test_page_is_offline_self_contained_and_the_same_bytes_twice(drawn):
    inputs, labels, page = drawn
    html = page.html
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I), "a script is loaded, not inlined"
    assert not re.search(r"""<(link|img)[^>]*(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert len(html) > 3_000_000 and "Plotly.newPlot" in html, "plotly.js is inlined"
    assert "@font-face" in html and "data:font/woff;base64," in html, "CJK font embedded"
    assert f'id="{interactive.DIV_ID}"' in html and 'href="index.html"' in html
    _, _, posts = _inputs()
    again = _page(inputs, labels, posts)
    assert again.html == html, "map.html differs between two identical runs"
    assert again.thumbs.keys() == page.thumbs.keys()


def test_placeholder_page_and_the_index_link_follow_report_interactive():
    off = interactive.placeholder_page()
    assert "report.interactive: true" in off.html and "<script" not in off.html
    assert off.thumbs == {} and off.n_points == 0
    inputs = make_inputs(n=40, k=3, seed=2)
    rep = build.build(inputs, ReportParams(exemplars_per_cluster=1), loader(inputs))
    assert rep.map_page.html == off.html and 'href="map.html"' not in rep.html
    on = build.build(inputs, ReportParams(exemplars_per_cluster=1, interactive=True),
                     loader(inputs))
    assert on.map_page.n_points == 40 and len(on.map_page.thumbs) == 40
    assert '<a href="map.html">Interactive map</a>' in on.html
    assert "<script" not in on.html.lower(), "index.html stays script-free"


def test_map_shape_mismatch_names_the_files():
    inputs, labels, posts = _inputs()
    with pytest.raises(DataError, match=r"map2d.npy has shape \(59, 2\).*60 post_ids"):
        interactive.map_page(np.asarray(inputs.map2d)[:59], inputs.map_ids, labels, posts,
                             KEYWORDS, loader(inputs))
