"""Cluster keywords: c-TF-IDF (BERTopic's class-based TF-IDF, `stylecluster.ctfidf`) over each
cluster's jieba tokens.

A word scores high when it is frequent in its cluster and rare in the others, which keeps the
clusters' keyword lists distinct (plain per-cluster frequency would give every cluster the same
"穿搭 / 分享 / 今日"). Clusters are named from their hashtags' c-TF-IDF (`tag_keywords`), the words
posters choose to describe a look; caption words (`cluster_keywords`) describe them too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from stylecluster.ctfidf import ctfidf

MIN_TOKEN_CHARS = 2  # single characters (的, 穿, a) carry little meaning as a cluster keyword
MAX_DF = 0.5  # words in more than half of all posts describe the platform, not a cluster


def token_list(value: Any) -> list[str]:
    """A tokens/keywords cell (list, numpy array from Parquet, or None/NaN) as a list of str."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(v) for v in value]


def common_words(docs: Sequence[Sequence[str]], max_df: float) -> set[str]:
    """Words found in more than `max_df` of the documents (as sklearn's CountVectorizer max_df)."""
    df = Counter(w for doc in docs for w in set(doc))
    return {w for w, n in df.items() if n > max_df * len(docs)}


def _column(table: pd.DataFrame, column: str) -> list[list[str]]:
    """A list column of `table` as lists of words of at least MIN_TOKEN_CHARS characters."""
    cells = table[column] if column in table else pd.Series([None] * len(table))
    return [[w for w in token_list(t) if len(w) >= MIN_TOKEN_CHARS] for t in cells]


def top_words(docs: Sequence[Sequence[str]], classes: np.ndarray, n_classes: int,
              n_keywords: int, max_df: float = MAX_DF) -> list[list[str]]:
    """Top c-TF-IDF words of each class, words in more than `max_df` of the documents left out
    (unless that would leave no word at all: tiny or uniform data).

    Returns:
        Per class (index = class id) its words, best first; [] for a class without words.
    """
    common = common_words(docs, max_df)
    if common and any(w not in common for doc in docs for w in doc):
        docs = [[w for w in doc if w not in common] for doc in docs]
    scores, words = ctfidf(docs, classes, n_classes)
    out = []
    for c in range(n_classes):
        if not words:
            out.append([])
            continue
        order = np.lexsort((np.arange(len(words)), -scores[c]))  # by score, ties: first seen
        out.append([words[i] for i in order[:n_keywords] if scores[c, i] > 0])
    return out


def cluster_keywords(table: pd.DataFrame, n_clusters: int, n_keywords: int,
                     max_df: float = MAX_DF) -> list[list[str]]:
    """Top c-TF-IDF caption words of each cluster.

    Words shorter than MIN_TOKEN_CHARS are skipped, and so are words found in more than `max_df`
    of all posts: on Xiaohongshu "穿搭" (outfit) is in most posts and would otherwise top many
    clusters' lists.

    Args:
        table: One row per clustered post with `cluster` and `tokens` (lists of str).
        n_clusters: k.
        n_keywords: Words kept per cluster.
        max_df: Share of posts above which a word is too common to describe a cluster.

    Returns:
        Per cluster (index = cluster id) its words, best first; [] for a cluster without words.
    """
    return top_words(_column(table, "tokens"), table["cluster"].to_numpy(), n_clusters,
                     n_keywords, max_df)


def trim_words(phrase: str, words: set[str]) -> str:
    """`phrase` without any of `words` at its start or end: 羽绒服穿搭 -> 羽绒服 for {穿搭}."""
    changed = True
    while changed:
        changed = False
        for word in sorted(words, key=len, reverse=True):
            if phrase != word and phrase.startswith(word):
                phrase, changed = phrase[len(word):], True
            if phrase != word and phrase.endswith(word):
                phrase, changed = phrase[:-len(word)], True
    return phrase


def tag_keywords(table: pd.DataFrame, n_clusters: int, n_keywords: int,
                 max_df: float = MAX_DF) -> list[list[str]]:
    """Top c-TF-IDF hashtags of each cluster: what names it.

    Each hashtag is one term (preprocess has dropped its stopwords and emoji words). Caption
    words in more than `max_df` of the posts (穿搭 on Xiaohongshu) are platform words: they are
    trimmed from a tag's ends, so #羽绒服穿搭 and #羽绒服 count as one tag, and #穿搭 alone goes.
    Tags in more than `max_df` of the posts are left out, as in `cluster_keywords`.

    Args:
        table: One row per clustered post with `cluster`, `hashtags` and `tokens` (lists of str);
            without a `hashtags` column every cluster gets [].
        n_clusters: k.
        n_keywords: Tags kept per cluster.
        max_df: Share of posts above which a word is too common to describe a cluster.

    Returns:
        Per cluster (index = cluster id) its tags, best first; [] for a cluster without tags.
    """
    platform = common_words(_column(table, "tokens"), max_df)
    docs = [list(dict.fromkeys(t for t in (trim_words(tag, platform) for tag in doc)
                               if len(t) >= MIN_TOKEN_CHARS and t not in platform))
            for doc in _column(table, "hashtags")]
    return top_words(docs, table["cluster"].to_numpy(), n_clusters, n_keywords, max_df)
