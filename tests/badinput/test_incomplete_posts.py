"""Incomplete posts are posts: text-only and undated posts go through every stage, counted.

A real scrape has posts without an image and posts without a date. This case imports such an
export and runs the eight stage scripts on it (text modality; the `hash` stand-in encoders and
`segment.method: none` keep it fast: the stages' handling of missing parts is under test, not the
models). Every stage must accept them; segment counts the text-only posts as `no_image`; the
undated ones are clustered, left out of the monthly tables and counted in metrics and the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml
from PIL import Image

from tests.harness import run_dvc_stage, scratch_params
from stylecluster import catalog, cli
from tests.conftest import ROOT

STAGES = ["validate", "segment", "preprocess", "embed", "reduce", "select_k", "cluster", "report"]


def _export(folder):
    (folder / "imgs").mkdir(parents=True)
    styles = ["羽绒服 保暖 冬季", "连衣裙 碎花 夏天", "西装 通勤 职场"]
    rows = []
    for i in range(36):
        has_image = i % 6 != 0  # 6 text-only posts
        if has_image:
            Image.new("RGB", (32, 32), (40 * (i % 3), 90, 30)).save(folder / "imgs" / f"{i}.png")
        rows.append({"id": f"n{i:02d}", "text": f"{styles[i % 3]} 第{i}篇",
                     "tags": "#穿搭", "date": "" if i % 7 == 3 else f"2024-{1 + i % 3:02d}-10 12:00",
                     "img": f"{i}.png" if has_image else ""})
    pd.DataFrame(rows).to_csv(folder / "posts.csv", index=False)


def _edit(raw):
    def edit(params):
        params["paths"]["raw"] = str(raw)
        params["segment"]["method"] = "none"
        params["embed"].update(image_encoder="hash", text_encoder="hash")
        params["reduce"].update(modality="text", method="pca", n_components=4)
        params["select_k"].update(k_max=6)
        params["cluster"]["min_month_posts"] = 5  # 31 dated posts over 3 months: measure them all
    return edit


def test_text_only_and_undated_posts_reach_the_report(tmp_path, sentinel):
    _export(sentinel.root / "export")
    raw = sentinel.root / "project" / "raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    assert cli.main(["import", "--posts", str(sentinel.root / "export/posts.csv"), "--images",
                     str(sentinel.root / "export/imgs"), "--map",
                     "post_id=id,content=text,tags=tags,posted_at=date,image_path=img",
                     "--out", str(raw), "--params", str(ROOT / "params.yaml")]) == 0
    params = scratch_params(tmp_path, _edit(raw))
    sentinel.snapshot()
    for stage in STAGES:
        proc = run_dvc_stage(stage, params)
        assert proc.returncode == 0, f"{stage} failed:\n{proc.stderr[-3000:]}"
    paths = yaml.safe_load(params.read_text(encoding="utf-8"))["paths"]
    reports, w = Path(paths["reports"]), {k: Path(v) for k, v in paths.items()}
    sentinel.assert_unchanged()  # the raw folder (inside the sentinel) is byte-identical

    validation = json.loads((reports / catalog.VALIDATION.name).read_text(encoding="utf-8"))
    assert (validation["n_text_only"], validation["n_undated"]) == (6, 5)
    segment = json.loads((w["segment"] / catalog.SEGMENT_SUMMARY.name).read_text(encoding="utf-8"))
    assert segment["dropped_by_reason"]["no_image"] == 6
    labels = pd.read_parquet(w["cluster"] / catalog.LABELS.name)
    assert len(labels) == 36, "text modality: every post, with or without image or date"
    metrics = json.loads((reports / catalog.METRICS.name).read_text(encoding="utf-8"))
    assert metrics["n_undated"] == 5 and metrics["n_months"] == 3 and metrics["n_months_ignored"] == 0
    monthly = pd.read_csv(reports / catalog.MONTHLY.name)
    assert sorted(monthly["month"].unique()) == ["2024-01", "2024-02", "2024-03"]
    clusters = json.loads((reports / catalog.CLUSTERS.name).read_text(encoding="utf-8"))
    assert clusters["n_undated"] == 5 and clusters["n_posts"] == 36
    page = (reports / catalog.REPORT_PAGE.name).read_text(encoding="utf-8")
    assert "undated: clustered, left out of the monthly trends" in page
    assert "no image (text-only post)" in page
