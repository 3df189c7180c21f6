"""Report figures: every PNG is valid, of a sane size and not blank; Chinese renders with the
packaged CJK font and no missing-glyph warning; edge cases (no silhouette peak, many clusters)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from stylecluster.report import figures
from stylecluster.report import trend_figures
from stylecluster.report import fonts
from stylecluster import storage
from stylecluster.report import keywords
from stylecluster.report import build, changes, trends
from stylecluster.errors import BackendError, DataError
from tests.unit.test_report import fake_image, make_inputs, shared_report  # noqa: F401

MIN_STD = 8.0  # grey-level standard deviation of a drawn figure; a blank canvas has 0


def check_png(path: Path, min_px: int = 300, max_px: int = 6000) -> np.ndarray:
    """Assert `path` is a PNG of sane size with visible content; return its grey pixels."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        w, h = img.size
        grey = np.asarray(img.convert("L"), dtype=float)
    assert min_px <= w <= max_px and min_px <= h <= max_px, f"{path.name}: {w}x{h} px"
    assert grey.std() > MIN_STD, f"{path.name} looks blank: pixel std {grey.std():.2f}"
    return grey


@pytest.fixture()
def saved(shared_report) -> tuple[Path, build.Report]:
    """The shared synthetic report's figures folder (saved with missing glyphs as errors)."""
    out, _, rep = shared_report
    return out / "figures", rep


def test_every_figure_is_a_sane_nonblank_png(saved):
    out, rep = saved
    expected = {"silhouette.png", "map2d.png", "monthly_proportions.png", "top_per_month.png",
                "timelines.png", "clothing_share.png", "cluster_sizes.png", "small_multiples.png",
                *[f"exemplars_{m}.png" for m in rep.clusters["months"]]}
    assert set(rep.figures) == expected
    for name in sorted(expected):
        check_png(out / name)


def test_figures_are_saved_at_twice_the_page_width(saved):
    """2x DPI: each PNG has twice the pixels of the CSS width the page gives it."""
    out, rep = saved
    for name in ("silhouette.png", "clothing_share.png", "small_multiples.png"):
        with Image.open(out / name) as img:
            width = img.size[0]
        css = f'src="figures/{name}" alt='
        assert css in rep.html, name
        shown = int(rep.html.split(css, 1)[1].split('width="', 1)[1].split('"', 1)[0])
        assert abs(width - 2 * shown) <= 2, f"{name}: {width} px shown at {shown} CSS px"


def test_exemplar_grid_shows_the_masked_images(saved, shared_report):
    out, rep = saved
    grey = check_png(out / f"exemplars_{rep.clusters['months'][0]}.png")
    rgb = np.asarray(Image.open(out / f"exemplars_{rep.clusters['months'][0]}.png").convert("RGB"))
    black = (rgb.sum(axis=2) == 0).mean()
    assert black > 0.05, f"masked images (black backgrounds) cover only {black:.1%} of the grid"
    assert grey.shape[0] > grey.shape[1], "5 rows of 3 images: taller than wide"
    month = rep.clusters["months"][0]
    fig = rep.figures[f"exemplars_{month}.png"]
    top = rep.top_per_month[rep.top_per_month["month"] == month].sort_values("rank")
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert [t.split()[1] for t in titles] == [f"c{c}" for c in top["cluster"]], titles
    _, inputs, _ = shared_report
    cluster_of = dict(zip(inputs.labels["post_id"], inputs.labels["cluster"]))
    month_of = dict(zip(inputs.posts["post_id"], inputs.posts["month"]))
    for sub, c in zip(fig.subfigs, top["cluster"]):
        shown = [ax.get_xlabel() for ax in sub.axes]
        assert shown and all(cluster_of[p] == c and month_of[p] == month for p in shown), shown


def test_chinese_renders_without_missing_glyph_warnings(tmp_path):
    """Built inside the CJK context, saved outside it (as the stage does): no glyph goes missing,
    and the Chinese label really draws ink (a missing glyph would draw an empty box or nothing)."""

    @figures.cjk_figure
    def chinese() -> Figure:
        fig = figures.new_figure(4, 2)
        ax = fig.add_subplot()
        ax.set_title("连衣裙 碎花 法式 · 卫衣 街头 − 10%")
        ax.set_yticks([0, 1], ["西装 通勤", "大衣 羊毛"])
        ax.plot([-1, 1], [0, 1])
        return fig

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = chinese()
        storage.write_figure(fig, tmp_path / "zh.png")
    glyph = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert not glyph, glyph
    check_png(tmp_path / "zh.png", min_px=150)
    title = fig.axes[0].title
    assert title.get_fontproperties().get_family()[0] == "WenQuanYi Micro Hei"

    # The same label with matplotlib's default font does warn: the check above can fail.
    plain = Figure(figsize=(4, 2))
    FigureCanvasAgg(plain)
    plain.add_subplot().set_title("连衣裙")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain.savefig(tmp_path / "plain.png")
    assert any("Glyph" in str(w.message) for w in caught), "DejaVu Sans unexpectedly has 连"


