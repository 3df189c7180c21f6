"""The unit tier starts no Python, stage script, `stylecluster` or `dvc` process: those tests belong
in tests/integration (see docs/architecture.md, "Tests"). Libraries may still run their own small
helpers (ctypes' ldconfig look-up, for one), so only those commands are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_REFUSED = {"python", "python3", "python3.11", "dvc", "stylecluster", "git"}


def _refused(args) -> str | None:
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
    if not argv:
        return None
    first = os.fsdecode(argv[0]).split()[0] if isinstance(argv[0], (str, bytes)) else os.fsdecode(argv[0])
    name = Path(first).name
    if name in _REFUSED or first == sys.executable or any(
            os.fsdecode(a).endswith(".py") for a in argv[1:2]):
        return " ".join(os.fsdecode(a) for a in argv)
    return None


@pytest.fixture(autouse=True)
def no_pipeline_subprocess(monkeypatch):
    real = subprocess.Popen.__init__

    def guarded(self, args, *rest, **kwargs):
        cmd = _refused(args)
        if cmd is not None:
            raise AssertionError(f"tests/unit must not start a process ({cmd!r}); move the test to "
                                 "tests/integration and run it through tests/harness.py")
        real(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
