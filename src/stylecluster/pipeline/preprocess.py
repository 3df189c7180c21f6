"""Text preprocessing: clean captions, jieba tokens and RAKE keywords (core of the `preprocess` stage).

One row out per post in: nothing is dropped here. A post whose caption and tags are missing, 'nan' or
pure platform boilerplate gets `has_text=False` and empty tokens/keywords, and is counted in the
summary. Steps, in order:

1. Field choice (`fields`): content, tags or both (content + tags, as in the research). Tags are
   normalised to `#tag #tag` whatever their separator.
2. Cleaning: NaN/None and the literal 'nan'/'none'/'null' are missing; platform boilerplate
   (' - 小红书', ',,05-17,,', '编辑于 ...', '[话题]', URLs, @mentions) removed; emoji become Chinese
   words (`emoji.demojize(language="zh")`, e.g. ❤️ -> 红心); whitespace collapsed.
3. Tokens: jieba (a private `jieba.Tokenizer`, never the global one, with its cache in a folder the
   caller names and an optional user dictionary), lower-cased, without stopwords, punctuation, numbers
   and dates.
4. Keywords: RAKE (rake-nltk) over sentences; each hashtag is a candidate phrase on its own (its
   stopwords dropped), so `#每日穿搭` yields 每日穿搭 whole. Numbers and dates break phrases, so they
   never become keywords. Chinese phrase tokens are joined without spaces.

The core reads no files: the stage passes the stopword set and the user dictionary's text; only jieba's
own prefix-dictionary cache is written, into `cache_dir`.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from stylecluster.config import PreprocessParams
from stylecluster.errors import DataError
from stylecluster.pipeline.emoji_words import demojize

log = logging.getLogger(__name__)

MISSING_LITERALS = frozenset({"nan", "none", "null"})  # whole-field values that mean "no caption"
MAX_PHRASE_TOKENS = 6  # RAKE candidates longer than this are sentences, not keywords
_BREAK = "|"  # stands in for a token that ends a RAKE phrase (punctuation, number, space)
CJK_PUNCTUATION = "，。！？；：、“”‘’（）《》【】「」『』〈〉〔〕…—～·｜－＿＋＝＃＆＊"
PUNCTUATIONS = frozenset(CJK_PUNCTUATION) | frozenset(string.punctuation) | {_BREAK}

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
_SEGMENT = re.compile(r"#[^#\s]+|[^#。！？!?；;…\n]+")  # hashtags, or runs between sentence ends
_NUMBER = re.compile(r"[\d０-９]+(?:[.:/\-][\d０-９]+)*(?:[年月日号点时分秒天周岁斤元块折%％]|cm|kg|mm|m|k|w)?",
                     re.IGNORECASE)
_NUMBER_UNITS = frozenset("年月日号点时分秒天周岁斤元块折件条套")  # after a number: part of it
_PUNCT_TOKEN = re.compile(r"[\W_]+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class PreprocessResult:
    """Output of `preprocess_posts`.

    Attributes:
        texts: One row per input post, in input order: post_id, text, tokens (list of str),
            keywords (list of str), n_chars, has_text, embed_input (the `texts` schema).
        summary: JSON-ready counts: missing/nan/empty fields, tag-only posts, duplicate texts,
            posts without text, length quantiles.
    """

    texts: pd.DataFrame
    summary: dict[str, Any]


def parse_word_list(text: str) -> frozenset[str]:
    """Parse a word-per-line resource (the stopword file): strip, lower-case, skip '#' comments."""
    return frozenset(w.strip().lower() for w in text.splitlines()
                     if w.strip() and not w.lstrip().startswith("#"))


@functools.lru_cache(maxsize=4)
def _base_tokenizer(cache_dir: str) -> jieba.Tokenizer:
    # Built once per cache folder, on first use (never at import): about 1 s from jieba's
    # dictionary, 0.3 s from the cache it writes into `cache_dir` (never the system temp folder).
    jieba.setLogLevel(logging.WARNING)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = cache_dir
    tokenizer.cache_file = "jieba.cache"
    tokenizer.initialize()
    return tokenizer


def make_tokenizer(cache_dir: str | Path, user_dict: str | None = None) -> jieba.Tokenizer:
    """Return an initialised private jieba tokenizer.

    Args:
        cache_dir: Folder for jieba's prefix-dictionary cache (created if missing).
        user_dict: Text of a jieba user dictionary (`word [freq] [tag]` per line; '#' comment lines
            allowed), or None. Its words are added to a copy, so other runs are not affected.

    Returns:
        A `jieba.Tokenizer`; without a user dictionary the shared, unmodified base instance.

    Raises:
        DataError: If a user-dictionary line cannot be parsed.
    """
    base = _base_tokenizer(str(Path(cache_dir).resolve()))
    if not user_dict:
        return base
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir, tokenizer.cache_file = base.tmp_dir, base.cache_file
    tokenizer.FREQ, tokenizer.total = dict(base.FREQ), base.total  # copy: add_word mutates FREQ
    tokenizer.initialized = True
    lines = [ln for ln in user_dict.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    try:
        tokenizer.load_userdict(io.StringIO("\n".join(lines)))
    except (ValueError, AttributeError) as exc:
        raise DataError(f"jieba user dictionary (preprocess.user_dict) cannot be parsed: {exc}. "
                        "Each line must be `word [freq] [pos-tag]`.") from exc
    return tokenizer


def clean_text(text: str) -> str:
    """Clean one caption: boilerplate out, emoji to Chinese words, hashtags as ' #tag '.

    Args:
        text: A caption (already known not to be missing).

    Returns:
        The cleaned text with single spaces; '' when nothing is left.
    """
    for pattern, repl in _BOILERPLATE:
        text = pattern.sub(repl, text)
    text = demojize(text)
    text = _HASHTAG.sub(r" #\1 ", text)
    return _SPACES.sub(" ", text).strip()


def normalize_tags(tags: str) -> str:
    """Turn a tags field ('#a #b', 'a,b', '#a[话题]#b') into '#a #b'."""
    tags = tags.replace("[话题]", " ")
    return " ".join("#" + t for t in _TAG_SPLIT.split(tags) if t)


def _field_status(values: pd.Series) -> tuple[pd.Series, dict[str, int]]:
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


def _join_phrase(words: Sequence[str]) -> str:
    """Join phrase tokens: no space in Chinese (气质 + 连衣裙), a space between two ASCII words."""
    out = words[0]
    for prev, word in zip(words, words[1:]):
        space = _ASCII_WORD.fullmatch(prev[-1]) and _ASCII_WORD.fullmatch(word[0])
        out += (" " + word) if space else word
    return out


class _Analyzer:
    """Tokens and RAKE keywords of cleaned texts, with one jieba pass per text segment."""

    def __init__(self, tokenizer: jieba.Tokenizer, stopwords: frozenset[str], max_keywords: int):
        self.tokenizer = tokenizer
        self.stopwords = stopwords
        self.max_keywords = max_keywords
        self._words: dict[str, list[str]] = {}
        from rake_nltk import Rake  # imports all of nltk (seconds): only when keywords are made

        # Every default of rake-nltk that needs NLTK data (stopwords, punkt) is replaced here.
        self.rake = Rake(stopwords=set(stopwords) | {_BREAK}, punctuations=set(PUNCTUATIONS),
                         max_length=MAX_PHRASE_TOKENS, include_repeated_phrases=True,
                         sentence_tokenizer=split_segments, word_tokenizer=self.words)

    def words(self, segment: str) -> list[str]:
        """Lower-cased jieba words of one segment; numbers, punctuation and spaces become breaks.

        A hashtag segment ('#每日穿搭') keeps only its content words, so it forms one phrase.
        """
        cached = self._words.get(segment)
        if cached is not None:
            return cached
        hashtag = segment.startswith("#")
        raw = self.tokenizer.lcut(segment[1:] if hashtag else segment)
        words: list[str] = []
        after_number = False
        for i, token in enumerate(raw):
            word = token.strip().lower()
            if not word:  # a space: ends a phrase, except inside English ('mini skirt')
                ascii_pair = (0 < i < len(raw) - 1 and _ASCII_WORD.fullmatch(raw[i - 1])
                              and _ASCII_WORD.fullmatch(raw[i + 1]))
                if not ascii_pair:
                    words.append(_BREAK)
                continue
            is_number = bool(_NUMBER.fullmatch(word)) or (after_number and word in _NUMBER_UNITS)
            after_number = is_number
            words.append(_BREAK if is_number or _PUNCT_TOKEN.fullmatch(word) else word)
        if hashtag:
            words = [w for w in words if w != _BREAK and w not in self.stopwords]
        self._words[segment] = words
        return words

    def tokens(self, segments: Sequence[str]) -> list[str]:
        """Content tokens of a text: its words without breaks and stopwords."""
        return [w for s in segments for w in self.words(s)
                if w != _BREAK and w not in self.stopwords]

    def keywords(self, segments: Sequence[str]) -> list[str]:
        """Top RAKE phrases (degree/frequency score), deduplicated, at most `max_keywords`."""
        if not segments:
            return []
        self.rake.extract_keywords_from_sentences(list(segments))
        keywords: list[str] = []
        for _, phrase in self.rake.get_ranked_phrases_with_scores():
            keyword = _join_phrase(phrase.split(" "))
            if keyword not in keywords:
                keywords.append(keyword)
                if len(keywords) == self.max_keywords:
                    break
        return keywords


def split_segments(text: str) -> list[str]:
    """Chinese sentence splitter: hashtags are segments of their own, the rest splits at 。！？；….

    Args:
        text: A cleaned text.

    Returns:
        Non-empty segments in order, e.g. ['花卉连衣裙 搭配', '#每日穿搭', '#连衣裙'].
    """
    return [s for s in (m.group().strip() for m in _SEGMENT.finditer(text)) if s and s != "#"]


def _quantiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    qs = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
    out = {k: float(np.quantile(values, q)) for k, q in qs.items()}
    out["mean"] = float(values.mean())
    return out


def preprocess_posts(
    posts: pd.DataFrame,
    params: PreprocessParams,
    stopwords: frozenset[str],
    *,
    cache_dir: str | Path,
    user_dict: str | None = None,
    progress: bool = False,
) -> PreprocessResult:
    """Clean, tokenise and extract keywords for every post.

    Long on purpose: the per-post steps and the summary counts they feed are one readable sequence.

    Args:
        posts: The validated posts table (post_id, content, tags; other columns ignored).
        params: The `preprocess` section.
        stopwords: Lower-cased stopwords (see `parse_word_list`).
        cache_dir: Folder for jieba's dictionary cache (inside the project, e.g. data/cache/jieba).
        user_dict: Text of the jieba user dictionary named by `params.user_dict`, or None.
        progress: Show a tqdm bar on stderr.

    Returns:
        A PreprocessResult with the `texts` table (one row per post, input order) and a summary.

    Raises:
        DataError: If `posts` lacks post_id/content/tags or the user dictionary cannot be parsed.
    """
    missing = [c for c in ("post_id", "content", "tags") if c not in posts.columns]
    if missing:
        raise DataError(f"posts table lacks column(s) {missing}; it has {list(posts.columns)}. "
                        "Run the validate stage first (dvc repro validate).")
    tokenizer = make_tokenizer(cache_dir, user_dict)
    analyzer = _Analyzer(tokenizer, stopwords, params.max_keywords)

    content, content_counts = _field_status(posts["content"])
    tags, tags_counts = _field_status(posts["tags"])
    content_clean = content.map(clean_text)
    tags_clean = tags.map(normalize_tags).map(clean_text)
    content_counts["empty_after_cleaning"] = int(((content != "") & (content_clean == "")).sum())
    tags_counts["empty_after_cleaning"] = int(((tags != "") & (tags_clean == "")).sum())
    if params.fields == "content":
        text = content_clean
    elif params.fields == "tags":
        text = tags_clean
    else:
        text = (content_clean + " " + tags_clean).str.strip()

    tokens: list[list[str]] = []
    keywords: list[list[str]] = []
    for value in tqdm(text.tolist(), desc="preprocess", unit="post", disable=not progress):
        segments = split_segments(value)
        tokens.append(analyzer.tokens(segments))
        keywords.append(analyzer.keywords(segments))

    texts = pd.DataFrame({
        "post_id": posts["post_id"].astype(str).to_numpy(),
        "text": text.to_numpy(dtype=object),
        "tokens": pd.Series(tokens, dtype=object).to_numpy(),
        "keywords": pd.Series(keywords, dtype=object).to_numpy(),
    })
    texts["n_chars"] = texts["text"].str.len().astype("int64")
    texts["has_text"] = texts["n_chars"] > 0
    if params.embed_text == "clean":
        embed_input = text.tolist()
    else:
        embed_input = [" ".join(words) for words in (keywords if params.embed_text == "keywords"
                                                     else tokens)]
    texts["embed_input"] = pd.Series(embed_input, dtype=object)

    has_text = texts["has_text"].to_numpy()
    content_absent = (content_clean == "").to_numpy()
    dup = texts.loc[has_text, "text"].value_counts()
    dup = dup[dup > 1]
    summary = {
        "n_posts": len(texts),
        "fields": params.fields,
        "embed_text": params.embed_text,
        "content": content_counts,
        "tags": tags_counts,
        "tag_only_posts": int((content_absent & (tags_clean != "").to_numpy()).sum()),
        "has_text_false": int((~has_text).sum()),
        "duplicate_texts": {"posts": int((dup - 1).sum()), "distinct": len(dup),
                            "top": [{"text": t, "count": int(c)} for t, c in dup.head(5).items()]},
        "n_chars": _quantiles(texts.loc[has_text, "n_chars"].to_numpy(dtype=float)),
        "tokens_per_post": _quantiles(np.array([len(t) for t in tokens], dtype=float)),
        "no_keywords_with_text": int((has_text & (texts["keywords"].map(len) == 0)).sum()),
        "empty_embed_input": int((texts["embed_input"] == "").sum()),
    }
    log.info("preprocess: %d posts, %d without text, %d tag-only, %d duplicate texts",
             len(texts), summary["has_text_false"], summary["tag_only_posts"],
             summary["duplicate_texts"]["posts"])
    return PreprocessResult(texts=texts, summary=summary)
