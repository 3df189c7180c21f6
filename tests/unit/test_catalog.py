"""The artifact catalog names exactly the files dvc.yaml tracks, and each one once."""

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from stylecluster import catalog, schemas, storage

ROOT = Path(__file__).resolve().parents[2]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
ENTRY = re.compile(r"\$\{paths\.(\w+)\}(?:/(.+))?")


def _entries(stage, *keys):
    for key in keys:
        for item in STAGES[stage].get(key, []):
            text = item if isinstance(item, str) else next(iter(item))
            match = ENTRY.fullmatch(text.split("#")[0].strip())
            if match:
                yield match.group(1), match.group(2)


def test_every_artifact_is_unique_and_its_folder_is_a_path_key():
    seen = set()
    for art in catalog.ARTIFACTS:
        assert (art.folder, art.name) not in seen, f"{art} named twice"
        seen.add((art.folder, art.name))
        assert art.folder in PARAMS["paths"], f"{art}: no paths.{art.folder} in params.yaml"
        assert art.stage in STAGES, f"{art}: no stage {art.stage} in dvc.yaml"
        if art.schema is not None:
            assert art.schema in schemas.SCHEMAS, art


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_tracked_output_file_is_in_the_catalog(stage):
    named = {(a.folder, a.name) for a in catalog.of_stage(stage)}
    for folder, name in _entries(stage, "outs", "metrics", "plots"):
        if name is not None:
            assert (folder, name) in named, f"dvc.yaml {stage}: ${{paths.{folder}}}/{name} is not in catalog"


@pytest.mark.parametrize("stage", list(STAGES))
def test_each_catalogued_artifact_is_a_tracked_output_of_its_stage(stage):
    outs = list(_entries(stage, "outs", "metrics", "plots"))
    for art in catalog.of_stage(stage):
        covered = any(folder == art.folder and (name is None or name == art.name)
                      for folder, name in outs)
        assert covered, f"{art.dvc_path()} ({stage}) is not under any of {stage}'s outs in dvc.yaml"


@pytest.mark.parametrize("stage", list(STAGES))
def test_file_deps_name_catalogued_artifacts_of_upstream_stages(stage):
    by_path = {(a.folder, a.name): a for a in catalog.ARTIFACTS}
    order = list(STAGES)
    for folder, name in _entries(stage, "deps"):
        if name is None or folder in ("raw", "external", "stopwords"):
            continue
        art = by_path.get((folder, name))
        assert art is not None, f"dvc.yaml {stage} depends on ${{paths.{folder}}}/{name}, not in catalog"
        assert order.index(art.stage) < order.index(stage), f"{stage} depends on later {art}"


def test_untracked_folders_are_path_keys_and_not_outputs():
    tracked = {folder for s in STAGES for folder, _ in _entries(s, "outs", "metrics", "plots")}
    for key in catalog.UNTRACKED:
        assert key in PARAMS["paths"] and key not in tracked, key


def test_in_project_joins_root_the_params_folder_and_the_name(tmp_path):
    at = catalog.LABELS.in_project(tmp_path, PARAMS["paths"])
    assert at == tmp_path / PARAMS["paths"]["cluster"] / "labels.parquet"
    other = catalog.LABELS.in_project(tmp_path, {**PARAMS["paths"], "cluster": "elsewhere"})
    assert other == tmp_path / "elsewhere" / "labels.parquet"


def test_the_membership_xlsx_has_one_writer_the_byte_stable_one(tmp_path):
    """write_artifact refuses the .xlsx (pandas' writer would stamp the save time, and the DVC out
    must hash the same on every run): the report stage writes it with report_files."""
    table = pd.DataFrame({"post_id": ["p1"], "cluster": [0]})
    with pytest.raises(TypeError, match="report_files.write_table_xlsx"):
        storage.write_artifact(table, catalog.MEMBERSHIP_XLSX, tmp_path)
    assert not hasattr(storage, "write_xlsx")
    assert not list(tmp_path.iterdir())


def test_labels_name_the_stage_so_each_summary_json_is_told_apart():
    summaries = [a for a in vars(catalog).values()
                 if isinstance(a, catalog.Artifact) and a.name == "summary.json"]
    labels = [a.label for a in summaries]
    assert len(summaries) >= 4 and len(set(labels)) == len(labels), labels
    assert catalog.POSTS.label == "validate/posts.parquet"
    assert catalog.EMBED_SUMMARY.label == "embed/summary.json"
