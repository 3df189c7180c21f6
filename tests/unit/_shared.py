"""Fixtures and helpers that more than one unit-test module uses (import them by name)."""

from __future__ import annotations

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
