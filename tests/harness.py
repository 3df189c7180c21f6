"""The one way tests run a stage script or the `stylecluster` command: a real subprocess, as DVC
and a user run them, offline, with output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_VENV = ROOT / ".venv" / "bin"
PYTHON = str(_VENV / "python") if (_VENV / "python").exists() else sys.executable
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GX_ANALYTICS_ENABLED": "False"}


def _run(cmd: list, cwd: Path | None, timeout: float,
         env: dict[str, str] | None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **OFFLINE, **(env or {})})


def run_stage(stage: str, *args: object, params: Path | None = None, cwd: Path | None = None,
              timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python stages/<stage>.py ARGS [--params PARAMS]` from `cwd` (default: the project root)."""
    extra = ["--params", params] if params is not None else []
    return _run([PYTHON, ROOT / "stages" / f"{stage}.py", *args, *extra], cwd, timeout, env)


def run_cli(*args: object, cwd: Path | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`stylecluster ARGS` (the installed console script)."""
    return _run([_VENV / "stylecluster", *args], cwd, timeout, env)
