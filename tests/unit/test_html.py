"""The HTML report: escaping and offline-ness of the markup, and a real headless Chromium that loads
the page from the file system, sees every image load and no request leave file://. The screenshot
is kept beside the test's report in pytest's temporary folder; its path is printed (pytest -s)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from stylecluster import catalog
from stylecluster.report import page
from stylecluster.report import build, changes
from stylecluster.report.verdict import Finding
from tests.browser import headless_chromium, wait_for
from tests.unit.test_report import shared_report  # noqa: F401


@pytest.fixture()
def written(shared_report) -> tuple[Path, build.Report]:
    """The shared synthetic report, written as the stage writes it (see test_report)."""
    return shared_report[0], shared_report[2]


def test_page_links_every_figure_and_table(written):
    out, rep = written
    html = rep.html
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert sorted(srcs) == sorted([*(f"figures/{n}" for n in rep.figures),
                                   *(f"thumbs/{n}" for n in rep.thumbs)]), srcs
    for src in srcs:
        assert (out / src).is_file(), f"{src} does not exist beside the page"
    for name in (catalog.MONTHLY.name, catalog.TOP_PER_MONTH.name, catalog.CLUSTERS.name):
        assert f'href="{name}"' in html
    for section in ("summary", "metrics", "selection", "map", "trends", "exemplars", "clusters",
                    "data", "params"):
        assert f'id="{section}"' in html


def test_page_is_offline_and_escapes_user_text(written):
    _, rep = written
    html = rep.html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I), \
        "a src/href leaves the file system"
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "&lt;b&gt;好看&lt;/b&gt;" in html, "caption HTML must be escaped"
    assert "&lt;script&gt;x&lt;/script&gt;" in html, "params must be escaped"
    assert "@font-face" in html and "data:font/woff;base64," in html


def test_page_shows_the_run_facts(written):
    _, rep = written
    html = rep.html
    for text in ("low_clothing_share", "no text after cleaning", "no image embedding",
                 "expect_column_values_to_be_unique", "largest_cluster_share", "top_n_coverage_mean",
                 "majority label", "连衣裙", "c-TF-IDF"):
        assert text in html, f"{text!r} not in the page"


def test_fmt():
    assert page.fmt(None) == "—" and page.fmt(0.123456) == "0.1235" and page.fmt(True) == "yes"
    assert page.fmt(float("nan")) == "—" and page.fmt([1, "a"]) == "1, a"


EVIL = "<script>alert(1)</script> & co"


def small_page_data(**changes) -> page.PageData:
    """A small PageData by hand: one month, one cluster whose caption and keyword are `EVIL`."""
    cluster = {"cluster": 0, "name": EVIL, "named_by": "analyst", "size": 3, "share": 1.0, "peak_month": "2024-01", "peak_share": 1.0,
               "lifetime_months": 1, "months_present": 1, "median_chars": 12.0,
               "keywords": [EVIL, "连衣裙"], "rake_keywords": ["碎花"],
               "examples": [{"post_id": "p1", "month": "2024-01", "text": EVIL, "distance": 0.1}]}
    data = {
        "monthly": pd.DataFrame({"month": ["2024-01"], "cluster": [0], "share": [1.0]}),
        "top": pd.DataFrame({"month": ["2024-01"], "rank": [1], "cluster": [0], "share": [1.0]}),
        "clusters": {"n_posts": 3, "n_clusters": 1, "months": ["2024-01"],
                     "keyword_method": "c-TF-IDF", "clusters": [cluster]},
        "trends": {"n_months": 1}, "drops": pd.DataFrame({"source": ["validate"],
                                                          "reason": [EVIL], "n_posts": [1]}),
        "metrics": {"silhouette": 0.5}, "selection": {"best_k": 1, "warnings": [EVIL]},
        "validation": {"success": True}, "segment_summary": {"method": "mediapipe"},
        "params": {"report": {"top_n": 5}, "note": EVIL},
        "figures": ["silhouette.png"], "exemplar_figures": {"2024-01": "exemplars_2024-01.png"},
    }
    return page.PageData(**{**data, **changes})


def test_rendered_page_escapes_data_and_keeps_its_sections():
    html = page.render(small_page_data())
    assert "<script" not in html.lower() and "alert(1)</script>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
    # caption, keyword, drop reason, select_k warning and params value: each escaped
    assert html.count(escaped) >= 6, html.count(escaped)  # the analyst's cluster name too
    assert f'<span class="kw">{escaped}</span>' in html
    assert f"<li>{escaped} " in html
    assert " & co" not in html, "a bare & reached the page"
    for heading in ("Metrics", "Choice of k", "Map of the posts", "Monthly trends",
                    "Exemplars per month", "Clusters", "Data and drops", "Params of this run"):
        assert f"<h2>{heading}</h2>" in html, heading
    assert 'id="cluster-0"' in html and f"<h3>Cluster c0 · {escaped}</h3>" in html
    assert '<img src="figures/silhouette.png"' in html
    assert '<img src="figures/exemplars_2024-01.png"' in html
    assert "map2d.png" not in html, "a figure that was not drawn is linked"
    assert "@font-face" in html, "the page's Chinese needs the embedded font"
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")


def _summary(**overrides) -> page.Summary:
    """A Summary for `small_page_data`'s one cluster over two months."""
    counts = pd.DataFrame({"month": ["2024-01", "2024-02"], "cluster": [0, 0], "n_posts": [2, 1],
                           "month_posts": [2, 1], "share": [1.0, 1.0]})
    data = {"findings": [Finding("warn", "No clear silhouette peak", EVIL)],
            "trends": changes.cluster_trends(counts, 1), "movers": changes.movers(counts, 1),
            "thumbs": {0: ["c0_1.jpg"]}, "min_month_posts": 1, "colors": {0: "#1f77b4"}}
    return page.Summary(**{**data, **overrides})


