"""Stage-script tests (integration tier) for report; pure tests live in tests/unit/test_report.py."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from stylecluster import catalog
from tests.harness import run_stage
from tests.unit.test_report import ROOT, make_inputs, write_upstream


def run_stage_script(paths: dict[str, Path], params: Path) -> subprocess.CompletedProcess:
    flags = [part for flag, path in paths.items() for part in (f"--{flag}", path)]
    return run_stage("report", *flags, params=params, timeout=180)


def test_stage_script_end_to_end(tmp_path):
    inputs = make_inputs(n=40, months=("2024-01", "2024-02"), k=4, seed=3)
    paths = write_upstream(tmp_path, inputs)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["report"] = {"top_n": 3, "exemplars_per_cluster": 2, "texts_per_cluster": 4,
                        "n_keywords": 5}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                          encoding="utf-8")
    stale = paths["out"] / "figures" / "exemplars_1999-01.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    start = time.perf_counter()
    proc = run_stage_script(paths, tmp_path / "params.yaml")
    took = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = paths["out"]
    for name in (catalog.REPORT_PAGE.name, catalog.MONTHLY.name, catalog.TOP_PER_MONTH.name,
                 catalog.CLUSTERS.name, catalog.TRENDS.name, catalog.MEMBERSHIP_CSV.name,
                 catalog.MEMBERSHIP_XLSX.name):
        assert (out / name).is_file(), f"{name} missing; stderr: {proc.stderr[-2000:]}"
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert "exemplars_1999-01.png" not in figs, "a stale figure survived"
    assert {"silhouette.png", "map2d.png", "monthly_proportions.png", "top_per_month.png",
            "timelines.png", "clothing_share.png", "cluster_sizes.png", "small_multiples.png",
            "exemplars_2024-01.png", "exemplars_2024-02.png"} == set(figs)
    thumbs = sorted(p.name for p in (out / "thumbs").iterdir())
    assert thumbs and all(t.endswith(".jpg") for t in thumbs), thumbs
    members = pd.read_csv(out / catalog.MEMBERSHIP_CSV.name, encoding="utf-8-sig")
    assert len(members) == 40 and members["cluster_name"].notna().all()
    sheet = pd.read_excel(out / catalog.MEMBERSHIP_XLSX.name, sheet_name="posts")
    assert list(sheet.columns) == list(members.columns) and len(sheet) == len(members)
    assert sheet["cluster_name"].tolist() == members["cluster_name"].tolist()
    assert sheet["content"].fillna("").tolist() == members["content"].fillna("").tolist()
    monthly = pd.read_csv(out / catalog.MONTHLY.name)
    assert np.allclose(monthly.groupby("month")["share"].sum(), 1.0)
    top = pd.read_csv(out / catalog.TOP_PER_MONTH.name)
    assert top.groupby("month").size().max() == 3, "report.top_n from --params was not used"
    clusters = json.loads((out / catalog.CLUSTERS.name).read_text(encoding="utf-8"))
    assert all(len(c["keywords"]) <= 5 and len(c["examples"]) <= 4 for c in clusters["clusters"])
    page = (out / catalog.REPORT_PAGE.name).read_text(encoding="utf-8")
    assert "&lt;b&gt;好看&lt;/b&gt;" in page and "<b>好看" not in page, "captions unescaped"
    assert "report: 40 posts, 4 clusters, 2 months" in proc.stderr, proc.stderr[-1000:]
    assert all(f'src="thumbs/{t}"' in page for t in thumbs) and 'id="summary"' in page
    print(f"stage script took {took:.1f} s")
    # a re-run writes the same bytes (no time stamps in PNG, JPEG, HTML, CSV, JSON or the .xlsx)
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    (out / "thumbs" / "c99_1.jpg").write_bytes(b"stale")
    again = run_stage_script(paths, tmp_path / "params.yaml")
    assert again.returncode == 0, again.stderr[-3000:]
    second = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert sorted(first) == sorted(second), "a stale thumbnail survived or a file went missing"
    changed = [str(p) for p in first if first[p] != second[p]]
    assert not changed, f"not byte-identical on re-run: {changed}"


def test_stage_script_fails_cleanly_on_missing_input(tmp_path):
    inputs = make_inputs(n=30, k=3)
    paths = write_upstream(tmp_path, inputs)
    (paths["cluster"] / catalog.LABELS.name).unlink()
    proc = run_stage_script(paths, ROOT / "params.yaml")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "labels.parquet: file not found" in proc.stderr
