"""dvc.yaml lists, for every stage, its script and every src module the script imports (directly or
through other modules), and declares the params sections the stage reads (STYLE rule 16)."""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "stylecluster"


def _stylecluster_imports(path: Path) -> set[str]:
    """Module names (relative to the package) imported by the file at `path`.

    `from stylecluster.pipeline import embed` names the module `pipeline.embed`; a name that is not a
    module (`from stylecluster.pipeline.embed import embed_texts`) names the module it comes from.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stylecluster"):
            base = node.module.split(".")[1:]
            for alias in node.names:
                sub = ".".join([*base, alias.name])
                if _module_file(sub) is not None:
                    found.add(sub)
                elif base:
                    found.add(".".join(base))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("stylecluster."):
                    found.add(alias.name.split(".", 1)[1])
    return found


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    as_file = SRC.joinpath(*parts).with_suffix(".py")
    as_pkg = SRC.joinpath(*parts) / "__init__.py"
    if as_file.is_file():
        return as_file
    if as_pkg.is_file():
        return as_pkg
    return None


def _closure(script: Path) -> set[Path]:
    """Every src file that importing `script` may run.

    Importing a module runs its packages' `__init__.py` files; a registry package (an `__init__.py`
    that calls `importlib.import_module`) may load any of its modules by name, so all of them count.
    """
    seen: set[Path] = set()
    todo = [script]
    while todo:
        current = todo.pop()
        for name in _stylecluster_imports(current):
            f = _module_file(name)
            if f is None:
                continue
            parents = [SRC.joinpath(*name.split(".")[:i]) / "__init__.py"
                       for i in range(1, len(name.split(".")))]
            for g in [f, *(p for p in parents if p.is_file())]:
                if g not in seen:
                    seen.add(g)
                    todo.append(g)
            if f.name == "__init__.py" and "import_module(" in f.read_text(encoding="utf-8"):
                for sibling in f.parent.glob("*.py"):
                    if sibling not in seen:
                        seen.add(sibling)
                        todo.append(sibling)
    return seen


def _stages():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    return dvc["stages"]


def _covered(dep_list: list[str], path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in dep_list)


@pytest.mark.parametrize("name", list(_stages()))
def test_stage_deps_cover_its_imports(name):
    stage = _stages()[name]
    deps = [d if isinstance(d, str) else next(iter(d)) for d in stage["deps"]]
    script = ROOT / "stages" / f"{name}.py"
    assert f"python stages/{name}.py" in stage["cmd"], "stage name = script name (STYLE rule 8)"
    assert f"stages/{name}.py" in deps
    assert script.is_file(), f"dvc.yaml runs {script}, which does not exist"
    missing = sorted(p.relative_to(ROOT).as_posix() for p in _closure(script)
                     if not _covered(deps, p))
    assert not missing, f"stage {name} imports these modules but dvc.yaml does not list them: {missing}"


@pytest.mark.parametrize("name", list(_stages()))
def test_stage_declares_its_params_section(name):
    params = _stages()[name].get("params", [])  # exactly the sections it reads: test_stage.py
    assert name in params and "runtime" not in params, f"{name}: params {params}"


def test_metrics_and_plot_tables_are_git_tracked():
    """Every metric and plot table is `cache: false` and not git-ignored, so `dvc metrics diff`
    and `dvc plots diff HEAD` find HEAD's numbers in git on any clone, even one whose CPU
    reproduces other bytes (README, "Reproducible on a fresh clone")."""
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    reports = yaml.safe_load((ROOT / "params.yaml").read_text())["paths"]["reports"]
    ignored = set((ROOT / reports / ".gitignore").read_text().split())
    tracked = []
    for stage in dvc["stages"].values():
        for kind in ("metrics", "plots"):
            for entry in stage.get(kind, []):
                if not isinstance(entry, dict):
                    continue  # a bare path: an image folder, kept in the DVC cache
                (path, options), = entry.items()
                if path.startswith("${paths.reports}/") and path.endswith((".json", ".csv")):
                    assert options.get("cache") is False, f"{path}: add `cache: false`"
                    name = path.removeprefix("${paths.reports}")
                    assert name not in ignored, f"{reports}/.gitignore still ignores {name}"
                    tracked.append(name)
    assert sorted(tracked) == ["/metrics.json", "/monthly_proportions.csv", "/trends.json"]