def test_summary_band_shows_verdict_cards_and_movers_escaped():
    html = page.render(small_page_data(summary=_summary()))
    band = html.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"
    assert '<p class="finding warn"><b>No clear silhouette peak.</b> ' + escaped in band
    assert f"c0 · {escaped}" in band, "the card names the cluster (escaped)"
    assert '<img src="thumbs/c0_1.jpg"' in band
    assert '<svg class="spark"' in band and "<polyline points=" in band
    assert "+0.0 pp" in band and "Rising / falling this month" in band
    assert "<th>2024-01</th><th>2024-02</th>" in band
    assert "<script" not in html.lower()
    counts = pd.DataFrame({"month": ["2024-01"], "cluster": [0], "n_posts": [2],
                           "month_posts": [2], "share": [1.0]})
    one = page.render(small_page_data(summary=_summary(
        trends=changes.cluster_trends(counts, 20), movers=changes.movers(counts, 20),
        min_month_posts=20, thumbs={})))
    assert "Fewer than two months have at least 20 posts" in one
    assert "no kept images" in one and "—" in one.split('id="summary"', 1)[1]


def test_template_names_must_exist():
    """StrictUndefined: a value the template uses but the context lacks is an error, not ''."""
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        page.environment().get_template("body.html").render({"headline": "x"})


