"""The stage boilerplate: how a stage process ends, and which params sections a stage may read."""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from pathlib import Path

import pytest
import yaml

from stylecluster import config, stage

ROOT = Path(__file__).resolve().parents[2]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def test_only_a_process_started_on_the_stage_script_ends_hard(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", ["python", "/p/stages/report.py", "--out", "reports"])
    assert stage._is_stage_process("report")
    assert not stage._is_stage_process("cluster")
    # pytest running a stage in-process (runpy) must get SystemExit, never os._exit
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "pytest", "tests/unit"])
    assert not stage._is_stage_process("report")
    monkeypatch.setattr(sys, "orig_argv", ["python", "/p/report.py"])  # not in stages/
    assert not stage._is_stage_process("report")
    monkeypatch.setattr(sys, "orig_argv", ["python", "/p/stages/report.py"])
    monkeypatch.setenv("STYLECLUSTER_SOFT_EXIT", "1")  # profilers and coverage write at exit
    assert not stage._is_stage_process("report")


def _declared_sections(script: Path) -> list[str]:
    """The `sections=` of the script's run_stage call: a literal tuple or a module-level name."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    names = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and getattr(n.func, "id", None) == "run_stage"]
    assert len(calls) == 1, f"{script}: one run_stage call expected"
    value = next(k.value for k in calls[0].keywords if k.arg == "sections")
    if isinstance(value, ast.Name):
        value = names[value.id]
    return list(ast.literal_eval(value))


@pytest.mark.parametrize("name", list(STAGES))
def test_stage_declares_exactly_its_dvc_params(name):
    """What run_stage lets a stage read (StageContext.section refuses the rest) is exactly what
    dvc.yaml tracks for it; runtime is never tracked, so changing it re-runs nothing."""
    declared = _declared_sections(ROOT / "stages" / f"{name}.py")
    tracked = STAGES[name].get("params", [])
    assert sorted(declared) == sorted(tracked), (f"stages/{name}.py declares {declared}, "
                                                f"dvc.yaml tracks {tracked}")
    assert name in declared or name not in config.SECTIONS
    assert not set(config.UNTRACKED) & set(tracked), f"{name} tracks {tracked}"
    assert set(declared) <= set(config.SECTIONS)


def _ctx(**declared):
    return stage.StageContext("reduce", argparse.Namespace(), config.RuntimeParams(), declared)


def test_reading_an_undeclared_section_raises_and_reads_are_recorded():
    ctx = _ctx(base=config.BaseParams(), reduce=config.ReduceParams())
    assert ctx.params == config.ReduceParams() and ctx.base.seed == 42
    ctx.section("reduce")
    assert ctx.read == ["reduce", "base"]
    assert ctx.runtime.progress is True  # always there, never recorded
    with pytest.raises(stage.UndeclaredSectionError, match=r"'reduce' read params section "
                       r"'select_k'.*declared: \['base', 'reduce'\].*run_stage\(sections="):
        ctx.section("select_k")


def test_runtime_cannot_be_declared(tmp_path):
    (tmp_path / "params.yaml").write_text("runtime: {progress: false}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="tracked params sections only"):
        stage.load_context("reduce", argparse.Namespace(), ("runtime", "reduce"),
                           tmp_path / "params.yaml")


def test_run_stage_loads_declared_sections_from_the_given_file(tmp_path, caplog):
    params = tmp_path / "other.yaml"
    params.write_text("base: {seed: 7}\nruntime: {progress: false}\nreduce: {n_components: 3}\n",
                      encoding="utf-8")
    seen = {}

    def body(ctx):
        seen.update(seed=ctx.base.seed, progress=ctx.runtime.progress)
        return "done"

    with caplog.at_level(logging.WARNING, logger="stylecluster.stage"):
        ctx = stage.run_stage("reduce", body, paths=("out",), sections=("base", "reduce"),
                              argv=["--out", str(tmp_path), "--params", str(params)])
    assert seen == {"seed": 7, "progress": False} and ctx.read == ["base"]
    assert "declares params section(s) ['reduce'] but did not read them" in caplog.text


def test_a_bad_value_names_the_file_read(tmp_path, caplog):
    params = tmp_path / "other.yaml"
    params.write_text("reduce: {n_components: 0}\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        stage.run_stage("reduce", lambda ctx: "", paths=(), sections=("reduce",),
                        argv=["--params", str(params)])
    assert f"{params} [reduce.n_components] = 0" in caplog.text
