"""The record format of benchmarks/run.py: a tiny `--quick` run; no timing is asserted.

Benchmarks are not tests: nothing here checks a speed or a target, only that the script runs and
writes bench.json / bench.md with the documented fields.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench  # runs benchmarks/run.py --quick; deselect with -m 'not bench'
ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"
COMMON = ("name", "n", "median_s", "min_s", "max_s", "peak_rss_mb")
COMPARED = ("baseline", "baseline_median_s", "ratio", "target_ratio", "met")

sys.path.insert(0, str(ROOT / "benchmarks"))
import _common  # noqa: E402
import run as bench_run  # noqa: E402


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[list[dict], str, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, str(RUN), "--quick", "--only", "select_k",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, f"rc {proc.returncode}\n{proc.stderr[-3000:]}"
    records = json.loads((out / "bench.json").read_text())
    return records, (out / "bench.md").read_text(), proc


def test_quick_run_writes_env_header_first(quick):
    records, _, _ = quick
    env = records[0]
    assert env["name"] == "env", records[0]
    for key in ("loadavg_start", "loadavg_end", "OPENBLAS_CORETYPE", "threadpools", "versions",
                "cpu_count", "mode", "repeats"):
        assert key in env, f"env record lacks {key}: {sorted(env)}"
    assert env["mode"] == "quick" and env["repeats"] == 1, env
    assert isinstance(env["threadpools"], list), env["threadpools"]


def test_quick_select_k_record_has_common_and_baseline_fields(quick):
    records, _, _ = quick
    rec = next(r for r in records if r["name"].startswith("select_k/"))
    for key in COMMON + COMPARED + ("baseline_k_measured", "baseline_extrapolation", "repeats"):
        assert key in rec, f"select_k record lacks {key}: {sorted(rec)}"
    assert rec["n"] == bench_run.QUICK["selk_n"], rec["n"]
    assert rec["min_s"] <= rec["median_s"] <= rec["max_s"], rec
    assert rec["peak_rss_mb"] > 10, f"peak RSS of a python worker is {rec['peak_rss_mb']} MB"
    assert rec["ratio"] == pytest.approx(rec["baseline_median_s"] / rec["median_s"], rel=0.02, abs=0.006), rec  # ratio is rounded to 2 decimals
    assert "error" not in rec, rec.get("error")


def test_quick_markdown_table_lists_every_record(quick):
    records, md, proc = quick
    assert "OPENBLAS_CORETYPE=" in md and "load average" in md, md[:500]
    for rec in records[1:]:
        assert f"| {rec['name']} |" in md, f"{rec['name']} missing from bench.md"
    assert "[bench" in proc.stderr, "progress goes to stderr"


def test_compare_sets_ratio_and_met():
    rec = _common.record("x", 10, [2.0, 1.0, 3.0], 50.0)
    assert (rec["median_s"], rec["min_s"], rec["max_s"], rec["repeats"]) == (2.0, 1.0, 3.0, 3)
    _common.compare(rec, "loop", 50.0, 20.0)
    assert rec["ratio"] == 25.0 and rec["met"] is True, rec
    _common.compare(rec, "loop", 10.0, 20.0)
    assert rec["ratio"] == 5.0 and rec["met"] is False, rec
    _common.compare(rec, "loop", 10.0, None)
    assert rec["met"] is None, rec


def test_evenly_spaced_keeps_ends():
    ks = list(range(2, 201))
    picked = _common.evenly_spaced(ks, 10)
    assert picked[0] == 2 and picked[-1] == 200 and len(picked) == 10, picked
    assert _common.evenly_spaced([2, 3], 10) == [2, 3]


def test_unknown_item_is_rejected(capsys):
    with pytest.raises(SystemExit) as exc:
        bench_run.parse_args(["--only", "silhouette,nope"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "unknown item(s) ['nope']" in err, err[-500:]


def test_quick_defaults_to_one_repeat():
    args = bench_run.parse_args(["--quick", "--only", "dvc,select_k"])
    assert args.items == ["select_k", "dvc"], args.items  # run in the fixed order
    assert (args.repeats, args.heavy_repeats) == (1, 1), vars(args)
    args = bench_run.parse_args([])
    assert args.items == list(bench_run.ITEMS) and args.repeats == 3, vars(args)


def test_image_encoders_option_names_lite_sizes(capsys):
    assert bench_run.parse_args([]).image_encoders == ["efficientnet-lite0"]
    args = bench_run.parse_args(["--image-encoders", "efficientnet-lite0, efficientnet-lite2"])
    assert args.image_encoders == ["efficientnet-lite0", "efficientnet-lite2"]
    with pytest.raises(SystemExit) as exc:
        bench_run.parse_args(["--image-encoders", "efficientnet-lite3"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--image-encoders: ['efficientnet-lite3']" in err, err[-500:]