def test_missing_font_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(fonts, "FONT_PACKAGES", (("no-such-font-pkg", "x.ttf", "X"),))
    fonts._find_font.cache_clear()
    try:
        with pytest.raises(BackendError, match=r"no-such-font-pkg \(not installed\).*pip install"):
            fonts.cjk_font_path()
    finally:
        fonts._find_font.cache_clear()


def test_silhouette_without_peak_is_annotated(tmp_path):
    curve = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.2, 0.18, 0.15, 0.1],
                          "davies_bouldin": [1.0, 1.1, 1.2, 1.3],
                          "calinski_harabasz": [50.0, 40, 30, 20],
                          "silhouette_std": [0.01, 0.01, 0.02, 0.01]})
    fig = figures.plot_silhouette(curve, {"best_k": 2, "prominence": 0.0, "has_peak": False,
                                          "rule": "prominence"})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("no clear silhouette peak" in t and "silhouette argmax" in t for t in texts), texts
    stab = figures.plot_silhouette(curve.assign(stability=[0.9, 0.6, 0.95, 0.7],
                                                stability_std=0.05),
                                   {"best_k": 4, "prominence": 0.0, "has_peak": False,
                                    "chosen_by": "stability peak"})
    assert any("k from the stability peak" in t.get_text() for t in stab.axes[0].texts)
    assert "stability" in stab.axes[-1].get_ylabel() and "stability peak" in stab.axes[0].get_title()
    storage.write_figure(fig, tmp_path / "s.png")
    check_png(tmp_path / "s.png")
    peak = figures.plot_silhouette(curve.assign(silhouette=[0.1, 0.3, 0.2, 0.1]),
                                   {"best_k": 3, "prominence": 0.2, "has_peak": True})
    texts = [t.get_text() for t in peak.axes[0].texts]
    assert "prominence 0.200" in texts and not any("no clear" in t for t in texts), texts


def test_silhouette_figure_gets_a_bic_panel_with_gmm(tmp_path):
    curve = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.2, 0.4, 0.3, 0.25],
                          "davies_bouldin": [1.0, 0.8, 1.2, 1.3],
                          "calinski_harabasz": [50.0, 60, 30, 20]})
    selection = {"best_k": 4, "prominence": 0.0, "has_peak": False, "rule": "bic",
                 "chosen_by": "bic minimum"}
    plain = figures.plot_silhouette(curve, selection)
    assert [a.get_title(loc="center")[:5] for a in plain.axes[1:]] == ["Davie", "Calin"]
    fig = figures.plot_silhouette(curve.assign(bic=[300.0, 250, 200, 240]), selection)
    bic_ax = fig.axes[-1]
    assert len(fig.axes) == 4 and "BIC" in bic_ax.get_title(), [a.get_title() for a in fig.axes]
    assert [a.get_title()[:5] for a in fig.axes[1:3]] == ["Davie", "Calin"]
    curves = [line for line in bic_ax.lines if len(line.get_xdata()) == 4]
    assert len(curves) == 1 and list(curves[0].get_ydata()) == [300.0, 250, 200, 240]
    marks = [(line.get_xdata()[0], line.get_ydata()[0]) for line in bic_ax.lines
             if line not in curves]
    assert (4, 200.0) in marks and (4, 0) in marks, marks  # chosen k: a ring and a vertical line
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("k from the bic minimum" in t and "fallback" not in t for t in texts), texts
    assert "bic minimum" in fig.axes[0].get_title()
    storage.write_figure(fig, tmp_path / "s.png")
    check_png(tmp_path / "s.png")


def test_many_clusters_and_months_stay_readable(tmp_path):
    """k = 25 over 13 months: colours cycle, the timeline grows, figures stay within bounds."""
    months = tuple(str(p) for p in pd.period_range("2023-11", periods=13, freq="M"))
    inputs = make_inputs(n=250, k=25, seed=11, months=months)
    table = trends.join_posts(inputs.labels, inputs.posts, inputs.texts)
    monthly = trends.monthly_proportions(table, 25)
    kw = keywords.cluster_keywords(table, 25, 3)
    for name, fig in {
        "monthly.png": trend_figures.plot_monthly(monthly, kw),
        "timeline.png": trend_figures.plot_timeline(monthly, trends.month_range(months),
                                                     kw),
        "map.png": figures.plot_map(inputs.map2d, inputs.map_ids, inputs.labels, kw),
        "sizes.png": figures.plot_sizes(np.bincount(inputs.labels["cluster"]), inputs.metrics),
        "multiples.png": trend_figures.plot_small_multiples(
            changes.monthly_counts(table, 25), trends.month_range(months), kw, 20),
    }.items():
        storage.write_figure(fig, tmp_path / name)
        check_png(tmp_path / name)
    colors = figures.cluster_colors(25)
    assert len(set(colors[:20])) == 20 and colors[20] == colors[0]
    assert figures.cluster_colors(3) == figures.cluster_colors(10)[:3]


