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


def scratch_params(root: Path, edit=None) -> Path:
    """params.yaml for a project whose every DVC folder lies under `root`, written to root.

    The project's params.yaml with `paths:` rebased: inputs that ship with the project (the
    `external` resources, preprocess.user_dict) point at ROOT, everything a stage writes at
    `root/<the same relative path>`; progress bars are off. `edit(params)` may change the dict
    before it is written. Run a stage on it with `run_dvc_stage`.
    """
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["runtime"]["progress"] = False
    external = params["paths"]["external"]
    for key, value in params["paths"].items():
        ships = value == external or value.startswith(external + "/")
        params["paths"][key] = str((ROOT if ships else root) / value)
    if params["preprocess"].get("user_dict"):
        params["preprocess"]["user_dict"] = str(ROOT / params["preprocess"]["user_dict"])
    if edit is not None:
        edit(params)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_dvc_stage(stage: str, params_file: Path, timeout: float = 300,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Stage `stage` exactly as dvc.yaml's cmd runs it, its folders from `params_file`'s paths."""
    from stylecluster.catalog import stage_command

    return _run(stage_command(ROOT / "dvc.yaml", params_file, stage, PYTHON), ROOT, timeout, env)
