"""Caption cleaning for the preprocess stage: missing fields, boilerplate, `nan` tokens, emoji.

Measured on 2,000 real Xiaohongshu posts: 35% carried the literal word `nan` (an export joined its
empty fields into the caption: "小红书 nan nan") and 47% carried emoji already written as codes
(`:leaf_fallen:`, `:teddy_bear:`); both passed through and became whole clusters' keywords (leaf,
fallen, teddy, bear). One caption is cleaned in this order:

1. Platform boilerplate (' - 小红书', ',,05-17,,', '编辑于 ...', '[话题]', URLs, @mentions) removed,
   Xiaohongshu stickers ('[笑哭R]') kept as their word.
2. Emoji codes: each `:code:` becomes its emoji (`emoji_words.emojize_codes`: emoji's own English
   names and aliases, words in any order as a fallback); codes that name no emoji are dropped.
3. `nan`-like tokens: nan, NaN, NAN, None, null, Null, NULL standing alone (no ASCII letter, digit
   or '_' on either side; a '#' before is removed with it) are export debris and removed; 'nano',
   'annual', 'banana', 'nonetheless' are untouched. Whole fields that are only such a literal
   are missing values (`field_status`), counted apart.
4. Emoji, real or from codes, become Chinese words (`emoji_words.demojize`, ❤️ -> 红心).
5. Hashtags spaced as ' #tag ', whitespace collapsed.

Emoji words stay in the cleaned `text` (what is embedded with embed_text=clean): 🍂 -> 落叶 or
🧸 -> 泰迪熊 says something about a season or a look. They are kept out of `tokens` and `keywords`:
those are the word lists people read as a cluster's description (RAKE keywords, the report's
c-TF-IDF over tokens), where 红心 and 拇指向上 are reactions, not style. So each caption also gets an
`analysis` text in which every emoji word is a phrase break; tokens and keywords are made from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from stylecluster.pipeline.emoji_words import EMOJI_CLOSE, EMOJI_OPEN, MARKED, demojize, emojize_codes

MISSING_LITERALS = frozenset({"nan", "none", "null"})  # whole-field values that mean "no caption"
BREAK = "|"  # stands in for a token that ends a RAKE phrase (punctuation, number, space, emoji)
NAN_TOKEN = re.compile(r"#?(?<![A-Za-z0-9_])(?:nan|NaN|NAN|None|null|Null|NULL)(?![A-Za-z0-9_])")

# Scraper and platform boilerplate, removed before anything else (order matters: dates inside the
# ',,MM-DD,,' separators go before the bare ',,').
_BOILERPLATE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+"), " "),
    (re.compile(r"(?:\s*-\s*)?小红书\s*网页版|\s*-\s*小红书"), " "),  # page-title suffixes
    (re.compile(r"(?:编辑于|发布于|发表于)\s*(?:昨天|前天|今天)?\s*(?:\d+\s*(?:分钟|小时|天)前)?"
                r"\s*(?:(?:\d{2,4}[-/.])?\d{1,2}[-/.]\d{1,2})?\s*(?:\d{1,2}:\d{2})?"), " "),
    (re.compile(r",,\s*(?:\d{2,4}[-/.])?\d{1,2}[-/.]\d{1,2}\s*(?:\d{1,2}:\d{2})?\s*,,"), " "),
    (re.compile(r",{2,}"), " "),
    (re.compile(r"\[话题\]"), ""),
    (re.compile(r"\[([\u4e00-\u9fff]{1,6})R\]"), r" \1 "),  # Xiaohongshu stickers: [笑哭R] -> 笑哭
    (re.compile(r"@[^\s@#]{1,24}(?=\s|$)"), " "),
)
_HASHTAG = re.compile(r"#([^#\s]+)#?")  # '#tag', '#tag#' (Weibo/Xiaohongshu style)
_TAG_SPLIT = re.compile(r"[#\s,，、;；]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CleanText:
    """One cleaned caption or tags field.

    Attributes:
        text: The cleaned text, emoji as Chinese words ('' when nothing is left).
        analysis: The same text with each emoji word replaced by BREAK: what tokens and keywords
            are made from.
        nan_tokens: `nan`-like tokens removed.
        codes_converted: `:emoji_codes:` turned into Chinese words.
        codes_unknown: `:codes:` that name no emoji, dropped.
    """

    text: str
    analysis: str
    nan_tokens: int = 0
    codes_converted: int = 0
    codes_unknown: int = 0


EMPTY = CleanText("", "")


def clean_caption(text: str) -> CleanText:
    """Clean one caption: boilerplate, emoji codes and `nan` tokens out, emoji to Chinese words.

    Args:
        text: A caption or normalised tags (already known not to be a missing value).

    Returns:
        A CleanText with the text, its analysis text and what was removed or converted.
    """
    text = text.replace(EMOJI_OPEN, "").replace(EMOJI_CLOSE, "")  # only demojize's marks below
    for pattern, repl in _BOILERPLATE:
        text = pattern.sub(repl, text)
    text, converted, unknown = emojize_codes(text)
    text, nan_tokens = NAN_TOKEN.subn(" ", text)
    marked = _HASHTAG.sub(r" #\1 ", demojize(text, marked=True))
    plain = marked.replace(EMOJI_OPEN, "").replace(EMOJI_CLOSE, "")
    analysis = MARKED.sub(f" {BREAK} ", marked)
    return CleanText(_SPACES.sub(" ", plain).strip(), _SPACES.sub(" ", analysis).strip(),
                     nan_tokens, converted, unknown)


def clean_text(text: str) -> str:
    """The cleaned text of one caption (see `clean_caption`); '' when nothing is left."""
    return clean_caption(text).text


def normalize_tags(tags: str) -> str:
    """Turn a tags field ('#a #b', 'a,b', '#a[话题]#b') into '#a #b'."""
    tags = tags.replace("[话题]", " ")
    return " ".join("#" + t for t in _TAG_SPLIT.split(tags) if t)


def field_status(values: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Return the stripped strings ('' when missing) and counts of missing/'nan'/empty values."""
    isna = values.isna().to_numpy()
    stripped = pd.Series([("" if na else str(v).strip()) for v, na in zip(values, isna)],
                         index=values.index, dtype=object)
    lowered = stripped.str.lower()
    nan_literal = (~isna) & lowered.isin(MISSING_LITERALS).to_numpy()
    empty = (~isna) & (stripped == "").to_numpy()
    counts = {"missing": int(isna.sum()), "nan_literal": int(nan_literal.sum()),
              "empty": int(empty.sum())}
    return stripped.mask(nan_literal, ""), counts