def test_timeline_marks_months_without_posts(tmp_path):
    monthly = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-04", "2024-04"],
                            "cluster": [0, 1, 0, 1], "share": [0.7, 0.3, 0.2, 0.8]})
    fig = trend_figures.plot_timeline(monthly, trends.month_range(["2024-01", "2024-04"]),
                                       [["甲"], ["乙"]])
    assert "grey: no posts" in fig.axes[0].get_title()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["2024-01", "2024-02", "2024-03", "2024-04"], labels


def test_map_rejects_misaligned_coordinates():
    inputs = make_inputs(n=30, k=3)
    with pytest.raises(DataError, match=r"map2d.npy has shape \(29, 2\) .* 30 post_ids"):
        figures.plot_map(inputs.map2d[:29], inputs.map_ids, inputs.labels, [[]] * 3)


def test_exemplars_with_missing_images(tmp_path):
    rows = [trends.ExemplarRow(1, 0, 0.5, ["连衣裙"], ["p1"], [fake_image("p0001", 0)]),
            trends.ExemplarRow(2, 1, 0.3, [], [], [])]
    fig = trend_figures.plot_exemplars("2024-01", rows, 3)
    storage.write_figure(fig, tmp_path / "e.png")
    check_png(tmp_path / "e.png")
    cells = [[t.get_text() for ax in sub.axes for t in ax.texts] for sub in fig.subfigs]
    assert cells == [["no image", "no image"], ["no image"] * 3], cells
    assert [ax.get_xlabel() for ax in fig.subfigs[0].axes] == ["p1", "", ""]


def test_small_multiples_mark_small_months_and_gaps(tmp_path):
    table = pd.DataFrame({"month": ["2024-01"] * 30 + ["2024-03"] * 5,
                          "cluster": [0] * 20 + [1] * 10 + [0] * 5})
    counts = changes.monthly_counts(table, 2)
    months = trends.month_range(["2024-01", "2024-03"])
    fig = trend_figures.plot_small_multiples(counts, months, [["甲"], ["乙"]], min_month_posts=20)
    storage.write_figure(fig, tmp_path / "m.png")
    check_png(tmp_path / "m.png")
    assert "hollow point: a month with fewer than 20 posts" in fig._suptitle.get_text()
    panel = fig.axes[0]
    line, hollow = panel.lines[:2]
    assert np.isnan(line.get_ydata()[1]), "a month without posts is a gap in the line"
    assert list(hollow.get_xdata()) == [2] and hollow.get_markerfacecolor() == "white"
    labels = [t.get_text() for t in panel.get_xticklabels()]
    assert labels == months, labels
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["c0 甲", "c1 乙"]


def test_small_multiples_cap_the_number_of_panels():
    table = pd.DataFrame({"month": ["2024-01"] * 30, "cluster": np.arange(30) % 30})
    fig = trend_figures.plot_small_multiples(changes.monthly_counts(table, 30), ["2024-01"],
                                             [[]] * 30)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == trend_figures.MAX_PANELS
    assert f"the {trend_figures.MAX_PANELS} largest of 30 clusters" in fig._suptitle.get_text()


def test_sparkline_geometry():
    from stylecluster.report.sparkline import sparkline

    s = sparkline([0.1, 0.4, 0.2], width=100, height=20, pad=2)
    assert s.points == "2,14 50,2 98,10", s.points  # y: 0 at the bottom, the max at the top
    assert s.peak == (50.0, 2.0) and s.last == (98.0, 10.0) and s.top == 0.4
    flat = sparkline([0.0, 0.0], width=100, height=20, pad=2)
    assert flat.points == "2,18 98,18", "an all-zero series lies on the bottom"
    one = sparkline([0.3], width=100, height=20, pad=2)
    assert one.points == "2,2 98,2" and one.last == (98.0, 2.0)
    with pytest.raises(ValueError, match="no values"):
        sparkline([])


def test_thumbnails_are_written_deterministically_and_stale_ones_removed(tmp_path):
    from stylecluster.storage.report_files import write_thumbnails

    thumbs = {"c0_1.jpg": trend_figures.thumbnail(fake_image("p0001", 0), 240),
              "c1_1.jpg": trend_figures.thumbnail(fake_image("p0002", 1), 240)}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "c9_1.jpg").write_bytes(b"stale")
    write_thumbnails(thumbs, tmp_path / "a")
    write_thumbnails(thumbs, tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["c0_1.jpg", "c1_1.jpg"]
    for name in thumbs:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        with Image.open(tmp_path / "a" / name) as img:
            assert img.format == "JPEG" and img.size == (120, 160)  # never enlarged
            assert not img.info.get("exif"), "no metadata in the thumbnails"
    with pytest.raises(ValueError, match="names must be plain"):
        write_thumbnails({"x.png": thumbs["c0_1.jpg"]}, tmp_path / "c")
