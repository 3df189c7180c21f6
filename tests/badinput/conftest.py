"""The bad-input corpus: shared fixtures.

Every case builds its input inside a *sentinel tree*: a folder of files around the input and output
folders whose bytes and modes are recorded before the case runs and compared after it, so a case also
proves that nothing outside `--out` was written, linked or deleted, and that `data/raw` (the input)
is byte-identical afterwards. Cases assert either a CLEAR error (names the file, row or parameter and
the fix) or a counted DROP with its reason. The table of cases is `README.md` beside this file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """Every entry under `root`: relative path -> (content digest or link target, mode).

    Symlinks are recorded by their target (not followed), so replacing a file by a link, or a
    link's target, shows up as a change.
    """
    state: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = path.lstat()
            if path.is_symlink():
                state[rel] = ("link->" + os.readlink(path), st.st_mode)
            elif path.is_file():
                state[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mode)
            else:
                state[rel] = ("dir", st.st_mode)
    return state


@dataclass
class Sentinel:
    """A tree of files that a case must leave exactly as it found it (except `allowed`)."""

    root: Path

    def snapshot(self) -> None:
        self._before = tree_state(self.root)

    def changed(self, allowed: tuple[Path, ...] = ()) -> list[str]:
        """Entries added, removed or modified since `snapshot`, outside the `allowed` folders."""
        after = tree_state(self.root)
        skip = tuple(str(p.relative_to(self.root)) for p in allowed)

        def inside(rel: str) -> bool:
            return any(rel == s or rel.startswith(s + os.sep) for s in skip)

        keys = set(self._before) | set(after)
        return sorted(k for k in keys if not inside(k) and self._before.get(k) != after.get(k))

    def assert_unchanged(self, allowed: tuple[Path, ...] = ()) -> None:
        diff = self.changed(allowed)
        assert not diff, f"entries outside {[str(a) for a in allowed]} changed: {diff[:10]}"


@pytest.fixture()
def sentinel(tmp_path: Path) -> Sentinel:
    """A sentinel tree at tmp_path/world with decoy files at several depths.

    Cases create their export, raw and output folders under `sentinel.root` and call
    `sentinel.snapshot()` before running the command under test.
    """
    root = tmp_path / "world"
    for rel, text in [("victim.txt", "outside --out, one level up"),
                      ("a/victim.txt", "outside --out, a sibling"),
                      ("a/b/c/victim.txt", "deep"),
                      ("project/keep.txt", "next to the output")]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Sentinel(root)


CaseCheck = Callable[..., None]
