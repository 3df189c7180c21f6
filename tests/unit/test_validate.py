"""validate: each expectation fails on a crafted bad table and is named in the report."""

import subprocess

import pandas as pd
import pytest

from stylecluster import config, io, validate
from tests.conftest import ROOT, VENV_PYTHON, write_raw

PARAMS = config.load_section({}, "validate")


def _run(table, params=PARAMS, status=None):
    return validate.validate_posts(table, params, status)


def _failed(result):
    return {(e["expectation"], e["column"]) for e in result.report["results"] if not e["success"]}


@pytest.fixture()
def table(tmp_path):
    return write_raw(tmp_path / "raw", n=10)


def test_good_table_normalises(table):
    before = table.copy()
    result = _run(table)
    assert result.ok, result.blocking_failures
    posts = result.posts
    assert str(posts["posted_at"].dt.tz) == "UTC"
    # 12:00 in Shanghai is 04:00 UTC; the month is the local one
    assert (posts["posted_at"].dt.hour == 4).all()
    assert set(posts["month"]) == {"2024-01", "2024-02", "2024-03"}
    pd.testing.assert_frame_equal(table, before)  # raw table untouched


def test_month_is_local_not_utc():
    t = write_raw_like(["2024-02-01 03:00:00"])
    posts = _run(t).posts
    assert posts["month"].tolist() == ["2024-02"], "01:00 local on Feb 1st is still Jan 31 in UTC"


def write_raw_like(dates):
    return pd.DataFrame({"post_id": [f"x{i}" for i in range(len(dates))], "content": "c",
                         "tags": "t", "posted_at": dates,
                         "image_path": [f"images/x{i}.png" for i in range(len(dates))]})


def test_missing_column_blocks_with_fix(table):
    result = _run(table.drop(columns=["image_path"]))
    assert not result.ok
    assert "missing required column(s) ['image_path']" in result.blocking_failures[0]
    assert "--map" in result.blocking_failures[0]


@pytest.mark.parametrize("mutate, expected, example", [
    (lambda t: t.assign(post_id=t["post_id"].where(t.index != 3, None)),
     ("expect_column_values_to_not_be_null", "post_id"), None),
    (lambda t: t.assign(post_id=t["post_id"].replace({"p004": "p005"})),
     ("expect_column_values_to_be_unique", "post_id"), "p005"),
    (lambda t: t.assign(posted_at=t["posted_at"].replace({t["posted_at"][2]: "17/05/2024"})),
     ("expect_column_values_to_not_be_null", "posted_at_naive"), "p002"),
    (lambda t: t.assign(posted_at=t["posted_at"].replace({t["posted_at"][1]: "1999-01-01 00:00:00"})),
     ("expect_column_values_to_be_between", "posted_at_naive"), "p001"),
    (lambda t: t.assign(image_path=t["image_path"].replace({"images/p006.png": "../etc/p.png"})),
     ("expect_column_values_to_be_in_set", "image_path_safe"), "p006"),
    (lambda t: t.assign(image_path=t["image_path"].replace({"images/p007.png": "/abs/p.png"})),
     ("expect_column_values_to_be_in_set", "image_path_safe"), "p007"),
    (lambda t: t.assign(image_path=t["image_path"].where(t.index != 8, None)),
     ("expect_column_values_to_not_be_null", "image_path"), "p008"),
])
def test_each_blocking_expectation(table, mutate, expected, example):
    result = _run(mutate(table.copy()))
    assert not result.ok
    assert expected in _failed(result), result.report["results"]
    entry = next(e for e in result.report["results"]
                 if (e["expectation"], e["column"]) == expected)
    assert entry["blocking"] and entry["unexpected_count"] >= 1 and entry["fix"]
    if example:
        assert example in entry["examples"]
    assert result.posts is None


def test_image_status_blocks_and_names_post(table):
    status = pd.Series(["ok"] * len(table))
    status[4] = "missing"
    result = _run(table, status=status)
    assert ("expect_column_values_to_be_in_set", "image_status") in _failed(result)
    assert any("p004" in line for line in result.blocking_failures)


def test_label_set(table):
    params = config.load_section({"validate": {"labels": ["连衣裙"]}}, "validate")
    result = _run(table, params)
    entry = next(e for e in result.report["results"] if e["column"] == "label")
    assert not entry["success"] and entry["unexpected_count"] == 5


def test_long_captions_are_soft(table):
    params = config.load_section({"validate": {"caption_max_chars": 5, "caption_mostly": 0.9}},
                                 "validate")
    result = _run(table, params)
    assert result.ok, "caption bounds never block"
    assert result.report["n_soft_failures"] == 1


def test_every_failure_is_collected_at_once(table):
    bad = table.copy()
    bad.loc[0, "post_id"] = bad.loc[1, "post_id"]
    bad.loc[2, "posted_at"] = "garbage"
    bad.loc[3, "image_path"] = "../x.png"
    result = _run(bad)
    assert len(result.blocking_failures) == 3, result.blocking_failures


def test_image_status_reads_files(raw_dir):
    (raw_dir / "images" / "p001.png").write_bytes(b"not a png")
    (raw_dir / "images" / "p002.png").unlink()
    paths = pd.Series(["images/p000.png", "images/p001.png", "images/p002.png", "../p.png"])
    status = io.image_status(raw_dir, paths).tolist()
    assert status[0] == "ok" and status[1].startswith("corrupt") and status[2] == "missing"
    assert status[3] == "unsafe path"


def test_stage_fails_with_summary_and_keeps_raw(raw_dir, tmp_path):
    (raw_dir / "images" / "p003.png").write_bytes(b"garbage")
    before = (raw_dir / "posts.parquet").read_bytes()
    (tmp_path / "params.yaml").write_text("base: {progress: false}\nvalidate: {}\n")
    proc = subprocess.run(
        [VENV_PYTHON, ROOT / "stages" / "validate.py", "--raw", raw_dir, "--out", tmp_path / "v",
         "--report", tmp_path / "validation.json", "--params", tmp_path / "params.yaml"],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "image_status" in proc.stderr and "p003" in proc.stderr and "Fix:" in proc.stderr
    report = io.read_json(tmp_path / "validation.json")
    assert report["success"] is False
    assert not (tmp_path / "v" / "posts.parquet").exists()
    assert (raw_dir / "posts.parquet").read_bytes() == before


def test_stage_writes_posts(raw_dir, tmp_path):
    (tmp_path / "params.yaml").write_text("base: {progress: false}\nvalidate: {}\n")
    proc = subprocess.run(
        [VENV_PYTHON, ROOT / "stages" / "validate.py", "--raw", raw_dir, "--out", tmp_path / "v",
         "--report", tmp_path / "validation.json", "--params", tmp_path / "params.yaml"],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    posts = io.read_table(tmp_path / "v" / "posts.parquet", "posts")
    assert len(posts) == 12 and posts["post_id"].is_unique
