"""report.interactive: true through the stage script, then map.html in a real headless Chromium:
the plot renders every post as a point, hovering one (a real mouse move) fills the side panel with
its caption and loads its thumbnail, nothing leaves file:// and the console stays clean."""

from __future__ import annotations


import pytest
import yaml

from stylecluster import catalog
from stylecluster.report.interactive import DIV_ID
from tests.browser import headless_chromium, wait_for
from tests.harness import run_stage
from tests.unit.test_report import ROOT, make_inputs, write_upstream


@pytest.mark.slow
def test_interactive_map_renders_and_hover_shows_the_thumbnail(tmp_path):
    inputs = make_inputs(n=40, months=("2024-01", "2024-02"), k=4, seed=3)
    paths = write_upstream(tmp_path, inputs)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["report"] = {**params["report"], "exemplars_per_cluster": 1, "interactive": True}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                          encoding="utf-8")
    flags = [part for flag, path in paths.items() for part in (f"--{flag}", path)]
    proc = run_stage("report", *flags, params=tmp_path / "params.yaml", timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = paths["out"]
    thumbs = sorted(p.name for p in (out / "map_thumbs").iterdir())
    assert len(thumbs) == 40 and "interactive map: 40 points" in proc.stderr, proc.stderr[-500:]
    assert 'href="map.html"' in (out / catalog.REPORT_PAGE.name).read_text(encoding="utf-8")

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver = headless_chromium(tmp_path / "chromium-profile", window="1400,1000")
    try:
        driver.get((out / catalog.REPORT_MAP.name).as_uri())
        wait_for(driver, "var gd = document.getElementById(arguments[0]); return !!(gd && "
                         "gd._fullLayout && gd.querySelector('.scatterlayer .point'))",
                 DIV_ID, timeout=30, poll=0.2)
        n_points, n_svg = driver.execute_script(
            "var gd = document.getElementById(arguments[0]);"
            "return [gd.querySelectorAll('.scatterlayer .point').length,"
            "gd.querySelectorAll('svg.main-svg').length]", DIV_ID)
        assert n_points == 40 and n_svg >= 1, (n_points, n_svg)
        # A real mouse move onto cluster 0's first point: Plotly.Fx.hover draws the label but
        # emits no plotly_hover without a DOM event target, so the panel would never see it.
        trace = driver.execute_script(
            "var gd = document.getElementById(arguments[0]);"
            "return gd.data.findIndex(t => t.name.startsWith('c0 '))", DIV_ID)
        point = driver.find_elements(By.CSS_SELECTOR, f"#{DIV_ID} .scatterlayer .trace")[
            trace].find_element(By.CSS_SELECTOR, ".point")
        ActionChains(driver).move_to_element(point).perform()
        post = driver.execute_script(
            "return document.getElementById(arguments[0]).data[arguments[1]].customdata[0]",
            DIV_ID, trace)
        wait_for(driver, "var i = document.getElementById('map-thumb');"
                         "return !i.hidden && i.complete && i.naturalWidth > 0", timeout=10)
        img = driver.execute_script(
            "var i = document.getElementById('map-thumb'); var r = i.getBoundingClientRect();"
            "return [i.getAttribute('src'), i.naturalWidth, i.naturalHeight, r.width, i.hidden]")
        assert img[0] == f"map_thumbs/{post[4]}" and img[1] > 0 and img[3] > 20 and not img[4], img
        panel = driver.execute_script(
            "return ['map-post', 'map-cluster', 'map-month', 'map-caption']"
            ".map(id => document.getElementById(id).textContent)")
        assert panel == post[:4], (panel, post)
        assert "<b>好看</b>" in panel[3] or not panel[3], "the caption shows as text"
        label = driver.execute_script(
            "return Array.from(document.querySelectorAll('.hoverlayer .hovertext'))"
            ".map(e => e.textContent)")
        assert label and post[0] in label[0], label
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        outside = [r for r in resources if not r.startswith(("file://", "data:"))]
        assert not outside, f"requests leaving the file system: {outside}"
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert not errors, f"console errors: {errors}"
        shot = tmp_path / "screenshot_map.png"
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")
    finally:
        driver.quit()
