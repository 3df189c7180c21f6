"""Every file the pipeline reads or writes, named once: stage, folder, file name, kind and schema.

A stage's folder comes from params.yaml `paths:` (the key in `Artifact.folder`, given to the stage
as a path flag); the file name inside it comes from here. Stages, the report, compare, benchmarks and
tests use these names instead of spelling `"manifest.parquet"` again, and a unit test checks every
file that dvc.yaml names (deps, outs, metrics, plots) against this catalog.

`storage.read_artifact(art, folder)` / `storage.write_artifact(obj, art, folder)` read and write
an artifact by its kind, checking its schema (see `stylecluster.schemas`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["table", "matrix", "json", "csv", "xlsx", "png", "html", "folder"]


@dataclass(frozen=True)
class Artifact:
    """One output of one stage.

    Attributes:
        stage: The dvc.yaml stage that writes it.
        folder: The params.yaml `paths:` key of the folder it lives in.
        name: The file (or sub-folder) name inside that folder.
        kind: How storage reads and writes it.
        schema: The table schema (`stylecluster.schemas`), for tables and CSVs with one.
    """

    stage: str
    folder: str
    name: str
    kind: Kind
    schema: str | None = None

    def path(self, folder: str | Path) -> Path:
        """The artifact inside `folder` (the stage's folder flag, e.g. `--segment`)."""
        return Path(folder) / self.name

    def in_project(self, root: str | Path, paths: Mapping[str, str]) -> Path:
        """Where a project at `root` keeps it: `root / paths[folder] / name` (params.yaml paths)."""
        return Path(root) / paths[self.folder] / self.name

    @property
    def label(self) -> str:
        """How messages name it: `<stage>/<name>`, e.g. validate/posts.parquet (one summary.json per
        stage, so the bare name would be ambiguous)."""
        return f"{self.stage}/{self.name}"

    def dvc_path(self) -> str:
        """As dvc.yaml writes it: `${paths.<folder>}/<name>`."""
        return f"${{paths.{self.folder}}}/{self.name}"


def _a(stage: str, folder: str, name: str, kind: Kind, schema: str | None = None) -> Artifact:
    return Artifact(stage, folder, name, kind, schema)


# validate
# The raw folder (paths.raw, tracked by data/raw.dvc, never written by a stage) as `stylecluster
# import` and `stylecluster sample` lay it out: the posts table, the import record, the images.
RAW_POSTS = "posts.parquet"
RAW_IMPORT_RECORD = "import.json"
RAW_IMAGES = "images"

POSTS = _a("validate", "validate", "posts.parquet", "table", "posts")
VALIDATION = _a("validate", "reports", "validation.json", "json")
# segment
SEGMENT_MANIFEST = _a("segment", "segment", "manifest.parquet", "table", "segment_manifest")
SEGMENT_MASKS = _a("segment", "segment", "masks", "folder")
SEGMENT_SUMMARY = _a("segment", "segment", "summary.json", "json")
SEGMENT_HIST = _a("segment", "segment", "clothing_share_hist.png", "png")
# preprocess
TEXTS = _a("preprocess", "preprocess", "texts.parquet", "table", "texts")
PREPROCESS_SUMMARY = _a("preprocess", "preprocess", "summary.json", "json")
# embed
IMAGE_MATRIX = _a("embed", "embed", "image.npy", "matrix")
IMAGE_IDS = _a("embed", "embed", "image_ids.parquet", "table", "ids")
TEXT_MATRIX = _a("embed", "embed", "text.npy", "matrix")
TEXT_IDS = _a("embed", "embed", "text_ids.parquet", "table", "ids")
EMBED_DROPPED = _a("embed", "embed", "dropped.parquet", "table", "dropped")
EMBED_SUMMARY = _a("embed", "embed", "summary.json", "json")
# The per-modality (vectors, ids) pairs, as reduce reads them.
EMBEDDINGS = {"image": (IMAGE_MATRIX, IMAGE_IDS), "text": (TEXT_MATRIX, TEXT_IDS)}
# reduce
FEATURES = _a("reduce", "reduce", "features.npy", "matrix")
FEATURE_IDS = _a("reduce", "reduce", "ids.parquet", "table", "ids")
MAP2D = _a("reduce", "reduce", "map2d.npy", "matrix")
REDUCE_DROPPED = _a("reduce", "reduce", "dropped.parquet", "table", "dropped")
REDUCE_SUMMARY = _a("reduce", "reduce", "summary.json", "json")
# select_k
SELECT_K = _a("select_k", "select_k", "select_k.json", "json")
SILHOUETTE = _a("select_k", "select_k", "silhouette.csv", "csv", "silhouette")
# cluster
LABELS = _a("cluster", "cluster", "labels.parquet", "table", "labels")
REPRESENTATIVES = _a("cluster", "cluster", "representatives.parquet", "table", "representatives")
METRICS = _a("cluster", "reports", "metrics.json", "json")
# report
REPORT_PAGE = _a("report", "reports", "index.html", "html")
REPORT_FIGURES = _a("report", "reports", "figures", "folder")
REPORT_THUMBS = _a("report", "reports", "thumbs", "folder")  # cluster cards' JPEG thumbnails
# report.interactive: the plotly map (a placeholder page when off) and its hover thumbnails
REPORT_MAP = _a("report", "reports", "map.html", "html")
REPORT_MAP_THUMBS = _a("report", "reports", "map_thumbs", "folder")
MONTHLY = _a("report", "reports", "monthly_proportions.csv", "csv")
TOP_PER_MONTH = _a("report", "reports", "top5_per_month.csv", "csv")
CLUSTERS = _a("report", "reports", "clusters.json", "json")
TRENDS = _a("report", "reports", "trends.json", "json")
MEMBERSHIP_CSV = _a("report", "reports", "posts_clusters.csv", "csv")
# the same table as one sheet; written by storage.report_files.write_table_xlsx (byte-stable,
# the only .xlsx writer: write_artifact refuses this kind)
MEMBERSHIP_XLSX = _a("report", "reports", "posts_clusters.xlsx", "xlsx")

ARTIFACTS: tuple[Artifact, ...] = tuple(v for v in list(globals().values())
                                        if isinstance(v, Artifact))

# Written by stages but deliberately not DVC outputs: the content-addressed vector store
# (params.yaml paths.embed_cache, persists across runs), jieba's dictionary cache and the run logs
# (paths.logs: the embed run record of cache hits and timings, different every run).
UNTRACKED = ("embed_cache", "jieba_cache", "logs")


def of_stage(stage: str) -> list[Artifact]:
    """The artifacts `stage` writes, in catalog order."""
    return [a for a in ARTIFACTS if a.stage == stage]


def stage_command(dvc_yaml: Path, params_file: Path, name: str, python: str) -> list[str]:
    """Stage `name`'s dvc.yaml `cmd` as an argv, `${...}` filled from `params_file`.

    The stage runs as DVC would run it, without DVC: the leading `python` becomes `python` (the
    venv's interpreter) and `--params params_file` is appended. Benchmarks and tests use this so
    that no flag or file name of a stage is spelled a second time.

    Args:
        dvc_yaml: the project's dvc.yaml.
        params_file: a params.yaml whose `paths:` say where the stage reads and writes.
        name: the stage.
        python: interpreter for the stage script.

    Returns:
        The argv; relative script paths are relative to dvc_yaml's folder.
    """
    import re
    import shlex

    import yaml

    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    cmd = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"][name]["cmd"]

    def lookup(match: re.Match) -> str:
        value = params
        for part in match.group(1).split("."):
            value = value[part]
        return str(value)

    argv = shlex.split(re.sub(r"\$\{([^}]+)\}", lookup, cmd))
    if argv[0] in ("python", "python3"):
        argv[0] = python
    return [*argv, "--params", str(params_file)]
