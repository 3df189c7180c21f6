"""validate: each expectation fails on a crafted bad table and is named in the report."""


import pandas as pd
import pytest

from stylecluster import config
from stylecluster import storage
from stylecluster.pipeline import validate
from tests.conftest import write_raw

PARAMS = config.load_section({"validate": {"min_posts": 1}}, "validate")


def _run(table, params=PARAMS, status=None):
    return validate.validate_posts(table, params, status)


def _failed(result):
    return {(e["expectation"], e["column"]) for e in result.report.results if not e["success"]}


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
     ("expect_column_values_to_be_in_set", "posted_at"), "p002"),
    (lambda t: t.assign(posted_at=t["posted_at"].replace({t["posted_at"][1]: "1999-01-01 00:00:00"})),
     ("expect_column_values_to_be_between", "posted_at"), "p001"),
    (lambda t: t.assign(image_path=t["image_path"].replace({"images/p006.png": "../etc/p.png"})),
     ("expect_column_values_to_be_in_set", "image_path"), "p006"),
    (lambda t: t.assign(image_path=t["image_path"].replace({"images/p007.png": "/abs/p.png"})),
     ("expect_column_values_to_be_in_set", "image_path"), "p007"),
])
def test_each_blocking_expectation(table, mutate, expected, example):
    result = _run(mutate(table.copy()))
    assert not result.ok
    assert expected in _failed(result), result.report.results
    entry = next(e for e in result.report.results
                 if (e["expectation"], e["column"]) == expected)
    assert entry["blocking"] and entry["unexpected_count"] >= 1 and entry["fix"]
    if example:
        assert example in entry["examples"]
    assert result.posts is None


def test_image_status_blocks_and_names_post(table):
    status = pd.Series(["ok"] * len(table))
    status[4] = "missing"
    result = _run(table, status=status)
    assert ("expect_column_values_to_be_in_set", "image_path") in _failed(result)
    assert any("p004" in line for line in result.blocking_failures)


def test_label_set(table):
    params = config.load_section({"validate": {"labels": ["连衣裙"], "min_posts": 1}}, "validate")
    result = _run(table, params)
    entry = next(e for e in result.report.results if e["column"] == "label")
    assert not entry["success"] and entry["unexpected_count"] == 5


def test_long_captions_are_soft(table):
    params = config.load_section({"validate": {"caption_max_chars": 5, "caption_mostly": 0.9,
                                               "min_posts": 1}},
                                 "validate")
    result = _run(table, params)
    assert result.ok, "caption bounds never block"
    assert result.report.n_soft_failures == 1


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
    status = storage.image_status(raw_dir, paths).tolist()
    assert status[0] == "ok" and status[1].startswith("unreadable") and status[2] == "missing"
    assert status[3] == "unsafe path"


def test_text_only_and_undated_posts_are_posts(table):
    t = table.copy()
    t.loc[1, "image_path"] = None
    t.loc[2, "image_path"] = "  "
    t.loc[3, "posted_at"] = None
    t.loc[4, "posted_at"] = ""
    status = pd.Series(["ok"] * len(t))
    status[[1, 2]] = "no image"
    result = _run(t, status=status)
    assert result.ok, result.blocking_failures
    posts = result.posts.set_index("post_id")
    assert posts.loc["p001", "image_path"] is None and posts.loc["p002", "image_path"] is None
    assert posts.loc[["p003", "p004"], "month"].isna().all()
    assert result.report.n_undated == 2 and result.report.n_text_only == 2
    assert result.posts["post_id"].tolist()[-2:] == ["p003", "p004"], "undated sort last"


@pytest.mark.parametrize("undated, ok, n", [("keep", True, 10), ("drop", True, 9),
                                            ("error", False, None)])
def test_undated_policy(table, undated, ok, n):
    t = table.copy()
    t.loc[5, "posted_at"] = None
    params = config.load_section({"validate": {"undated": undated, "min_posts": 1}}, "validate")
    result = _run(t, params)
    assert result.ok is ok, result.blocking_failures
    if ok:
        assert len(result.posts) == n
        assert (result.report.n_undated_dropped or 0) == 10 - n
    else:
        assert any("validate.undated" in line and "p005" in line
                   for line in result.blocking_failures)


def test_too_few_posts_stop_with_the_minimum(table):
    params = config.load_section({"validate": {"min_posts": 12}}, "validate")
    result = _run(table, params)
    assert not result.ok
    assert "only 10 post(s) remain" in result.blocking_failures[0]
    assert "validate.min_posts = 12" in result.blocking_failures[0]


def test_control_characters_removed_and_counted(table):
    t = table.copy()
    t.loc[0, "content"] = "连衣裙\x1b[31m红\x07色\u202e反\n第二行\t好"
    t.loc[1, "content"] = None  # a missing caption is not a cleaned one
    t.loc[2, "tags"] = None
    result = _run(t)
    assert result.posts.set_index("post_id").loc["p000", "content"] == "连衣裙[31m红色反\n第二行\t好"
    assert result.report.n_control_char_cells == 1


def test_kept_columns_pass_through(table):
    result = _run(table.assign(likes=range(10), author="a"))
    assert result.posts.set_index("post_id").loc["p003", "likes"] == 3
    assert result.report.extra_columns == ["likes", "author"]
