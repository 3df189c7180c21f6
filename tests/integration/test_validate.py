"""Stage-script tests (integration tier) for validate; pure tests live in tests/unit/test_validate.py."""



from stylecluster import catalog
from stylecluster import storage
from tests.harness import run_stage


def test_stage_fails_with_summary_and_keeps_raw(raw_dir, tmp_path):
    (raw_dir / "images" / "p003.png").write_bytes(b"garbage")
    before = (raw_dir / catalog.RAW_POSTS).read_bytes()
    (tmp_path / "params.yaml").write_text("base: {progress: false}\nvalidate: {min_posts: 1}\n")
    proc = run_stage("validate", "--raw", raw_dir, "--out", tmp_path / "v",
                     "--report", tmp_path / catalog.VALIDATION.name, params=tmp_path / "params.yaml",
                     cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "'image_path'" in proc.stderr and "p003" in proc.stderr and "Fix:" in proc.stderr
    assert "unreadable: 1" in proc.stderr
    report = storage.read_json(tmp_path / catalog.VALIDATION.name)
    assert report["success"] is False
    assert not (tmp_path / "v" / catalog.POSTS.name).exists()
    assert (raw_dir / catalog.RAW_POSTS).read_bytes() == before


def test_stage_writes_posts(raw_dir, tmp_path):
    (tmp_path / "params.yaml").write_text("base: {progress: false}\nvalidate: {min_posts: 1}\n")
    proc = run_stage("validate", "--raw", raw_dir, "--out", tmp_path / "v",
                     "--report", tmp_path / catalog.VALIDATION.name, params=tmp_path / "params.yaml",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    posts = storage.read_table(tmp_path / "v" / catalog.POSTS.name, "posts")
    assert len(posts) == 12 and posts["post_id"].is_unique
