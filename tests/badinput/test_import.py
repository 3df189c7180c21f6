"""Bad-input corpus, import and validate: real scrape formats, unsafe paths, dates, params.

Each case runs `stylecluster import` (in process, through `cli.main`) or the validate core inside a
sentinel tree, then asserts a CLEAR error (file/row/param and the fix) or a counted outcome, and
that nothing outside `--out` changed. Regression inputs are written by the cases themselves; the
comment on each names the finding of issue 12 it turns into a test.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from stylecluster import catalog
from stylecluster import cli, config
from stylecluster import storage
from stylecluster.pipeline import validate

MAP = "post_id=id,content=text,tags=tags,posted_at=date,image_path=img"


@pytest.fixture()
def world(sentinel):
    """An export (posts table written by each case, three images) inside the sentinel tree."""
    export = sentinel.root / "a" / "export"
    (export / "imgs" / "sub").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (16, 16), (i * 60, 10, 10)).save(export / "imgs" / "sub" / f"{i}.jpg")
    sentinel.export = export
    sentinel.out = sentinel.root / "project" / "data" / "raw"
    sentinel.out.parent.mkdir(parents=True)  # --out's parent exists, as in a project
    return sentinel


def rows(n=3, **columns):
    base = {"id": [f"n{i}" for i in range(n)], "text": [f"连衣裙 {i}" for i in range(n)],
            "tags": ["#穿搭"] * n, "date": [f"2023-05-{17 + i} 08:30" for i in range(n)],
            "img": [f"sub/{i}.jpg" for i in range(n)]}
    base.update(columns)
    return pd.DataFrame(base)


def write(world, table, name="posts.csv", **kw):
    path = world.export / name
    if name.endswith(".csv"):
        table.to_csv(path, index=False, **kw)
    elif name.endswith(".parquet"):
        table.to_parquet(path, index=False)
    elif name.endswith(".xlsx"):
        table.to_excel(path, index=False)
    else:
        table.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


def run_import(world, caplog, posts, *extra, snapshot=True, images=True):
    """Run `stylecluster import`; return (exit code, every logged message)."""
    argv = ["import", "--posts", str(posts), "--map", MAP, "--out", str(world.out),
            "--params", str(world.root / "no-params.yaml"), *extra]
    if images:
        argv += ["--images", str(world.export / "imgs")]
    if snapshot:
        world.snapshot()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stylecluster"):
        code = cli.main(argv)
    return code, "\n".join(r.getMessage() for r in caplog.records)


def raw_table(world):
    return pd.read_parquet(world.out / catalog.RAW_POSTS)


def record(world):
    return json.loads((world.out / "import.json").read_text(encoding="utf-8"))


def assert_refused(world, code, text, *patterns):
    assert code == 1, text
    for pattern in patterns:
        assert pattern in text, f"{pattern!r} not in: {text}"
    world.assert_unchanged()  # nothing at all changed: not --out, not the export, not the decoys
    assert not world.out.exists()


# --- paths: never outside --images or --out ----------------------------------------------------

@pytest.mark.parametrize("path", ["../../victim.txt", "../../../victim.txt", "sub/../../../victim.txt",
                                  "/tmp/victim.txt", "C:\\export\\0.jpg"])
def test_traversal_and_absolute_paths_refused(world, caplog, path):
    # Finding: `../../victim.txt` deleted a file outside --out; an absolute path became images/tmp
    posts = write(world, rows(img=["sub/0.jpg", path, "sub/2.jpg"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "row 2 (1 = first data row)", "not a path inside --images")


def test_symlink_out_of_the_images_folder_refused(world, caplog):
    os.symlink(world.root / "victim.txt", world.export / "imgs" / "sub" / "evil.jpg")
    posts = write(world, rows(img=["sub/0.jpg", "sub/evil.jpg", "sub/2.jpg"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "post n1", "outside --images", "symlink")


def test_symlink_inside_the_images_folder_is_followed(world, caplog):
    os.symlink("0.jpg", world.export / "imgs" / "sub" / "alias.jpg")
    posts = write(world, rows(img=["sub/alias.jpg", "sub/1.jpg", "sub/2.jpg"]))
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    copied = world.out / "images" / "sub" / "alias.jpg"
    assert not copied.is_symlink()
    assert copied.read_bytes() == (world.export / "imgs/sub/0.jpg").read_bytes()
    world.assert_unchanged(allowed=(world.out,))


def test_in_place_reimport_keeps_every_image(world, caplog):
    # Finding: `--images data/raw/images --out data/raw --force` deleted the first image, crashed
    posts = write(world, rows())
    assert run_import(world, caplog, posts)[0] == 0
    raw_csv = world.out / "posts.csv"
    raw_table(world).assign(id=lambda t: t["post_id"], text=lambda t: t["content"],
                            date=lambda t: t["posted_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            img=lambda t: t["image_path"].str.removeprefix("images/")
                            ).to_csv(raw_csv, index=False)
    before = {p.name: p.read_bytes() for p in (world.out / "images/sub").iterdir()}
    world.snapshot()
    argv = ["import", "--posts", str(raw_csv), "--images", str(world.out / "images"), "--map", MAP,
            "--out", str(world.out), "--force", "--params", str(world.root / "none.yaml")]
    assert cli.main(argv) == 0
    after = {p.name: p.read_bytes() for p in (world.out / "images/sub").iterdir()}
    assert after == before
    assert raw_table(world)["image_path"].tolist() == [f"images/sub/{i}.jpg" for i in range(3)]
    world.assert_unchanged(allowed=(world.out,))


def test_force_replaces_the_folder_whole(world, caplog):
    # Finding: --force into a folder with older images kept them, so `dvc add` versioned them
    world.out.mkdir(parents=True)
    (world.out / "images").mkdir()
    (world.out / "images" / "stale.jpg").write_bytes(b"old")
    (world.out / catalog.RAW_POSTS).write_bytes(b"old table")
    code, text = run_import(world, caplog, write(world, rows()), "--force")
    assert code == 0, text
    assert not (world.out / "images" / "stale.jpg").exists()
    assert sorted(p.name for p in world.out.iterdir()) == [catalog.RAW_IMAGES, catalog.RAW_IMPORT_RECORD, catalog.RAW_POSTS]
    world.assert_unchanged(allowed=(world.out,))
    assert not [p for p in world.out.parent.iterdir() if p.name.startswith(".")], "no leftovers"


def test_existing_out_without_force_untouched(world, caplog):
    world.out.mkdir(parents=True)
    (world.out / catalog.RAW_POSTS).write_bytes(b"precious")
    code, text = run_import(world, caplog, write(world, rows()))
    assert code == 1 and "pass --force to replace it whole" in text
    world.assert_unchanged()


def test_a_failing_import_leaves_out_exactly_as_before(world, caplog):
    world.out.mkdir(parents=True)
    (world.out / catalog.RAW_POSTS).write_bytes(b"precious")
    posts = write(world, rows(date=["2023-05-17 08:30", "yesterday", "2023-05-19 08:30"]))
    code, text = run_import(world, caplog, posts, "--force")
    assert code == 1 and "row" in text
    world.assert_unchanged()
    assert (world.out / catalog.RAW_POSTS).read_bytes() == b"precious"


@pytest.mark.parametrize("what", ["project", "cwd", "file", "symlink"])
def test_out_that_is_not_a_raw_folder_refused(world, caplog, monkeypatch, what):
    project = world.root / "project"
    (project / "dvc.yaml").write_text("stages: {}\n")
    target = {"project": project, "cwd": world.root / "a", "file": project / "dvc.yaml",
              "symlink": world.root / "link"}[what]
    if what == "cwd":
        monkeypatch.chdir(world.export)
    if what == "symlink":
        os.symlink(project, target)
    world.out = target
    code, text = run_import(world, caplog, write(world, rows()), "--force")
    assert code == 1, text
    assert {"project": "it is a project", "cwd": "holds the current folder",
            "file": "must be a folder", "symlink": "must be a folder"}[what] in text
    world.assert_unchanged()


def test_missing_image_folder_and_missing_files(world, caplog):
    posts = write(world, rows(img=["sub/0.jpg", "sub/nope.jpg", "sub/2.jpg"]))
    code, text = run_import(world, caplog, posts, "--images", str(world.root / "nowhere"),
                            images=False)
    assert_refused(world, code, text, "nowhere: image folder not found", "--images")
    code, text = run_import(world, caplog, posts)
    assert code == 0 and "1 missing" in text and "validate will list them" in text
    assert record(world)["missing_images"] == ["n1"]


# --- dates ---------------------------------------------------------------------------------------

def months(world):
    parsed = raw_table(world)["posted_at"]
    return validate.month_key(parsed, "Asia/Shanghai").tolist()


@pytest.mark.parametrize("dates, fmt, expected", [
    # Finding: a UTC `...Z` with %z was stored 8 hours off (wrong month)
    (["2023-05-31T20:00:00Z"] * 3, "%Y-%m-%dT%H:%M:%S%z", ["2023-06"] * 3),
    # Finding: mixed UTC offsets crashed (AttributeError: Can only use .dt accessor)
    (["2023-05-31T20:00:00Z", "2023-06-01T01:00:00+08:00", "2023-05-31T23:30:00-01:00"], "auto",
     ["2023-06", "2023-06", "2023-06"]),
    # Finding: `--date-format %s` crashed with a traceback
    (["1685563200", "1685563200", "1685563200"], "%s", ["2023-06"] * 3),
    # Finding: epoch milliseconds (what scrapers write) could not be imported
    (["1685563200000"] * 3, "epoch_ms", ["2023-06"] * 3),
    (["1685563200000", "2023/5/7", "2023年5月17日"], "auto", ["2023-06", "2023-05", "2023-05"]),
])
def test_dates_are_exact(world, caplog, dates, fmt, expected):
    code, text = run_import(world, caplog, write(world, rows(date=dates)), "--date-format", fmt)
    assert code == 0, text
    assert months(world) == expected


def test_tz_aware_parquet_column_is_not_shifted(world, caplog):
    # Finding: a tz-aware Parquet column plus --date-format was stored 8 hours off
    stamps = pd.to_datetime(["2023-05-31 20:00"] * 3).tz_localize("UTC")
    posts = write(world, rows(date=stamps), catalog.RAW_POSTS)
    code, text = run_import(world, caplog, posts, "--date-format", "%Y-%m-%d %H:%M")
    assert code == 0, text
    assert months(world) == ["2023-06"] * 3
    assert str(raw_table(world)["posted_at"].iloc[0]) == "2023-05-31 20:00:00+00:00"


def test_bad_dates_named_at_import_not_in_validate(world, caplog):
    # Finding: without --date-format the import succeeded; validate then named `posted_at_naive`
    posts = write(world, rows(date=["2023-05-17 08:30", "17.05.23 8h", "2023-13-01"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "2 value(s) of column 'date'", "rows [2, 3]",
                   "17.05.23 8h", "--date-format")


def test_daylight_saving_gap_says_so(world, caplog):
    # Finding: a DST gap gave a misleading "set time_format" fix
    posts = write(world, rows(date=["2023-03-26 02:30"] * 3))
    code, text = run_import(world, caplog, posts, "--timezone", "Europe/Berlin")
    assert_refused(world, code, text, "daylight-saving", "UTC offset", "rows [1, 2, 3]")


def test_help_prints_single_percent(capsys):
    # Finding: `--help` printed %%Y/%%m/%%d
    with pytest.raises(SystemExit):
        cli.main(["import", "--help"])
    out = capsys.readouterr().out
    assert "'%Y/%m/%d %H:%M'" in out and "%%" not in out


def test_yearless_dates(world, caplog):
    # Finding: year-less dates (05-17) mixed with full ones could not be parsed at all
    posts = write(world, rows(date=["2023-12-30 10:00", "12-31", "2024-01-02"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "rows [2]", "--date-year")
    code, text = run_import(world, caplog, posts, "--date-year", "infer")
    assert code == 0, text
    assert months(world) == ["2023-12", "2023-12", "2024-01"]
    assert record(world)["counts"]["yearless_dated"] == 1


def test_leap_day_on_a_common_year_is_an_error(world, caplog):
    posts = write(world, rows(date=["02-29", "03-01", "03-02"]))
    code, text = run_import(world, caplog, posts, "--date-year", "2023")
    assert_refused(world, code, text, "rows [1]")


def test_undated_posts_are_kept_and_counted(world, caplog):
    # Finding: a post without a date could not be imported (3/4 of one real scrape had none)
    posts = write(world, rows(date=["2023-05-17", "", "nan"]))
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    assert raw_table(world)["posted_at"].isna().tolist() == [False, True, True]
    assert "undated 2" in text and record(world)["counts"]["undated"] == 2


@pytest.mark.parametrize("argv, message", [
    (["--date-format", "YYYY-MM-DD"], "--date-format = 'YYYY-MM-DD' is not a date format"),
    (["--date-year", "23"], "--date-year '23': expected a year"),
    (["--timezone", "Asia/Beijing"], "--timezone = 'Asia/Beijing' is not a time zone"),
    (["--encoding", "klingon"], "--encoding 'klingon' is not a codec"),
    (["--keep", "content"], "--keep: ['content'] are canonical columns"),
    (["--keep", "likes"], "column(s) ['likes'] not found"),
])
def test_bad_options_named(world, caplog, argv, message):
    code, text = run_import(world, caplog, write(world, rows()), *argv)
    assert_refused(world, code, text, message)


# --- tables --------------------------------------------------------------------------------------

def test_gbk_csv_is_read_and_said(world, caplog):
    # Finding: a GBK/GB18030 CSV (Chinese Excel's export) was refused
    posts = write(world, rows(text=["羽绒服真暖和", "连衣裙", "大衣"]), encoding="gbk")
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    assert "read as gb18030" in text
    assert raw_table(world)["content"].tolist()[0] == "羽绒服真暖和"


def test_utf8_bom_does_not_rename_the_first_column(world, caplog):
    posts = write(world, rows(), encoding="utf-8-sig")
    code, text = run_import(world, caplog, posts)
    assert code == 0 and "read as utf-8" in text, text


def test_wrong_explicit_encoding_names_byte_and_fix(world, caplog):
    posts = write(world, rows(text=["羽绒服"] * 3), encoding="gbk")
    code, text = run_import(world, caplog, posts, "--encoding", "utf-8")
    assert_refused(world, code, text, "posts.csv: not readable as utf-8", "--encoding")


def test_xlsx_with_numeric_ids(world, caplog):
    # Finding: .xlsx was unsupported; Excel stores ids as numbers
    posts = write(world, rows(id=[101, 102, 103]), "posts.xlsx")
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    assert raw_table(world)["post_id"].tolist() == ["101", "102", "103"]


def test_broken_jsonl_line_is_numbered(world, caplog):
    # Finding: a broken JSONL line gave no line number
    posts = write(world, rows(), "posts.jsonl")
    lines = posts.read_text(encoding="utf-8").splitlines()
    lines.insert(1, '{"id": "n9", "text": "断了')
    posts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "posts.jsonl: line 2 is not valid JSON", "Fix or remove")


def test_jsonl_line_that_is_not_an_object(world, caplog):
    posts = world.export / "posts.jsonl"
    posts.write_text('{"id": "n0", "date": "2023-05-01", "img": "sub/0.jpg"}\n[1, 2]\n')
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "line 2 is a JSON list, not an object")


def test_empty_id_cell_is_an_error(world, caplog):
    # Finding: an empty id cell became the string "nan"
    posts = write(world, rows(id=["n0", "", "n2"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "empty post id in column 'id'", "rows [2]")


@pytest.mark.parametrize("tags, expected", [
    # Finding: tags stored as a JSON list became `#[' #穿搭分享' ...`
    ('["#穿搭分享", "#通勤"]', "#穿搭分享 #通勤"),
    ("穿搭分享,通勤", "#穿搭分享 #通勤"),
    ("穿搭分享 通勤", "#穿搭分享 #通勤"),
    ("#穿搭分享#通勤", "#穿搭分享 #通勤"),
    ("穿搭分享、通勤", "#穿搭分享 #通勤"),
])
def test_tag_styles_normalised(world, caplog, tags, expected):
    code, text = run_import(world, caplog, write(world, rows(tags=[tags] * 3)))
    assert code == 0, text
    assert raw_table(world)["tags"].tolist() == [expected] * 3


def test_multi_image_cell_keeps_first_and_counts(world, caplog):
    # Finding: a multi-image cell only warned, then validate failed
    posts = write(world, rows(img=["sub/0.jpg,sub/1.jpg", "sub/1.jpg", '["sub/2.jpg", "sub/0.jpg"]']))
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    assert raw_table(world)["image_path"].tolist() == ["images/sub/0.jpg", "images/sub/1.jpg",
                                                       "images/sub/2.jpg"]
    assert record(world)["counts"]["extra_images_ignored"] == 2
    code, text = run_import(world, caplog, posts, "--all-images", "--force")
    assert code == 0, text
    assert raw_table(world)["post_id"].tolist() == ["n0_1", "n0_2", "n1", "n2_1", "n2_2"]


def test_title_and_content_joined(world, caplog):
    # Finding: there was no way to join title and content
    table = rows().rename(columns={"id": "笔记ID", "text": "内容", "tags": "标签", "date": "发布时间",
                                   "img": "图片"}).assign(标题=["冬日穿搭", None, "通勤"])
    posts = write(world, table)
    world.snapshot()
    argv = ["import", "--posts", str(posts), "--images", str(world.export / "imgs"), "--map",
            "post_id=笔记ID,content=标题+内容,tags=标签,posted_at=发布时间,image_path=图片",
            "--out", str(world.out), "--params", str(world.root / "none.yaml")]
    assert cli.main(argv) == 0
    assert raw_table(world)["content"].tolist() == ["冬日穿搭\n连衣裙 0", "连衣裙 1", "通勤\n连衣裙 2"]


def test_extra_columns_named_or_kept_through_validate(world, caplog):
    # Finding: extra columns (likes, author) were dropped silently
    posts = write(world, rows(likes=[5, 7, 9], author=["a", "b", "c"]))
    code, text = run_import(world, caplog, posts)
    assert code == 0 and "['likes', 'author']" in text and "--keep likes,author" in text
    code, text = run_import(world, caplog, posts, "--keep", "likes,author", "--force")
    assert code == 0, text
    raw = raw_table(world)
    result = validate.validate_posts(raw, config.load_section(
        {"validate": {"min_posts": 1}}, "validate"), storage.image_status(world.out, raw["image_path"]))
    assert result.ok, result.blocking_failures
    assert result.posts["likes"].tolist() == ["5", "7", "9"]


def test_duplicated_post_ids(world, caplog):
    # Finding: duplicated rows (re-visited posts) stopped validate with no way to keep the first
    posts = write(world, rows(id=["n0", "n1", "n0"], text=["first", "b", "second"]))
    code, text = run_import(world, caplog, posts)
    assert_refused(world, code, text, "repeat a post id", "['n0'] at rows [3]", "--dedupe first")
    code, text = run_import(world, caplog, posts, "--dedupe", "first")
    assert code == 0 and "duplicates dropped 1" in text
    assert raw_table(world)["content"].tolist() == ["first", "b"]


def test_text_only_posts_import_and_validate(world, caplog):
    # Finding: a post without an image could not be imported or validated, even for text modality
    posts = write(world, rows(img=["sub/0.jpg", "", None]))
    code, text = run_import(world, caplog, posts)
    assert code == 0, text
    raw = raw_table(world)
    assert raw["image_path"].isna().tolist() == [False, True, True]
    result = validate.validate_posts(raw, config.load_section(
        {"validate": {"min_posts": 1}}, "validate"), storage.image_status(world.out, raw["image_path"]))
    assert result.ok, result.blocking_failures
    assert result.report.n_text_only == 2


def test_text_only_export_needs_no_image_folder(world, caplog):
    posts = write(world, rows().drop(columns=["img"]))
    world.snapshot()
    code = cli.main(["import", "--posts", str(posts), "--map", "post_id=id,content=text,posted_at=date",
                     "--out", str(world.out), "--params", str(world.root / "none.yaml")])
    assert code == 0
    assert raw_table(world)["image_path"].isna().all()


def test_the_export_is_never_modified(world, caplog):
    posts = write(world, rows())
    code, text = run_import(world, caplog, posts, "--link")
    assert code == 0, text
    world.assert_unchanged(allowed=(world.out,))  # sources: same bytes, same modes


# --- validate and params -------------------------------------------------------------------------

def _validate(raw, **params):
    return validate.validate_posts(raw, config.load_section({"validate": params}, "validate"))


def test_validate_names_image_reasons(world):
    # Finding: validate's failure never said whether an image was missing, unreadable or too large
    raw = world.out
    (raw / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(raw / "images" / "ok.png")
    (raw / "images" / "broken.png").write_bytes(b"\x89PNG not really")
    table = pd.DataFrame({"post_id": ["a", "b", "c", "d"], "content": "c", "tags": None,
                          "posted_at": "2024-01-01 10:00:00",
                          "image_path": ["images/ok.png", "images/broken.png", "images/gone.png",
                                         None]})
    status = storage.image_status(raw, table["image_path"])
    result = validate.validate_posts(table, config.load_section({"validate": {"min_posts": 1}},
                                                                "validate"), status)
    line = next(x for x in result.blocking_failures if "image_path" in x)
    assert "missing: 1 (e.g. c)" in line and "unreadable: 1 (e.g. b)" in line
    reasons = {p["post_id"]: p["reason"].split(":")[0] for p in result.report.image_problems}
    assert reasons == {"b": "unreadable", "c": "missing"}


def test_validate_time_format_auto_and_epoch():
    raw = pd.DataFrame({"post_id": ["a", "b"], "content": "c", "tags": None,
                        "posted_at": ["1685563200000", "2023-06-01T00:00:00+08:00"],
                        "image_path": None})
    result = _validate(raw, time_format="auto", min_posts=1)
    assert result.ok, result.blocking_failures
    assert result.posts["month"].tolist() == ["2023-06", "2023-06"]


@pytest.mark.parametrize("params, message", [
    # Finding: `validate.timezone: Asia/Beijing` passed check-params and crashed validate
    ({"validate": {"timezone": "Asia/Beijing"}}, "'Asia/Beijing' is not a time zone"),
    # Finding: a misspelt section (`selct_k:`) was ignored ("9 sections valid")
    ({"selct_k": {"k_max": 10}}, "unknown section(s) 'selct_k' (did you mean 'select_k'?)"),
    # Finding: an unknown encoder name passed check-params
    ({"embed": {"text_encoder": "text2vec"}}, "'text2vec' is not a registered encoder"),
    ({"embed": {"image_encoder": "e5-small"}}, "encodes text, not image"),
    ({"segment": {"method": "sam"}}, "[segment.method] = 'sam' is not allowed"),
    ({"validate": {"time_format": "YYYY-MM-DD"}}, "auto, epoch_s, epoch_ms or a strptime"),
    ({"validate": {"undated": "ignore"}}, "[validate.undated] = 'ignore'"),
])
def test_params_rejected_before_any_work(tmp_path, caplog, params, message):
    full = storage.read_params(Path(__file__).resolve().parents[2] / "params.yaml")
    for section, values in params.items():
        full[section] = {**full.get(section, {}), **values}
    path = tmp_path / "params.yaml"
    import yaml

    path.write_text(yaml.safe_dump(full, allow_unicode=True), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="stylecluster"):
        assert cli.main(["check-params", "--params", str(path)]) == 1
    assert message in caplog.text


def test_too_few_posts_stop_at_validate():
    # Finding: too few posts (0-11) were found only at reduce
    raw = pd.DataFrame({"post_id": [f"p{i}" for i in range(5)], "content": "c", "tags": None,
                        "posted_at": "2024-01-01 10:00:00", "image_path": None})
    result = _validate(raw)
    assert not result.ok
    assert "only 5 post(s) remain" in result.blocking_failures[0]
    assert "validate.min_posts = 12" in result.blocking_failures[0]
