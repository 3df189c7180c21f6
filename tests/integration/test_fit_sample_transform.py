"""reduce.fit_sample's transform path: fit on a sample, `transform` every other row.

In the integration tier, not the unit tier, because the first UMAP `transform` in a process
JIT-compiles pynndescent's query and UMAP's embedding update (about 16 s on the 2-core test
machine, measured 2026-12-03), which alone would push `make test-fast` past two minutes. The
fit_sample logic without a transform (sampling, null / not-smaller is today's output) stays in
tests/unit/test_fit_sample.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from stylecluster.config import ReduceParams
from stylecluster.pipeline import fit_sample, reduce
from tests.unit._shared import blob_embeddings, single_openmp_thread  # noqa: F401  (autouse: one OpenMP thread)

N = 600
N_SMALL = 120


@pytest.fixture(scope="module")
def image():
    X, ids, _ = blob_embeddings(N)
    return {"image": (X, ids)}


@pytest.fixture
def small(image):
    X, ids = image["image"]
    return {"image": (X[:N_SMALL], ids.iloc[:N_SMALL].reset_index(drop=True))}


def test_fit_sample_pca_transforms_every_row_in_order(small):
    X, ids = small["image"]
    p = ReduceParams(modality="image", method="pca", n_components=5, fit_sample=100)
    r = reduce.reduce_embeddings(small, p, 0)
    assert r.features.shape == (N_SMALL, 5) and r.map2d.shape == (N_SMALL, 2)
    assert np.isfinite(r.features).all() and np.isfinite(r.map2d).all()
    assert r.ids["post_id"].tolist() == ids["post_id"].tolist()
    assert r.summary.fit_sample == 100
    # PCA is linear: every row, fitted or transformed, is its centred input projected
    rows = fit_sample.sample_rows(N_SMALL, 100, 0)
    from sklearn.decomposition import PCA

    pca = PCA(5, random_state=0).fit(X[rows].astype(np.float32))
    assert np.allclose(r.features, pca.transform(X), atol=1e-4)


def test_fit_sample_umap_keeps_the_clusters(image):
    from sklearn.metrics import adjusted_rand_score

    X, _ = image["image"]
    _, _, y = blob_embeddings(N)
    p = ReduceParams(modality="image", method="umap", n_components=2, fit_sample=300,
                     metric="euclidean")
    r = reduce.reduce_embeddings(image, p, 0)
    assert r.features.shape == (N, 2) and np.isfinite(r.features).all()
    from sklearn.cluster import KMeans

    labels = KMeans(5, n_init=4, random_state=0).fit_predict(r.features)
    ari = adjusted_rand_score(y, labels)
    assert ari > 0.9, f"ARI of k-means on the sampled-fit map vs the blobs: {ari:.3f}"
