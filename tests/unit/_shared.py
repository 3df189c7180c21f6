"""Fixtures and helpers that more than one unit-test module uses (import them by name)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="module", autouse=True)
def single_openmp_thread():
    """k-means with one OpenMP thread for the importing module.

    OpenMP threads spin-wait; on the shared 2-core test machine that made k-means 30x slower.
    """
    import sklearn.cluster  # noqa: F401  (loads sklearn's OpenMP runtime, so the limit reaches it)

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def ids_frame(n: int) -> pd.DataFrame:
    """An ids table of n posts p00000, p00001, ..."""
    return pd.DataFrame({"post_id": [f"p{i:05d}" for i in range(n)]})


def blob_embeddings(n: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """n non-negative float32 'embeddings' in 5 seeded 24-d blobs: (X, ids, true blob per row)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n, centers=5, n_features=24, cluster_std=1.0, random_state=0)
    return np.abs(X).astype(np.float32), ids_frame(n), y
