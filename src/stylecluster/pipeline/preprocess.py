"""Text preprocessing: clean captions, jieba tokens and RAKE keywords (core of the `preprocess` stage).

One row out per post in: nothing is dropped here. A post whose caption and tags are missing, 'nan' or
pure platform boilerplate gets `has_text=False` and empty tokens/keywords, and is counted in the
summary. Steps, in order:

1. Field choice (`fields`): content, tags or both (content + tags, as in the research). Tags are
   normalised to `#tag #tag` whatever their separator.
2. Cleaning (`text_clean`): NaN/None and whole-field 'nan'/'none'/'null' are missing; platform
   boilerplate removed; `:emoji_codes:` become emoji (unknown codes dropped); standalone `nan`-like
   tokens removed; emoji become Chinese words (❤️ -> 红心); whitespace collapsed. Each is counted in
   the summary's `cleaning`.
3. Tokens: jieba (a private `jieba.Tokenizer`, never the global one, with its cache in a folder the
   caller names and an optional user dictionary), lower-cased, without stopwords, punctuation, numbers,
   dates and emoji words.
4. Keywords: RAKE (rake-nltk) over sentences; each hashtag is a candidate phrase on its own (its
   stopwords dropped), so `#每日穿搭` yields 每日穿搭 whole. Numbers, dates and emoji words break
   phrases, so they never become keywords. Chinese phrase tokens are joined without spaces.
5. Hashtags: every hashtag of the caption and the tags field (whatever `fields` says), cleaned the
   same way and joined into one phrase each; the report names clusters from them (tags are what
   posters choose to describe a look, cleaner than captions).

Emoji words stay in the cleaned text, which is what is embedded by default (🍂 -> 落叶 carries a
season), but not in tokens or keywords, the word lists read as a cluster's description (see
`text_clean`). Filler words (今天, 真的, 路上, 分享 ...) are stopwords: the curated, git-tracked
data/external/stopwords_zh.txt (paths.stopwords, a DVC dep) has a section for them.

The core reads no files and makes no folders: the stage passes the stopword set, the user dictionary's
text and an existing jieba cache folder; only jieba's own prefix-dictionary cache is written there.
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

import jieba
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from stylecluster.config import PreprocessParams
from stylecluster.errors import DataError
from stylecluster.pipeline.text_clean import (BREAK, EMPTY, CleanText, clean_caption, field_status,
                                              normalize_tags)
from stylecluster.records import PreprocessSummary, TextCleaning

log = logging.getLogger(__name__)

MAX_PHRASE_TOKENS = 6  # RAKE candidates longer than this are sentences, not keywords
_BREAK = BREAK
CJK_PUNCTUATION = "，。！？；：、“”‘’（）《》【】「」『』〈〉〔〕…—～·｜－＿＋＝＃＆＊"
PUNCTUATIONS = frozenset(CJK_PUNCTUATION) | frozenset(string.punctuation) | {_BREAK}

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
            keywords (list of str), hashtags (list of str), n_chars, has_text, embed_input (the
            `texts` schema).
        summary: Counts for summary.json: missing/nan/empty fields, cleaning, tag-only posts,
            duplicate texts, posts without text, length quantiles.
    """

    texts: pd.DataFrame
    summary: PreprocessSummary


def parse_word_list(text: str) -> frozenset[str]:
    """Parse a word-per-line resource (the stopword file): strip, lower-case, skip '#' comments."""
    return frozenset(w.strip().lower() for w in text.splitlines()
                     if w.strip() and not w.lstrip().startswith("#"))


@functools.lru_cache(maxsize=4)
def _base_tokenizer(cache_dir: str) -> jieba.Tokenizer:
    # Built once per cache folder, on first use (never at import): about 1 s from jieba's
    # dictionary, 0.3 s from the cache it writes into `cache_dir` (never the system temp folder).
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = cache_dir
    tokenizer.cache_file = "jieba.cache"
    tokenizer.initialize()
    return tokenizer


def make_tokenizer(cache_dir: str | Path, user_dict: str | None = None) -> jieba.Tokenizer:
    """Return an initialised private jieba tokenizer.

    Args:
        cache_dir: An existing folder for jieba's prefix-dictionary cache (the stage makes it with
            `storage.jieba_cache_dir`; jieba skips the cache, slower, if it cannot write there).
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

    def hashtags(self, analyses: Sequence[str]) -> list[str]:
        """A post's hashtags, each once, in order: a hashtag's content words joined into one phrase
        (`#每日穿搭` -> 每日穿搭; stopwords, numbers and emoji words out, lower-cased); hashtags with
        no word left are skipped. `analyses` are the post's cleaned fields (caption and tags)."""
        tags = [_join_phrase(words) for analysis in analyses for s in split_segments(analysis)
                if s.startswith("#") and (words := self.words(s))]
        return list(dict.fromkeys(tags))

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


