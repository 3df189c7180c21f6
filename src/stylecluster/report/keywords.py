"""Cluster keywords: c-TF-IDF (BERTopic's class-based TF-IDF) over each cluster's jieba tokens.

A word scores high when it is frequent in its cluster and rare in the others, which keeps the
clusters' keyword lists distinct (plain per-cluster frequency would give every cluster the same
"穿搭 / 分享 / 今日").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

MIN_TOKEN_CHARS = 2  # single characters (的, 穿, a) carry little meaning as a cluster keyword
MAX_DF = 0.5  # words in more than half of all posts describe the platform, not a cluster


def ctfidf(documents: Sequence[Sequence[str]], classes: np.ndarray,
           n_classes: int) -> tuple[np.ndarray, list[str]]:
    """Class-based TF-IDF (BERTopic): one row of word scores per class.

    tf(t, c) = count of t in class c / words in class c; idf(t) = log(1 + A / f(t)) with A the
    average number of words per class and f(t) the count of t over all classes.

    Args:
        documents: Token lists, one per post.
        classes: (n,) class index per post, in [0, n_classes).
        n_classes: Number of classes.

    Returns:
        ((n_classes, V) scores, the V words in column order). V is 0 when there are no words.
    """
    from scipy import sparse

    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for cls, doc in zip(classes, documents):
        for word in doc:
            rows.append(int(cls))
            cols.append(vocab.setdefault(word, len(vocab)))
    words = list(vocab)
    if not words:
        return np.zeros((n_classes, 0)), words
    counts = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)),
                               shape=(n_classes, len(words))).toarray()  # (k, V)
    per_class = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, per_class, out=np.zeros_like(counts), where=per_class > 0)
    avg_words = counts.sum() / n_classes
    idf = np.log1p(avg_words / counts.sum(axis=0))  # (V,), every column has a count > 0
    return tf * idf, words


def token_list(value: Any) -> list[str]:
    """A tokens/keywords cell (list, numpy array from Parquet, or None/NaN) as a list of str."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(v) for v in value]


def cluster_keywords(table: pd.DataFrame, n_clusters: int, n_keywords: int,
                     max_df: float = MAX_DF) -> list[list[str]]:
    """Top c-TF-IDF words of each cluster.

    Words shorter than MIN_TOKEN_CHARS are skipped, and so are words found in more than `max_df`
    of all posts (as sklearn's CountVectorizer max_df): on Xiaohongshu "穿搭" (outfit) is in most
    posts and would otherwise top many clusters' lists. When that filter would leave no word at
    all (tiny or uniform data), it is not applied.

    Args:
        table: One row per clustered post with `cluster` and `tokens` (lists of str).
        n_clusters: k.
        n_keywords: Words kept per cluster.
        max_df: Share of posts above which a word is too common to describe a cluster.

    Returns:
        Per cluster (index = cluster id) its words, best first; [] for a cluster without words.
    """
    docs = [[w for w in token_list(t) if len(w) >= MIN_TOKEN_CHARS]
            for t in table.get("tokens", pd.Series([None] * len(table)))]
    df = Counter(w for doc in docs for w in set(doc))
    common = {w for w, n in df.items() if n > max_df * len(docs)}
    if common and len(common) < len(df):
        docs = [[w for w in doc if w not in common] for doc in docs]
    scores, words = ctfidf(docs, table["cluster"].to_numpy(), n_clusters)
    out = []
    for c in range(n_clusters):
        if not words:
            out.append([])
            continue
        order = np.lexsort((np.arange(len(words)), -scores[c]))  # by score, ties: first seen
        out.append([words[i] for i in order[:n_keywords] if scores[c, i] > 0])
    return out
