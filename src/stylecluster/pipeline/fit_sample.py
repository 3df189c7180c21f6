"""Fit a reducer on a seeded sample of the posts and transform the rest (`reduce.fit_sample`).

UMAP's fit costs grow faster than linearly with the posts and hold the whole kNN graph; on a large
set, fitting on N sampled posts and `transform`ing the others in batches bounds both. Sampled rows
keep their fitted coordinates; every other row is transformed, and every row stays where it was.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TRANSFORM_BATCH = 10_000  # rows per transform call: bounds the memory of UMAP's transform


def sample_rows(n: int, size: int, random_state: int) -> np.ndarray:
    """`size` of the row indices 0..n-1, drawn without replacement with `random_state`, sorted."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def fit_then_transform(X: np.ndarray, rows: np.ndarray,
                       fit: Callable[[np.ndarray], tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]],
                       batch: int = TRANSFORM_BATCH) -> np.ndarray:
    """Fit on `X[rows]`, transform every other row in batches, return all rows in order.

    Args:
        X: (n, d) input.
        rows: Sorted indices of the fitting sample.
        fit: X_sample -> (its embedding (m, c), a transform (b, d) -> (b, c)).
        batch: Rows per transform call.

    Returns:
        float32 (n, c): the fitted coordinates at `rows`, transformed ones elsewhere.
    """
    embedding, transform = fit(X[rows])
    embedding = np.asarray(embedding, dtype=np.float32)
    out = np.empty((X.shape[0], embedding.shape[1]), dtype=np.float32)
    out[rows] = embedding
    rest = np.setdiff1d(np.arange(X.shape[0]), rows, assume_unique=True)
    for lo in range(0, len(rest), batch):
        part = rest[lo:lo + batch]
        out[part] = np.asarray(transform(X[part]), dtype=np.float32)
    return out
