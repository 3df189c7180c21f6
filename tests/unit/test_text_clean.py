"""Tests of caption cleaning (pipeline/text_clean.py and the emoji-code path of emoji_words.py):
standalone `nan` tokens and `:emoji_codes:` as measured in real Xiaohongshu exports (issue 13)."""

from __future__ import annotations

import emoji
import pytest

from stylecluster.pipeline import emoji_words, text_clean

# What a real export looks like: empty fields joined in as 'nan', emoji written as codes (one with
# its words swapped), and the real emoji as well.
REAL = "小红书 nan nan 今天穿搭 :leaf_fallen: :teddy_bear: 🍂"


def _zh(char: str) -> str:
    """The Chinese word(s) real emoji get today."""
    return emoji_words.demojize(char).strip()


def test_real_caption_loses_nan_and_codes_become_the_real_emoji_words():
    got = text_clean.clean_caption(REAL)
    assert "nan" not in got.text.lower(), got
    assert ":" not in got.text and "leaf" not in got.text and "teddy" not in got.text, got
    fallen_leaf = _zh("🍂")
    assert fallen_leaf and not fallen_leaf.isascii(), fallen_leaf
    # :leaf_fallen: gives the same word as the real 🍂: twice in the text, once per spelling
    assert got.text.split().count(fallen_leaf) == 2, (fallen_leaf, got.text)
    assert _zh("🧸") in got.text.split(), got.text
    assert (got.nan_tokens, got.codes_converted, got.codes_unknown) == (2, 2, 0), got
    assert got.text.startswith("小红书 今天穿搭"), got.text


@pytest.mark.parametrize("code, char", [
    (":fallen_leaf:", "🍂"), (":teddy_bear:", "🧸"), (":thumbs_up:", "👍"), (":thumbsup:", "👍"),
    (":+1:", "👍"), (":heart:", "❤️"), (":Red_Heart:", "❤️"), (":leaf_fallen:", "🍂"),
    (":bear_teddy:", "🧸"),
])
def test_codes_map_to_the_emoji_names_and_aliases_name(code, char):
    assert emoji_words.code_to_emoji(code) == char
    assert text_clean.clean_text(f"好看{code}") == f"好看 {_zh(char)}"


def test_every_name_and_alias_code_gives_what_emoji_emojize_gives():
    # same lookup as emoji.emojize(language='alias'), so same Chinese word as the real emoji
    for char, data in emoji.EMOJI_DATA.items():
        for code in (data["en"], *data.get("alias", ())):
            want = emoji.emojize(code, language="alias")
            got = emoji_words.code_to_emoji(code)
            assert got is not None and _zh(got) == _zh(want), (code, got, want)


@pytest.mark.parametrize("code", [":not_an_emoji_xyz:", ":nan_nan:", ":japan_map_xyz:"])
def test_unknown_codes_are_dropped_and_counted(code):
    got = text_clean.clean_caption(f"碎花连衣裙 {code} 好看")
    assert got.text == "碎花连衣裙 好看", got
    assert (got.codes_converted, got.codes_unknown) == (0, 1), got


def test_word_order_fallback_refuses_ambiguous_words():
    # ('japan',) names both 🗾 (日本地图) and 🇯🇵 (日本): only the exact alias :japan: decides
    assert emoji_words.code_to_emoji(":japan:") == emoji.emojize(":japan:", language="alias")
    assert emoji_words._codes_by_words()[("japan",)] is None


@pytest.mark.parametrize("text", ["12:30:45 出门", "比例 3:7: 刚好", "ratio 1:2"])
def test_times_and_ratios_are_not_codes(text):
    got = text_clean.clean_caption(text)
    assert got.text == text and got.codes_unknown == 0 == got.codes_converted, got


@pytest.mark.parametrize("text, want, n", [
    ("小红书 nan nan 穿搭", "小红书 穿搭", 2),
    ("NaN 连衣裙 None", "连衣裙", 2),
    ("null,NULL；Null", ", ；", 3),
    ("今天nan穿搭", "今天 穿搭", 1),  # Chinese next to it is still a boundary
    ("#nan #穿搭", "#穿搭", 1),
    ("nano annual banana nonetheless Nancy nan_x nan1 3nan", "nano annual banana nonetheless Nancy nan_x nan1 3nan", 0),
    ("none of them", "none of them", 0),  # lower-case 'none' is English, not an export's None
])
def test_nan_like_tokens_alone_are_removed_real_words_kept(text, want, n):
    got = text_clean.clean_caption(text)
    assert (got.text, got.nan_tokens) == (want, n), got


def test_emoji_words_are_breaks_in_the_analysis_text():
    got = text_clean.clean_caption("碎花连衣裙👍❤️ :thumbs_up: #秋天🍂")
    assert "拇指向上" in got.text and "红心" in got.text and "#秋天" in got.text, got.text
    assert "拇指向上" not in got.analysis and "红心" not in got.analysis, got.analysis
    assert got.analysis.split() == ["碎花连衣裙", "|", "|", "|", "#秋天", "|"], got.analysis
    assert emoji_words.EMOJI_OPEN not in got.text + got.analysis


def test_tags_field_nan_is_removed_with_its_hash():
    got = text_clean.clean_caption(text_clean.normalize_tags("#秋冬 nan,通勤"))
    assert got.text == "#秋冬 #通勤" and got.nan_tokens == 1, got


def test_stray_private_use_marks_in_a_caption_do_not_hide_its_words():
    got = text_clean.clean_caption(f"碎花{emoji_words.EMOJI_OPEN}连衣裙 好看❤️")
    assert got.text == "碎花连衣裙 好看 红心" and got.analysis == "碎花连衣裙 好看 |", got
