"""The stage boilerplate: how a stage process ends."""

from __future__ import annotations

import sys

from stylecluster import stage


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