@pytest.mark.slow
def test_page_in_headless_chromium(written, tmp_path):
    out, rep = written
    driver = headless_chromium(tmp_path / "chromium-profile")
    try:
        driver.get((out / catalog.REPORT_PAGE.name).as_uri())
        wait_for(driver, "return document.readyState === 'complete' && "
                         "Array.from(document.images).every(i => i.complete)", poll=0.2)
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth])")
        assert len(images) == len(rep.figures) + len(rep.thumbs), images
        broken = [src for src, width in images if not width]
        assert not broken, f"images that did not load: {broken}"
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        outside = [r for r in resources if not r.startswith(("file://", "data:"))]
        assert not outside, f"requests leaving the file system: {outside}"
        status = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "document.fonts.ready.then(() => done([document.fonts.status, "
            "Array.from(document.fonts).map(f => f.family + ':' + f.status)]))")
        assert status[0] == "loaded" and "ReportCJK:loaded" in status[1], status
        assert driver.execute_script("return document.fonts.check('16px ReportCJK', '连衣裙')")
        band = driver.execute_script(
            "const b = document.getElementById('summary'); const r = b.getBoundingClientRect();"
            "return [r.top, r.width, r.height, b.querySelectorAll('.finding').length,"
            "b.querySelectorAll('.stylecard').length, b.querySelectorAll('.stylecard svg').length,"
            "b.querySelectorAll('table.movers tbody tr').length, b.innerText.length,"
            "getComputedStyle(b).visibility, getComputedStyle(b).display]")
        top, width, height, n_findings, n_cards, n_sparks, n_movers, n_text, vis, disp = band
        k = rep.clusters["n_clusters"]
        assert top < 200 and width > 600 and height > 300, f"summary band box {band}"
        assert vis == "visible" and disp != "none" and n_text > 200, band
        assert n_findings >= 2 and n_cards == k and n_sparks == k and n_movers == k, band
        thumbs = driver.execute_script(
            "return Array.from(document.querySelectorAll('#summary .thumbs img'))"
            ".map(i => [i.getAttribute('src'), i.getBoundingClientRect().height])")
        assert len(thumbs) == len(rep.thumbs) and all(h > 40 for _, h in thumbs), thumbs
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        shot = tmp_path / "screenshot_index.png"  # kept in pytest's basetemp (last 3 runs)
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
    finally:
        driver.quit()


def test_embedded_font_subset_is_reproducible(monkeypatch):
    """The same characters give the same @font-face bytes at any time (dvc.lock stays clean)."""
    import base64
    import io as _io

    from fontTools.misc import timeTools
    from fontTools.ttLib import TTFont

    from stylecluster.report import fonts

    def face_at(now: float) -> str:
        monkeypatch.setattr(timeTools.time, "time", lambda: now)
        fonts._font_face.cache_clear()
        return fonts._font_face("连衣裙风衣", "ReportCJK")

    first, later = face_at(1.7e9), face_at(1.9e9)
    assert first == later, "the subset's bytes depend on the clock"
    data = base64.b64decode(re.search(r"base64,([^)]+)\)", first).group(1))
    subset = TTFont(_io.BytesIO(data))
    source = TTFont(str(fonts._find_font()[0]), fontNumber=0)
    assert subset["head"].modified == source["head"].modified
    assert {ord(c) for c in "连衣裙风衣"} <= set(subset.getBestCmap())


def test_segmentation_shows_which_path_made_each_mask():
    """segment.method auto: the person-mask sources as their own table (sources with no image left
    out), not as a dict in the key/value table."""
    seg = {"method": "auto", "n_images": 5, "mask_source": {"alpha": 3, "mediapipe": 2, "none": 0},
           "kept_by_mask_source": {"alpha": 3, "mediapipe": 1, "none": 0}}
    html = page.render(small_page_data(segment_summary=seg))
    section = html[html.index("<h3>Segmentation</h3>"):html.index("<h3>Validation</h3>")]
    assert "person mask from" in section
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    assert cells[:6] == ["alpha", "3", "3", "mediapipe", "2", "1"], cells[:8]
    assert "kept_by_mask_source" not in section and '"alpha"' not in section
    assert "person mask from" not in page.render(small_page_data())
    assert "alpha where there is one, from mediapipe elsewhere" in section


def test_mask_source_note_follows_the_segment_method():
    """The line above the table says what the run's method did: mediapipe ignores alpha."""
    seg = {"method": "mediapipe", "n_images": 2, "mask_source": {"alpha": 0, "mediapipe": 2},
           "kept_by_mask_source": {"mediapipe": 2}}
    html = page.render(small_page_data(segment_summary=seg))
    section = html[html.index("<h3>Segmentation</h3>"):html.index("<h3>Validation</h3>")]
    assert "every person mask from mediapipe, alpha or not" in section
    assert "takes the person mask from a transparent" not in section
