"""import: column mapping, date formats, and each bad input's message."""


import pandas as pd
import pytest
from PIL import Image

from stylecluster import importer
from stylecluster.errors import ConfigError, DataError


def _export(tmp_path, n=4):
    imgs = tmp_path / "export_imgs" / "sub"
    imgs.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(imgs / f"{i}.jpg")
    return pd.DataFrame({
        "id": [f"n{i}" for i in range(n)],
        "post_content": ["花卉连衣裙这样搭配真的好好看❤️ - 小红书,,05-17,,", None, "nan", "大衣"][:n],
        "post_tag": ["#每日穿搭 #连衣裙", "#大衣", None, ""][:n],
        "date": ["2023/05/17 08:30", "2023/06/01 00:00", "2023/12/31 23:59", "2024/01/01 10:00"][:n],
        "img": [f"sub/{i}.jpg" for i in range(n)],
        "style": ["连衣裙", "大衣", "大衣", "大衣"][:n],
    })


MAP = "post_id=id,content=post_content,tags=post_tag,posted_at=date,image_path=img,label=style"


def _canon(export, spec=MAP, date_format="%Y/%m/%d %H:%M", **kw):
    options = importer.ImportOptions(mapping=importer.parse_column_map(spec),
                                     date_format=date_format, **kw)
    return importer.to_canonical(export, options).table


def test_parse_map():
    assert importer.parse_column_map("content=标题+内容, tags=post_tag") == {
        "content": ("标题", "内容"), "tags": ("post_tag",)}


@pytest.mark.parametrize("spec, message", [
    ("caption=post_content", r"unknown canonical column 'caption'; allowed: post_id, content"),
    ("content", r"'content' is not canonical=theirs"),
    ("content=", r"no source column given for 'content'"),
    ("posted_at=a+b", r"'posted_at' takes one column; only content, tags can join"),
])
def test_bad_map(spec, message):
    with pytest.raises(ConfigError, match=message):
        importer.parse_column_map(spec)


def test_to_canonical_maps_and_formats_dates(tmp_path):
    out = _canon(_export(tmp_path))
    assert list(out.columns) == ["post_id", "content", "tags", "posted_at", "image_path", "label"]
    # 08:30 in Shanghai is 00:30 UTC: the table holds exact UTC instants
    assert str(out["posted_at"].iloc[0]) == "2023-05-17 00:30:00+00:00"
    assert out["image_path"].tolist()[0] == "sub/0.jpg"
    assert out["content"].tolist()[1] is None  # NaN stays missing; cleaning is preprocess's job
    assert out["content"].tolist()[2] == "nan"
    assert out["tags"].tolist()[:2] == ["#每日穿搭 #连衣裙", "#大衣"]


def test_unmapped_text_columns_stay_missing_never_the_tag_nan(tmp_path):
    # an image-only export (no content, no tags column) once came out with tags "#nan" everywhere
    out = _canon(_export(tmp_path), "post_id=id,posted_at=date,image_path=img,label=style")
    assert out["content"].isna().all() and out["tags"].isna().all(), out["tags"].tolist()
    assert [importer.normalise_tags(v) for v in (None, float("nan"), pd.NA, "")] == [None] * 4


def test_unknown_source_column_named(tmp_path):
    export = _export(tmp_path)
    with pytest.raises(DataError, match=r"x.csv: column\(s\) \['post_text'\] not found; the file "
                                        r"has \['id'"):
        importer.to_canonical(export, importer.ImportOptions(
            mapping={"content": ("post_text",), "posted_at": ("date",)}, source="x.csv"))


def test_date_format_mismatch_names_rows(tmp_path):
    with pytest.raises(DataError, match=r"4 value\(s\) of column 'date' do not parse with "
                                        r"--date-format '%Y-%m-%d'.*rows \[1, 2, 3, 4\]"):
        _canon(_export(tmp_path), date_format="%Y-%m-%d")


def test_post_id_defaults_to_row_number(tmp_path):
    export = _export(tmp_path).drop(columns=["id"])
    out = _canon(export, "posted_at=date,image_path=img")
    assert out["post_id"].tolist() == ["row000001", "row000002", "row000003", "row000004"]


