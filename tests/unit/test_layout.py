"""The package layout rules of docs/architecture.md: module and function sizes, no module named like
the standard library, no import circles, and pipeline cores that never touch storage."""

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "stylecluster"
ROOT = SRC.parents[1]
MODULES = sorted(SRC.rglob("*.py"))
FILES = MODULES + sorted((ROOT / "stages").glob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """stylecluster modules imported at module level or in functions (submodules resolved)."""
    names = {_name(p) for p in MODULES}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stylecluster"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in names else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("stylecluster"))
    return found & names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_and_function_sizes(path):
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= 400, f"{path.name}: {source.count(chr(10))} lines > 400; split it"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            reason = "long on purpose" in (ast.get_docstring(node) or "").lower() or \
                     "long mostly" in (ast.get_docstring(node) or "").lower()
            assert length <= 60 or reason, (f"{path.name}:{node.lineno} {node.name} is {length} "
                                            "lines: split it or say why in its docstring")


def test_no_module_is_named_like_the_standard_library():
    clashes = [p.relative_to(ROOT).as_posix() for p in MODULES
               if p.stem in sys.stdlib_module_names]
    assert not clashes, f"these shadow standard-library modules: {clashes}"


def test_no_import_circles():
    graph = {_name(p): _imports(p) - {_name(p)} for p in MODULES}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            # importing a.b.c runs a/__init__ and a/b/__init__: a package importing its own
            # submodule is not a circle
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError(f"import circle: {' -> '.join([*trail, nxt])}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_pipeline_cores_do_no_file_io():
    for path in sorted((SRC / "pipeline").glob("*.py")):
        imported = _imports(path)
        assert not any(m == "stylecluster.storage" or m.startswith("stylecluster.storage.")
                       and not m.endswith(".cache") for m in imported), \
            f"{path.name} imports storage; cores take and return objects (stages do the IO)"


def test_the_unit_tier_refuses_to_start_a_python_process():
    import subprocess
    import sys

    with pytest.raises(AssertionError, match="move the test to tests/integration"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    with pytest.raises(AssertionError, match="tests/integration"):
        subprocess.run(["dvc", "status"], capture_output=True)
    # a library's own small helper is not refused
    assert subprocess.run(["true"]).returncode == 0
