"""Stage-script tests (integration tier) for importer; pure tests live in tests/unit/test_importer.py."""


import pytest

from stylecluster import catalog
from stylecluster import storage
from tests.harness import run_cli, run_stage
from tests.unit.test_importer import MAP, _export  # noqa: F401 (fixtures too)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_cli_import_each_format_then_validate(tmp_path, suffix):
    export = _export(tmp_path)
    path = tmp_path / f"export{suffix}"
    {".csv": lambda: export.to_csv(path, index=False),
     ".jsonl": lambda: export.to_json(path, orient="records", lines=True, force_ascii=False),
     ".parquet": lambda: export.to_parquet(path, index=False)}[suffix]()
    out = tmp_path / "raw"
    proc = run_cli("import", "--posts", path, "--images",
         tmp_path / "export_imgs", "--map", MAP, "--date-format", "%Y/%m/%d %H:%M", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "4 copied" in proc.stderr
    table = storage.read_table(out / catalog.RAW_POSTS)
    assert len(table) == 4
    # copies by default: the export's files never share an inode with the raw folder
    assert (out / "images/sub/0.jpg").read_bytes() == (tmp_path / "export_imgs/sub/0.jpg").read_bytes()
    assert (out / "images/sub/0.jpg").stat().st_ino != (tmp_path / "export_imgs/sub/0.jpg").stat().st_ino
    if suffix != ".csv":
        return  # validating one imported format is enough (great-expectations takes ~10 s to load)
    (tmp_path / "params.yaml").write_text("base: {progress: false}\nvalidate: {min_posts: 1}\n")
    proc = run_stage("validate", "--raw", out, "--out", tmp_path / "v", "--report",
                     tmp_path / "r.json", params=tmp_path / "params.yaml")
    assert proc.returncode == 0, proc.stderr
    posts = storage.read_table(tmp_path / "v/posts.parquet", "posts")
    assert posts["month"].tolist() == ["2023-05", "2023-06", "2023-12", "2024-01"]


def test_cli_import_missing_image_folder(tmp_path):
    export = _export(tmp_path)
    export.to_csv(tmp_path / "e.csv", index=False)
    proc = run_cli("import", "--posts", tmp_path / "e.csv", "--images",
         tmp_path / "nope", "--map", MAP, "--date-format", "%Y/%m/%d %H:%M", "--out",
         tmp_path / "raw")
    assert proc.returncode == 1
    assert "nope: image folder not found" in proc.stderr and "--images" in proc.stderr


def test_cli_import_unreadable_file(tmp_path):
    bad = tmp_path / "e.parquet"
    bad.write_bytes(b"this is not parquet")
    proc = run_cli("import", "--posts", bad, "--images", tmp_path,
         "--out", tmp_path / "raw")
    assert proc.returncode == 1
    assert "e.parquet: cannot be read as parquet" in proc.stderr


def test_cli_import_unsupported_suffix(tmp_path):
    (tmp_path / "e.xls").write_text("x")
    proc = run_cli("import", "--posts", tmp_path / "e.xls", "--images",
         tmp_path, "--out", tmp_path / "raw")
    assert proc.returncode == 1 and "unsupported posts format '.xls'" in proc.stderr
    assert "save .xls as .xlsx" in proc.stderr
