"""The comparison core on a recorded `dvc exp show --json`; compare's checks before any dvc call.

tests/data/exp_show_grid.json was recorded in a project copy (60-post sample, select_k.k_max 8)
after `stylecluster compare --modality image,text --method none,pca` plus three experiments run by
hand, one of which failed (`-S select_k.k_min=9`: select_k rejects k_max <= k_min). Only the
`deps`/`outs` blocks were dropped to keep it small.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from stylecluster import cli
from stylecluster import records
from stylecluster.experiments import compare, outcomes
from stylecluster.experiments import render
from stylecluster.experiments import run as experiments
from stylecluster.errors import ConfigError

DATA = Path(__file__).resolve().parents[1] / "data"
GRID = ["image-none", "image-pca", "text-none", "text-pca"]

# Excerpts of real queue logs (.dvc/tmp/exps/run/<task>/<task>.out) of the recorded runs.
LOG_SKIPPED = """Reproducing experiment 'image-none'
'data/raw.dvc' didn't change, skipping
Stage 'validate' didn't change, skipping
Stage 'preprocess' didn't change, skipping
Stage 'embed' didn't change, skipping
Running stage 'reduce':
"""
LOG_RAN = """Running stage 'embed':
> python stages/embed.py --segment data/interim/segment --texts data/interim/preprocess/texts.parquet --cache data/cache/embed --out data/interim/embed
16:03:21 INFO stylecluster.pipeline.embed: image (efficientnet-lite0): 54 items, 0 cache hits, 54 encoded at 6.8 items/s (batch 32)
16:03:33 INFO stylecluster.stage: embed: image (54, 1280) via efficientnet-lite0 (50 cached, 4 encoded); text (57, 384) via e5-small (0 cached, 57 encoded); dropped 9
Updating lock file 'dvc.lock'
"""
LOG_FAILED = """Stage 'embed' didn't change, skipping
Running stage 'select_k':
> python stages/select_k.py --features data/interim/reduce --out data/interim/select_k
16:05:43 ERROR stylecluster.stage: select_k failed: params.yaml [select_k.k_max] = 8 is not allowed: expected an integer > k_min (9). Fix the value in params.yaml (or the -S select_k.k_max=... override).
ERROR: failed to reproduce 'select_k': failed to run: python stages/select_k.py --features data/interim/reduce --out data/interim/select_k, exited with 1
"""


@pytest.fixture(scope="module")
def shown() -> list[compare.Experiment]:
    return compare.parse_exp_show(json.loads((DATA / "exp_show_grid.json").read_text()))


@pytest.fixture(scope="module")
def table(shown) -> pd.DataFrame:
    rows = compare.select(shown, [*GRID, "t-bad"])
    logs = {name: LOG_SKIPPED for name in GRID} | {"t-bad": LOG_FAILED}
    return compare.build_table(rows, compare.varied_keys(rows, ["reduce.modality",
                                                                "reduce.method"]),
                               compare.Thresholds(), logs)


def test_parse_exp_show_reads_every_experiment(shown):
    by_name = {e.name: e for e in shown}
    assert set(by_name) == {*GRID, "i-none", "t-none", "t-bad"}, sorted(by_name)
    assert [by_name[n].status for n in GRID] == ["success"] * 4
    assert by_name["text-pca"].params["reduce.modality"] == "text"
    assert by_name["text-pca"].params["reduce.weights.text"] == 1.0, "nested params flattened"
    assert by_name["text-pca"].metrics["best_k"] == 5
    assert by_name["image-pca"].metrics["silhouette"] == pytest.approx(0.3734, abs=1e-4)


def test_failed_experiment_keeps_params_and_drops_baseline_metrics(shown):
    bad = next(e for e in shown if e.name == "t-bad")
    assert bad.status == "failed"
    assert bad.params["select_k.k_min"] == 9, "the override DVC queued is shown"
    assert bad.metrics == {}, f"DVC shows the baseline's metrics for a failed run: {bad.metrics}"
    assert bad.log_path and bad.log_path.endswith(".out")


def test_select_keeps_grid_order_and_marks_missing(shown):
    rows = compare.select(shown, ["text-pca", "nope", "image-none"])
    assert [(r.name, r.status) for r in rows] == [
        ("text-pca", "success"), ("nope", "missing"), ("image-none", "success")]


def test_varied_keys_are_the_grid_plus_what_differs(shown):
    grid = compare.select(shown, GRID)
    axes = ["reduce.modality", "reduce.method"]
    assert compare.varied_keys(grid, axes) == axes
    with_bad = compare.select(shown, [*GRID, "t-bad"])
    assert compare.varied_keys(with_bad, axes) == [*axes, "select_k.k_min"]


def test_table_has_one_row_per_experiment_and_the_expected_columns(table):
    assert list(table["experiment"]) == [*GRID, "t-bad"]
    cols = list(table.columns)
    assert cols[:5] == ["experiment", "status", "reduce.modality", "reduce.method",
                        "select_k.k_min"], cols
    for key in ("best_k", "silhouette", "prominence", "largest_cluster_share",
                "worst_month_top_share", "length_skew", "ari", "nmi"):
        assert key in cols, key
    assert cols.index("best_k") == 5, "metrics follow the params, criteria first"
    assert cols[-8:] == list(compare.VERDICT_COLUMNS)


def test_failed_row_is_shown_not_dropped(table):
    bad = table.set_index("experiment").loc["t-bad"]
    assert bad["status"] == "failed"
    assert pd.isna(bad["silhouette"]) and pd.isna(bad["rank"])
    assert bad["verdict"] == "not judged (failed)"
    assert bad["error"].startswith("select_k failed: params.yaml [select_k.k_max] = 8"), \
        bad["error"]


def test_verdicts_and_rank_on_the_recorded_grid(table):
    t = table.set_index("experiment")
    # text-none: silhouette only rises over k=2..8 (no interior peak), the research's raw-text case
    assert t.loc["text-none", "peak"] == "fail" and "no silhouette peak" in t.loc["text-none",
                                                                                 "verdict"]
    assert (t.loc[["image-none", "image-pca", "text-pca"], "peak"] == "pass").all()
    assert t.loc["image-none", "balanced"] == "fail", t.loc["image-none", "largest_cluster_share"]
    assert t.loc["text-none", "balanced"] == "pass", t.loc["text-none", "worst_month_top_share"]
    assert (t["coherent"].iloc[:4] == "pass").all(), t["ari"].tolist()
    # all four pass 2 of 3: the silhouette decides (0.373, 0.180, 0.142, 0.063)
    assert t["verdict"].iloc[:4].str.startswith("2/3 pass").all(), t["verdict"]
    assert t["rank"].iloc[:4].tolist() == [3, 1, 4, 2], t[["verdict", "silhouette"]]
    assert compare.best_experiment(table) == "image-pca"
    assert (t["embed"] == "unchanged").all()


def test_rank_does_not_depend_on_row_order(shown):
    rows = compare.select(shown, GRID)
    forward = compare.build_table(rows, [], compare.Thresholds()).set_index("experiment")["rank"]
    backward = compare.build_table(rows[::-1], [], compare.Thresholds()).set_index(
        "experiment")["rank"]
    assert forward.to_dict() == backward.to_dict()


def test_thresholds_change_the_verdict(shown):
    rows = compare.select(shown, GRID)
    # image-pca's peak (prominence 0.0185) is under a stricter 0.02: it drops to 1/3 and to last
    strict = compare.build_table(rows, [], compare.Thresholds(min_prominence=0.02))
    t = strict.set_index("experiment")
    assert t.loc["image-pca", "peak"] == "fail", t.loc["image-pca", "prominence"]
    assert t.loc["image-pca", "verdict"].startswith("1/3 pass: peak prominence 0.019 < 0.02")
    assert t.loc["image-pca", "rank"] == 4
    assert compare.best_experiment(strict) == "text-pca"
    loose = compare.Thresholds(max_month_share=1.0, max_largest_share=0.5)
    t = compare.build_table(rows, [], loose).set_index("experiment")
    assert t.loc["image-pca", "verdict"] == "3/3 pass", t.loc["image-pca", "verdict"]


@pytest.mark.parametrize("metrics, expected", [
    ({"has_peak": True, "prominence": 0.05, "largest_cluster_share": 0.2,
      "worst_month_top_share": 0.3, "ari": 0.5, "nmi": 0.6}, ("pass", "pass", "pass")),
    ({"has_peak": False, "prominence": None, "largest_cluster_share": 0.9,
      "worst_month_top_share": 0.95, "ari": 0.01, "nmi": 0.05}, ("fail", "fail", "fail")),
    ({"has_peak": True, "prominence": 0.05, "largest_cluster_share": 0.2,
      "keyword_purity": 0.7}, ("pass", "pass", "pass")),
    ({"has_peak": True, "prominence": 0.05, "keyword_purity": 0.2}, ("pass", "n/a", "fail")),
    ({"silhouette": 0.3}, ("n/a", "n/a", "n/a")),
    # select_k.algorithm hdbscan chooses no k: no peak to judge
    ({"best_k": None, "has_peak": None, "prominence": None, "largest_cluster_share": 0.3,
      "unassigned_share": 0.2, "ari": 0.5, "nmi": 0.6}, ("n/a", "pass", "pass")),
])
def test_judge(metrics, expected):
    v = compare.judge(metrics, compare.Thresholds())
    assert (v.peak, v.balanced, v.coherent) == expected, v
    assert v.n_known == 3 - expected.count("n/a")


def test_judge_names_the_failing_measurements():
    v = compare.judge({"has_peak": True, "prominence": 0.004, "largest_cluster_share": 0.81,
                       "worst_month_top_share": 0.5, "ari": 0.02, "nmi": 0.1},
                      compare.Thresholds(min_prominence=0.02))
    assert v.summary() == ("0/3 pass: peak prominence 0.004 < 0.02; largest cluster 0.81 > 0.4; "
                           "labels ARI 0.02 / NMI 0.10 < 0.2 / 0.4")


def _run(encoder, cached, encoded):
    return records.ModalityRun(encoder=encoder, n=cached + encoded, cache_hits=cached,
                               encoded=encoded, loaded=encoded, batch_size=32,
                               encode_seconds=1.0, wall_seconds=2.0, items_per_s=None)


def test_embed_reuse_from_dvc_logs_and_the_run_record():
    record = records.EmbedRunRecord(image=_run("efficientnet-lite0", 50, 4),
                                    text=_run("e5-small", 0, 57), device="cpu", cache={})
    assert outcomes.embed_reuse(LOG_SKIPPED) == "unchanged"
    assert outcomes.embed_reuse(LOG_RAN) == "ran", "a log line is never parsed for counts"
    assert outcomes.embed_reuse(LOG_RAN, record) == "ran (50 cached, 61 encoded)"
    assert outcomes.embed_reuse("Restored stage 'embed' from run-cache\n") == "run-cache"
    assert outcomes.embed_reuse(None) == "unknown"


def test_embed_summary_counts_and_names_reencoding():
    line, encoded = outcomes.embed_summary({"a": "unchanged", "b": "ran (111 cached, 0 encoded)",
                                           "c": "ran (50 cached, 10 encoded)", "d": "unknown"})
    assert line.startswith("embed stage of 4 experiment(s): ran in 2, unchanged in 1, unknown in 1")
    assert encoded == ["c"]


def test_failure_reason_prefers_the_stage_message():
    assert outcomes.failure_reason(LOG_FAILED).startswith("select_k failed: params.yaml")
    dvc_only = "ERROR: failed to reproduce 'reduce': exited with 1\n"
    assert outcomes.failure_reason(dvc_only) == "failed to reproduce 'reduce': exited with 1"
    assert outcomes.failure_reason(LOG_SKIPPED) is None


def test_check_keys_names_the_unknown_key():
    params = {"reduce": {"modality": "image", "weights": {"text": 1.0}}, "paths": {}}
    compare.check_keys(params, ["reduce.modality", "reduce.weights.text"])
    with pytest.raises(ConfigError, match=r"unknown param key 'reduce.modalty'.*\[reduce\] has no "
                                          r"'modalty'.*'modality'"):
        compare.check_keys(params, ["reduce.modalty"])
    with pytest.raises(ConfigError, match=r"'embed.device'.*\[\(top level\)\] has no 'embed'"):
        compare.check_keys(params, ["embed.device"])
    with pytest.raises(ConfigError, match=r"'reduce.modality.x'"):
        compare.check_keys(params, ["reduce.modality.x"])


def test_apply_overrides_parses_like_dvc_and_copies():
    params = {"reduce": {"method": "umap", "n_components": 10}, "select_k": {"k_max": 30}}
    before = copy.deepcopy(params)
    out = compare.apply_overrides(params, {"reduce.method": "none", "select_k.k_max": "8",
                                           "reduce.n_components": "null"})
    assert out == {"reduce": {"method": "none", "n_components": None}, "select_k": {"k_max": 8}}
    assert params == before, "input mutated"


def test_grid_points_and_names():
    points = compare.grid_points({"reduce.modality": ["image", "text"],
                                  "reduce.method": ["none", "umap"]})
    assert points[0] == {"reduce.modality": "image", "reduce.method": "none"}
    assert [tuple(p.values()) for p in points] == [("image", "none"), ("image", "umap"),
                                                   ("text", "none"), ("text", "umap")]
    names = compare.experiment_names(points, taken=["image-none", "text-umap", "text-umap-2"])
    assert names == ["image-none-2", "image-umap", "text-none", "text-umap-3"]
    assert compare.experiment_names([{"a": "x/y z"}], []) == ["x_y_z"]


def test_parse_values_and_set_reject_bad_input():
    assert compare.parse_values("--method", " none, umap ") == ["none", "umap"]
    with pytest.raises(ConfigError, match=r"--method 'umap,umap' must list distinct values"):
        compare.parse_values("--method", "umap,umap")
    with pytest.raises(ConfigError, match=r"--modality '' must list"):
        compare.parse_values("--modality", "")
    assert compare.parse_set("select_k.k_max=20") == ("select_k.k_max", "20")
    with pytest.raises(ConfigError, match=r"--set 'k_max' must look like section.key=value"):
        compare.parse_set("k_max")


def test_thresholds_are_checked():
    with pytest.raises(ConfigError, match=r"--max-largest-share = 1.5 is not in \[0, 1\]"):
        compare.Thresholds(max_largest_share=1.5)


def test_markdown_html_and_figure(shown, table):
    hint = compare.apply_hint(compare.best_experiment(table))
    assert "dvc exp apply image-pca" in hint
    md = render.to_markdown(table, hint, compare.Thresholds())
    assert md.count("\n| ") == 1 + len(table), md
    assert "| t-bad | failed |" in md
    page = render.to_html(table, hint, compare.Thresholds())
    assert page.count("<tr>") == 1 + len(table)
    assert 'src="silhouette_overlay.png"' in page
    curves = {n: pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.1, 0.3, 0.2]}) for n in GRID}
    fig = render.overlay_figure(curves, {"image-none": 3, "text-pca": 99})
    ax = fig.axes[0]
    assert len(ax.get_legend().get_texts()) == 4
    assert len(ax.lines) == 4 + 1, "one curve each, plus one marker for the chosen k that exists"
    assert len(render.overlay_figure({}, {}).axes[0].lines) == 0


@pytest.fixture()
def no_dvc(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError(f"dvc was called before the grid was checked: {args}")

    monkeypatch.setattr(experiments, "run_dvc", fail)


def _project(tmp_path: Path) -> Path:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "params.yaml").write_bytes((root / "params.yaml").read_bytes())
    return tmp_path


def test_unknown_key_fails_before_queueing(tmp_path, no_dvc):
    with pytest.raises(ConfigError, match=r"unknown param key 'select_k.kmax'"):
        experiments.run_compare(_project(tmp_path), {"reduce.modality": ["image"]},
                                {"select_k.kmax": "8"}, tmp_path / "out", compare.Thresholds())


def test_invalid_value_fails_before_queueing(tmp_path, no_dvc):
    with pytest.raises(ConfigError, match=r"reduce.method\] = 'tsne'.*'none', 'pca', 'umap'"):
        experiments.run_compare(_project(tmp_path), {"reduce.method": ["none", "tsne"]}, {},
                                tmp_path / "out", compare.Thresholds())


def test_cli_registers_compare():
    args = cli.build_parser().parse_args(["compare", "--modality", "image,text", "--method",
                                          "none,pca", "--set", "select_k.k_max=8"])
    assert args.func is experiments._cmd_compare
    assert (args.modality, args.method, args.set, args.jobs) == ("image,text", "none,pca",
                                                                 ["select_k.k_max=8"], 1)


def test_compare_can_vary_the_algorithm():
    args = cli.build_parser().parse_args(["compare", "--modality", "image", "--method", "umap",
                                          "--algorithm", "kmeans,gmm,hdbscan"])
    axes = experiments.grid_axes(args)
    assert axes["select_k.algorithm"] == ["kmeans", "gmm", "hdbscan"]
    points = compare.grid_points(axes)
    assert compare.experiment_names(points, []) == ["image-umap-kmeans", "image-umap-gmm",
                                                    "image-umap-hdbscan"]
    default = experiments.grid_axes(cli.build_parser().parse_args(["compare"]))
    assert "select_k.algorithm" not in default


def test_queue_failure_takes_the_queued_ones_out(monkeypatch):
    calls = []

    def fake(args, root, stream=False):
        calls.append(list(args))
        if args[:3] == ["exp", "run", "--queue"] and args[4] == "b":
            raise experiments.DvcError("ERROR: boom")
        return ""

    monkeypatch.setattr(experiments, "run_dvc", fake)
    with pytest.raises(experiments.DvcError, match="boom"):
        experiments._queue(Path("."), ["a", "b"], [{"reduce.method": "none"}] * 2, ["-C", "x"])
    assert calls[0] == ["exp", "run", "--queue", "-n", "a", "-S", "reduce.method=none", "-C", "x"]
    assert calls[-1] == ["queue", "remove", "a"]


def test_run_compare_with_dvc_stubbed(tmp_path, monkeypatch):
    """The whole flow on the recorded exp show: outputs written, params.yaml restored, a failed
    --run-all still gives the table."""
    root = _project(tmp_path)
    (root / "data/cache/embed").mkdir(parents=True)
    (root / "dvc.lock").write_text("schema: '2.0'\n")
    original = (root / "params.yaml").read_bytes()
    recorded = json.loads((DATA / "exp_show_grid.json").read_text())
    calls = []

    def fake(args, root_, stream=False):
        calls.append(list(args))
        if args[:2] == ["exp", "show"]:
            return "[]" if len(calls) == 1 else json.dumps(recorded)
        if args[:2] == ["status", "--json"]:
            return "{}"
        if "--queue" in args:
            (root / "params.yaml").write_text("reduce: {method: none}\n")  # as a crash might
        if "--run-all" in args:
            raise experiments.DvcError("ERROR: worker died")
        return ""

    monkeypatch.setattr(experiments, "run_dvc", fake)
    monkeypatch.setattr(experiments, "read_curve", lambda root_, rev, path: pd.DataFrame(
        {"k": [2, 3, 4], "silhouette": [0.1, 0.2, 0.15]}))
    result = experiments.run_compare(
        root, {"reduce.modality": ["image", "text"], "reduce.method": ["none", "pca"]}, {},
        root / "reports/compare", compare.Thresholds())
    assert (root / "params.yaml").read_bytes() == original, "params.yaml not restored"
    queued = [c for c in calls if "--queue" in c]
    assert [c[4] for c in queued] == GRID
    assert queued[0][-4:] == ["-C", "dvc.lock", "-C", "data/cache/embed"], queued[0]
    assert list(result.table["experiment"]) == GRID and result.best == "image-pca"
    for name in ("compare.csv", "compare.md", "compare.html", "silhouette_overlay.png"):
        assert (root / "reports/compare" / name).stat().st_size > 0, name
    assert len(pd.read_csv(root / "reports/compare/compare.csv")) == 4
