"""Tests of the preprocess core (cleaning, jieba tokens, RAKE keywords) and of its stage script."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import emoji
import numpy as np
import pandas as pd
import pytest

from stylecluster import config
from stylecluster import storage
from stylecluster.pipeline import emoji_words, preprocess
from stylecluster.config import PreprocessParams
from stylecluster.errors import ConfigError, DataError
from stylecluster.records import PreprocessSummary

ROOT = Path(__file__).resolve().parents[2]
STOPWORDS_FILE = ROOT / "data" / "external" / "stopwords_zh.txt"
USER_DICT_FILE = ROOT / "data" / "external" / "userdict_fashion_zh.txt"

# The research's example post, split the way the raw export stores it.
EXAMPLE_CONTENT = "花卉连衣裙这样搭配真的好好看❤️ - 小红书,,05-17,,"
EXAMPLE_TAGS = "#白茶姐弟 #每日穿搭 #气质连衣裙 #连衣裙 #显瘦连衣裙"


@pytest.fixture(scope="module")
def jieba_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jieba_cache")


@pytest.fixture(scope="module")
def stopwords() -> frozenset[str]:
    return preprocess.parse_word_list(STOPWORDS_FILE.read_text(encoding="utf-8"))


def _posts(content: list, tags: list | None = None) -> pd.DataFrame:
    tags = tags if tags is not None else [None] * len(content)
    return pd.DataFrame({"post_id": [f"p{i:03d}" for i in range(len(content))],
                         "content": content, "tags": tags})


@pytest.fixture(scope="module")
def run(jieba_cache: Path, stopwords: frozenset[str]):
    def _run(posts: pd.DataFrame, stop: frozenset[str] | None = None, user_dict: str | None = None,
             **params) -> preprocess.PreprocessResult:
        return preprocess.preprocess_posts(
            posts, PreprocessParams(**params), stopwords if stop is None else stop,
            cache_dir=jieba_cache, user_dict=user_dict)
    return _run


def _row(result: preprocess.PreprocessResult, i: int = 0) -> dict:
    return result.texts.iloc[i].to_dict()


# --- the research's example --------------------------------------------------------------------------

@pytest.mark.parametrize("user_dict", [None, "project"])
def test_rake_example_keeps_hashtags_whole_and_drops_dates_and_platform(run, user_dict):
    ud = USER_DICT_FILE.read_text(encoding="utf-8") if user_dict else None
    row = _row(run(_posts([EXAMPLE_CONTENT], [EXAMPLE_TAGS]), user_dict=ud, fields="both"))
    keywords = list(row["keywords"])
    for want in ("每日穿搭", "气质连衣裙", "显瘦连衣裙"):
        assert want in keywords, f"{want} missing from keywords {keywords}"
    for unwanted in ("05", "17", "小红书", "05-17"):
        assert not any(unwanted in k for k in keywords), f"{unwanted} in keywords {keywords}"
    assert "小红书" not in row["text"] and "05-17" not in row["text"], row["text"]
    assert not any(" " in k for k in keywords), f"Chinese keywords joined with spaces: {keywords}"


# --- missing values, cleaning, emoji -----------------------------------------------------------------

def test_nan_none_literal_nan_and_empty_are_missing_but_kept(run):
    posts = _posts([None, np.nan, "nan", " NaN ", "", "   ", "NULL", "连衣裙"],
                   [None, "nan", "", None, None, None, None, None])
    result = run(posts, fields="both")
    texts = result.texts
    assert texts["post_id"].tolist() == posts["post_id"].tolist(), "posts dropped or reordered"
    assert texts["has_text"].tolist() == [False] * 7 + [True], texts[["text", "has_text"]]
    assert (texts.loc[~texts["has_text"], "text"] == "").all()
    assert texts.loc[~texts["has_text"], "tokens"].map(len).sum() == 0
    assert texts.loc[~texts["has_text"], "embed_input"].eq("").all()
    c = result.summary.content
    assert (c["missing"], c["nan_literal"], c["empty"]) == (2, 3, 2), c
    assert result.summary.has_text_false == 7, result.summary


def test_boilerplate_removed(run):
    content = ("花卉连衣裙 - 小红书,,05-17,, 编辑于 2023-05-17 12:30 看 https://xhslink.com/a1 "
               "@小美 #通勤穿搭[话题]# [笑哭R] 小红书网页版")
    text = _row(run(_posts([content]), fields="content"))["text"]
    for junk in ("小红书", "05-17", ",,", "编辑于", "http", "@小美", "[话题]", "[笑哭R]", "12:30"):
        assert junk not in text, f"{junk!r} left in {text!r}"
    assert "花卉连衣裙" in text and "#通勤穿搭" in text and "笑哭" in text, text


def test_emoji_become_chinese_words(run):
    text = _row(run(_posts(["好看❤️👍🏻连衣裙✨"]), fields="content"))["text"]
    assert emoji.emoji_count(text) == 0, f"emoji left in {text!r}"
    assert "红心" in text and "闪亮" in text, f"no Chinese emoji name in {text!r}"
    assert "拇指向上 较浅肤色" in text, text  # emoji's '_' between words becomes a space


def test_fast_demojize_matches_emoji_package_on_every_emoji():
    every = "".join(emoji.EMOJI_DATA) + " 1️⃣ #️⃣ 12 #穿搭"
    ours = emoji_words.demojize(every)
    ref = emoji.demojize(every, language="zh", delimiters=(" ", " ")).replace("_", " ")
    ref = emoji_words.INVISIBLE.sub("", ref)
    assert ours.split() == ref.split(), "names differ from emoji.demojize(language='zh')"
    assert emoji.emoji_count(ours) == 0


# --- issue 13: export debris (nan, :emoji_codes:) and filler keywords ---------------------------------

REAL_EXPORT = "小红书 nan nan 今天穿搭 :leaf_fallen: :teddy_bear: 🍂"
FILLER = ("路上", "小时", "今天", "真的", "一下", "感觉", "这个", "就是", "分享")


def test_real_export_caption_is_cleaned_and_counted(run):
    posts = _posts([REAL_EXPORT, "nano 碎花连衣裙 :not_an_emoji_xyz:", "白色衬衫"],
                   ["#秋冬 nan", None, None])
    result = run(posts, fields="both")
    row = _row(result)
    words = list(row["tokens"]) + list(row["keywords"])
    assert "nan" not in row["text"].lower() and "nan" not in words, row
    leaf = emoji_words.demojize("🍂").strip()
    assert row["text"].split().count(leaf) == 2, (leaf, row["text"])  # :leaf_fallen: and 🍂 alike
    assert not {"leaf", "fallen", "teddy", "bear"} & set(words), words
    second = _row(result, 1)
    assert "nano" in second["text"] and "nano" in list(second["tokens"]), second
    assert "not_an_emoji_xyz" not in second["text"] and ":" not in second["text"], second
    c = result.summary.cleaning
    assert (c.nan_token_posts, c.nan_tokens_removed) == (1, 3), c
    assert (c.emoji_code_posts, c.emoji_codes_converted) == (1, 2), c
    assert (c.unknown_code_posts, c.unknown_codes_dropped) == (1, 1), c
    assert result.summary.to_json()["cleaning"]["unknown_codes_dropped"] == 1


def test_cleaning_counts_only_the_fields_used(run):
    posts = _posts(["连衣裙 nan"], ["#秋冬 nan :thumbs_up:"])
    both = run(posts, fields="both").summary.cleaning
    content = run(posts, fields="content").summary.cleaning
    assert (both.nan_tokens_removed, both.emoji_codes_converted) == (2, 1), both
    assert (content.nan_tokens_removed, content.emoji_codes_converted) == (1, 0), content


def test_filler_words_never_become_keywords_or_tokens(run):
    caption = ("今天真的感觉这个就是好看，路上分享一下。" * 3 + "路上 小时 今天 真的 一下 感觉 这个 "
               "就是 分享。碎花连衣裙真的好看，今天分享一下这个，路上小时。")
    row = _row(run(_posts([caption], ["#分享 #路上 #每日穿搭"]), fields="both"))
    keywords = list(row["keywords"])
    hits = [(f, k) for k in keywords for f in FILLER if f in k]
    assert not hits, f"filler in keywords {keywords}"
    assert not set(FILLER) & set(row["tokens"]), row["tokens"]
    assert "碎花连衣裙" in keywords and "每日穿搭" in keywords, keywords


def test_emoji_words_stay_in_the_text_but_not_in_tokens_or_keywords(run):
    row = _row(run(_posts(["碎花连衣裙👍❤️👍❤️ :thumbs_up: :red_heart: 好看🍂"]), fields="content",
                   embed_text="clean"))
    emoji_terms = {"拇指", "向上", "拇指向上", "红心", "落叶"}
    assert {"拇指向上", "红心", "落叶"} <= set(row["text"].split()), row["text"]
    assert row["embed_input"] == row["text"]  # embedded with its emoji words (🍂: a season)
    assert not emoji_terms & set(row["tokens"]), row["tokens"]
    assert not any(t in k for k in row["keywords"] for t in emoji_terms), row["keywords"]
    assert "碎花连衣裙" in list(row["keywords"]), row["keywords"]


# --- fields, embed_text, tokens, keywords ------------------------------------------------------------

def test_fields_choose_content_tags_or_both(run):
    posts = _posts(["碎花连衣裙"], ["每日穿搭, 通勤"])  # comma-separated tags are normalised
    texts = {f: _row(run(posts, fields=f))["text"] for f in ("content", "tags", "both")}
    assert texts == {"content": "碎花连衣裙", "tags": "#每日穿搭 #通勤",
                     "both": "碎花连衣裙 #每日穿搭 #通勤"}, texts


def test_hashtags_come_from_caption_and_tags_cleaned_whole_and_once(run):
    posts = _posts(["今天穿 #羽绒服穿搭 🍂 :teddy_bear: nan #分享 #OL风", "无标签", None],
                   ["#羽绒服穿搭, 东北🍂 #nan #2024 #每日穿搭", "nan", "#面包服"])
    hashtags = [list(h) for h in run(posts, fields="content").texts["hashtags"]]
    # #分享: a stopword only; #nan: export debris; #2024: a number; 🍂 ends the tag 东北; the
    # repeated #羽绒服穿搭 once; the tags field counts although `fields` is content.
    assert hashtags == [["羽绒服穿搭", "ol风", "东北", "每日穿搭"], [], ["面包服"]], hashtags


def test_tag_only_posts_counted(run):
    result = run(_posts([None, "nan", "裙子"], ["#穿搭", "#穿搭", None]), fields="both")
    assert result.summary.tag_only_posts == 2, result.summary
    assert result.texts["has_text"].tolist() == [True, True, True]


@pytest.mark.parametrize("embed_text", ["keywords", "tokens", "clean"])
def test_embed_text_choices(run, embed_text):
    row = _row(run(_posts([EXAMPLE_CONTENT], [EXAMPLE_TAGS]), embed_text=embed_text))
    expected = {"keywords": " ".join(row["keywords"]), "tokens": " ".join(row["tokens"]),
                "clean": row["text"]}[embed_text]
    assert row["embed_input"] == expected and expected, row


def test_stopwords_removed_from_tokens(run):
    posts = _posts(["我的连衣裙真的很好看"])
    with_stop = list(_row(run(posts, stop=frozenset({"我", "的", "真的", "很", "好看"})))["tokens"])
    no_stop = list(_row(run(posts, stop=frozenset({"zzz"})))["tokens"])
    assert with_stop == ["连衣裙"], with_stop
    assert {"我", "的", "真的"} <= set(no_stop), no_stop


def test_numbers_and_dates_not_in_keywords_or_tokens(run):
    content = "2023年5月17日 05-17 穿了160cm 50kg 12.5折 99元 碎花连衣裙 #2024春季穿搭"
    row = _row(run(_posts([content]), fields="content"))
    digits = [w for w in list(row["keywords"]) + list(row["tokens"]) if any(c.isdigit() for c in w)]
    assert not digits, f"numbers kept: {digits} (keywords {row['keywords']})"
    for unit in ("年", "月", "日", "折", "元"):
        assert unit not in row["tokens"], f"date/price unit {unit} kept: {row['tokens']}"
    assert "碎花连衣裙" in row["keywords"] and "春季穿搭" in row["keywords"], row["keywords"]


def test_english_phrases_keep_their_spaces_and_are_lower_cased(run):
    row = _row(run(_posts(["Mini Skirt，碎花连衣裙"]), fields="content"))
    assert "mini skirt" in row["keywords"], row["keywords"]
    assert {"mini", "skirt"} <= set(row["tokens"]), row["tokens"]


def test_max_keywords(run):
    content = "，".join(["碎花连衣裙", "白色衬衫", "牛仔短裤", "草编包", "乐福鞋", "珍珠耳环"])
    assert len(_row(run(_posts([content]), max_keywords=3))["keywords"]) == 3
    assert len(_row(run(_posts([content]), max_keywords=10))["keywords"]) == 6


def test_duplicates_and_lengths_summarised_and_inputs_untouched(run):
    posts = _posts(["碎花连衣裙", "碎花连衣裙", "碎花连衣裙 - 小红书", "白色衬衫", None])
    before = posts.copy(deep=True)
    s = run(posts, fields="content").summary
    pd.testing.assert_frame_equal(posts, before)
    assert s.duplicate_texts["posts"] == 2 and s.duplicate_texts["distinct"] == 1, s
    assert s.n_chars["max"] == 5.0 and s.n_chars["min"] == 4.0, s.n_chars
    data = json.loads(json.dumps(s.to_json(), ensure_ascii=False))  # JSON-ready
    assert PreprocessSummary.from_json(data, "summary.json") == s


def test_missing_columns_is_a_data_error(run):
    with pytest.raises(DataError, match=r"lacks column\(s\) \['tags'\]"):
        run(pd.DataFrame({"post_id": ["a"], "content": ["x"]}))


# --- jieba: user dictionary and cache ----------------------------------------------------------------

def test_user_dict_keeps_new_word_whole(run, jieba_cache):
    posts = _posts(["今天穿新中式马面裙"])
    plain = list(_row(run(posts))["tokens"])
    assert "新中式马面裙" not in plain, plain
    with_dict = list(_row(run(posts, user_dict="# comment line\n新中式马面裙\n"))["tokens"])
    assert "新中式马面裙" in with_dict, with_dict
    # the user dictionary went into a copy: the shared tokenizer still splits the word
    assert "新中式马面裙" not in preprocess.make_tokenizer(jieba_cache).lcut("今天穿新中式马面裙")


def test_jieba_cache_in_the_given_folder_not_tmp(jieba_cache):
    tokenizer = preprocess.make_tokenizer(jieba_cache)
    assert Path(tokenizer.tmp_dir) == jieba_cache.resolve()
    assert Path(tokenizer.tmp_dir) != Path(tempfile.gettempdir())
    assert (jieba_cache / "jieba.cache").is_file(), list(jieba_cache.iterdir())


def test_storage_makes_the_jieba_cache_folder_and_refuses_a_file(tmp_path):
    made = storage.jieba_cache_dir(tmp_path / "cache" / "jieba")
    assert made.is_dir() and made == (tmp_path / "cache" / "jieba").resolve()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match=r"file.*is a file, not a folder.*paths\.jieba_cache"):
        storage.jieba_cache_dir(tmp_path / "file")


# --- params ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, match", [
    ({"fields": "title"}, r"preprocess\.fields\] = 'title'.*'content', 'tags', 'both'"),
    ({"embed_text": "raw"}, r"preprocess\.embed_text\] = 'raw'.*'keywords'"),
    ({"max_keywords": 0}, r"preprocess\.max_keywords\] = 0.*>= 1"),
    ({"user_dict": ""}, r"preprocess\.user_dict\] = ''"),
    ({"field": "both"}, r"unknown key\(s\) \['field'\]"),
])
def test_invalid_params_are_config_errors(raw, match):
    with pytest.raises(ConfigError, match=match):
        config.load_section({"preprocess": raw}, "preprocess")


def test_project_params_and_stopword_file_load(stopwords):
    params = config.load_section(storage.read_params(ROOT / "params.yaml"), "preprocess")
    assert params.user_dict is None or (ROOT / params.user_dict).is_file(), params.user_dict
    assert {"的", "了", "小红书", "好好看", "nan", "the"} <= stopwords
    assert not {"搭配", "穿搭", "连衣裙", "显瘦"} & stopwords, "outfit words must stay keywords"


# --- the stage script --------------------------------------------------------------------------------


