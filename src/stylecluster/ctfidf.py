"""Class-based TF-IDF (BERTopic's c-TF-IDF): how distinctive each word is of each class of posts.

tf(t, c) = count of t in class c / words in class c; idf(t) = log(1 + A / f(t)) with A the average
number of words per class and f(t) the count of t over all classes. Report keywords score words
per cluster with it (`report/keywords.py`); `embed.text_token_weighting: ctfidf` weighs a post's
tokens by it with hashtags as the classes (`pipeline/text_pooling.py`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ctfidf_sparse(documents: Sequence[Sequence[str]], classes: np.ndarray, n_classes: int):
    """c-TF-IDF scores as a sparse (n_classes, V) matrix: only words present in a class score.

    Args:
        documents: Token lists, one per document.
        classes: (n,) class index per document, in [0, n_classes).
        n_classes: Number of classes.

    Returns:
        (scipy CSR (n_classes, V) float64 scores, the V words in column order, first seen first).
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
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                               shape=(n_classes, len(words)))  # duplicates summed
    if not words:
        return counts, words
    per_class = np.asarray(counts.sum(axis=1)).ravel()  # > 0 for every class with a row
    idf = np.log1p(counts.sum() / n_classes / np.asarray(counts.sum(axis=0)).ravel())  # (V,)
    scale = np.divide(1.0, per_class, out=np.zeros_like(per_class), where=per_class > 0)
    return sparse.diags(scale) @ counts @ sparse.diags(idf), words


def ctfidf(documents: Sequence[Sequence[str]], classes: np.ndarray,
           n_classes: int) -> tuple[np.ndarray, list[str]]:
    """Class-based TF-IDF (see the module docstring): one dense row of word scores per class.

    Args:
        documents: Token lists, one per post.
        classes: (n,) class index per post, in [0, n_classes).
        n_classes: Number of classes.

    Returns:
        ((n_classes, V) scores, the V words in column order). V is 0 when there are no words.
    """
    scores, words = ctfidf_sparse(documents, classes, n_classes)
    return scores.toarray(), words