def _clean_field(values: pd.Series, tags: bool) -> tuple[list[CleanText], dict[str, int]]:
    """Clean one field of every post; counts of missing/'nan'/empty/empty-after-cleaning values."""
    stripped, counts = field_status(values)
    cleaned = [clean_caption(normalize_tags(v) if tags else v) if v else EMPTY for v in stripped]
    counts["empty_after_cleaning"] = sum(1 for v, c in zip(stripped, cleaned) if v and not c.text)
    return cleaned, counts


def _join(parts: Sequence[CleanText], fields: str) -> tuple[str, str]:
    """(text, analysis) of one post from its (content, tags) cleanings."""
    used = {"content": parts[:1], "tags": parts[1:], "both": parts}[fields]
    return (" ".join(p.text for p in used if p.text),
            " ".join(p.analysis for p in used if p.analysis))


def _cleaning(per_post: Sequence[Sequence[CleanText]]) -> TextCleaning:
    """Sum the cleaning counts of the fields each post uses: posts touched and occurrences."""
    def total(attr: str) -> list[int]:
        return [sum(getattr(p, attr) for p in parts) for parts in per_post]

    nan, codes, unknown = total("nan_tokens"), total("codes_converted"), total("codes_unknown")
    return TextCleaning(
        nan_token_posts=sum(n > 0 for n in nan), nan_tokens_removed=sum(nan),
        emoji_code_posts=sum(n > 0 for n in codes), emoji_codes_converted=sum(codes),
        unknown_code_posts=sum(n > 0 for n in unknown), unknown_codes_dropped=sum(unknown))


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
        cache_dir: An existing folder for jieba's dictionary cache (`storage.jieba_cache_dir`).
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

    content, content_counts = _clean_field(posts["content"], tags=False)
    tags, tags_counts = _clean_field(posts["tags"], tags=True)
    per_post = list(zip(content, tags))
    joined = [_join(parts, params.fields) for parts in per_post]
    text = [t for t, _ in joined]

    tokens: list[list[str]] = []
    keywords: list[list[str]] = []
    hashtags: list[list[str]] = []
    for (_, analysis), parts in tqdm(zip(joined, per_post), total=len(joined), desc="preprocess",
                                     unit="post", disable=not progress):
        segments = split_segments(analysis)
        tokens.append(analyzer.tokens(segments))
        keywords.append(analyzer.keywords(segments))
        hashtags.append(analyzer.hashtags([p.analysis for p in parts]))

    texts = pd.DataFrame({
        "post_id": posts["post_id"].astype(str).to_numpy(),
        "text": pd.Series(text, dtype=object).to_numpy(),
        "tokens": pd.Series(tokens, dtype=object).to_numpy(),
        "keywords": pd.Series(keywords, dtype=object).to_numpy(),
        "hashtags": pd.Series(hashtags, dtype=object).to_numpy(),
    })
    texts["n_chars"] = texts["text"].str.len().astype("int64")
    texts["has_text"] = texts["n_chars"] > 0
    if params.embed_text == "clean":
        embed_input = text
    else:
        embed_input = [" ".join(words) for words in (keywords if params.embed_text == "keywords"
                                                     else tokens)]
    texts["embed_input"] = pd.Series(embed_input, dtype=object)

    has_text = texts["has_text"].to_numpy()
    content_absent = np.array([not c.text for c in content])
    tags_present = np.array([bool(t.text) for t in tags])
    dup = texts.loc[has_text, "text"].value_counts()
    dup = dup[dup > 1]
    summary = PreprocessSummary(
        n_posts=len(texts),
        fields=params.fields,
        embed_text=params.embed_text,
        content=content_counts,
        tags=tags_counts,
        cleaning=_cleaning([{"content": p[:1], "tags": p[1:], "both": p}[params.fields]
                            for p in per_post]),
        tag_only_posts=int((content_absent & tags_present).sum()),
        has_text_false=int((~has_text).sum()),
        duplicate_texts={"posts": int((dup - 1).sum()), "distinct": len(dup),
                         "top": [{"text": t, "count": int(c)} for t, c in dup.head(5).items()]},
        n_chars=_quantiles(texts.loc[has_text, "n_chars"].to_numpy(dtype=float)),
        tokens_per_post=_quantiles(np.array([len(t) for t in tokens], dtype=float)),
        no_keywords_with_text=int((has_text & (texts["keywords"].map(len) == 0)).sum()),
        empty_embed_input=int((texts["embed_input"] == "").sum()),
    )
    c = summary.cleaning
    log.info("preprocess: %d posts, %d without text, %d tag-only, %d duplicate texts; nan tokens "
             "removed in %d, emoji codes converted in %d, unknown codes dropped in %d",
             len(texts), summary.has_text_false, summary.tag_only_posts,
             summary.duplicate_texts["posts"], c.nan_token_posts, c.emoji_code_posts,
             c.unknown_code_posts)
    return PreprocessResult(texts=texts, summary=summary)
