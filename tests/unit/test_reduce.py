"""reduce: modality selection, concat weighting, exclusions, reducers, bad input, stage script."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stylecluster import schemas
from stylecluster.config import ReduceParams
from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline.reduce import reduce_embeddings, select_modality
from tests.unit._shared import single_openmp_thread  # noqa: F401  (autouse: one OpenMP thread)

ROOT = Path(__file__).resolve().parents[2]
N_IMAGE, N_TEXT, OFFSET = 150, 140, 20  # text covers p0020..p0159, image p0000..p0149


def _unit(rng, n, d):
    m = rng.normal(size=(n, d)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def embeddings():
    rng = np.random.default_rng(0)
    image = _unit(rng, N_IMAGE, 48)
    text = _unit(rng, N_TEXT, 16)
    image_ids = pd.DataFrame({"post_id": [f"p{i:04d}" for i in range(N_IMAGE)]})
    text_ids = pd.DataFrame({"post_id": [f"p{i:04d}" for i in range(OFFSET, OFFSET + N_TEXT)]})
    return {"image": (image, image_ids), "text": (text, text_ids)}


@pytest.fixture(scope="module")
def umap_result(embeddings):
    # the one in-process UMAP fit (numba compile time is paid once per module)
    return reduce_embeddings(embeddings, ReduceParams(modality="image", method="umap",
                                                     n_components=5, n_neighbors=10), 42)


def test_umap_shapes_finite_and_separate_map(umap_result):
    r = umap_result
    assert r.features.shape == (N_IMAGE, 5) and r.map2d.shape == (N_IMAGE, 2)
    assert r.features.dtype == np.float32 and r.map2d.dtype == np.float32
    assert np.isfinite(r.features).all() and np.isfinite(r.map2d).all()
    assert r.ids["post_id"].tolist() == [f"p{i:04d}" for i in range(N_IMAGE)]
    assert len(r.dropped) == 10  # p0150..p0159 have text only
    assert r.summary.n_used == N_IMAGE and r.summary.dim_out == 5


def test_umap_is_seeded(embeddings, umap_result):
    again = reduce_embeddings(embeddings, ReduceParams(modality="image", method="umap",
                                                       n_components=5, n_neighbors=10), 42)
    np.testing.assert_array_equal(again.features, umap_result.features)


def test_concat_blocks_are_normalised_and_weighted(embeddings):
    params = ReduceParams(modality="concat", method="none", weights={"text": 2.0, "image": 0.5})
    chosen = select_modality(embeddings, params)
    X, ids, dropped = chosen.X, chosen.ids, chosen.dropped
    both = N_IMAGE - OFFSET  # p0020..p0149
    assert X.shape == (both, 16 + 48) and len(ids) == both
    np.testing.assert_allclose(np.linalg.norm(X[:, :16], axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(X[:, 16:], axis=1), 0.5, rtol=1e-6)
    # row p0020 = [2 * text row 0, 0.5 * image row 20]
    text, image = embeddings["text"][0], embeddings["image"][0]
    np.testing.assert_allclose(X[0], np.concatenate([2 * text[0], 0.5 * image[20]]), rtol=1e-5)
    assert len(dropped) == OFFSET + 10
    reasons = dropped.set_index("post_id")["reason"]
    assert reasons["p0000"] == "no text embedding (reduce.modality = concat)"
    assert reasons["p0155"] == "no image embedding (reduce.modality = concat)"
    schemas.check(dropped, "dropped", "test")


def test_none_and_pca_reducers(embeddings):
    none = reduce_embeddings(embeddings, ReduceParams(modality="text", method="none"), 42)
    assert none.features.shape == (N_TEXT, 16) and none.map2d.shape == (N_TEXT, 2)
    assert none.summary.dropped_by_reason == {"no text embedding (reduce.modality = text)": 20}
    pca = reduce_embeddings(embeddings, ReduceParams(modality="image", method="pca",
                                                     n_components=4), 42)
    assert pca.features.shape == (N_IMAGE, 4) and np.isfinite(pca.features).all()
    # PCA scores are centred and variance-ordered
    var = pca.features.var(axis=0)
    assert (np.diff(var) <= 1e-6).all(), var


def test_bad_input_messages(embeddings):
    image, ids = embeddings["image"]
    broken = image.copy()
    broken[[3, 7]] = np.nan
    with pytest.raises(DataError, match=r"2 image embedding row\(s\) contain NaN or inf, "
                                        r"post_ids \['p0003', 'p0007'\]"):
        reduce_embeddings({"image": (broken, ids)}, ReduceParams(modality="image"), 42)
    with pytest.raises(DataError, match=r"needs text embeddings but none were given"):
        reduce_embeddings({"image": (image, ids)}, ReduceParams(modality="concat"), 42)
    zero = embeddings["text"][0].copy()
    zero[0] = 0
    with pytest.raises(DataError, match=r"all zeros .* post_ids \['p0020'\]"):
        select_modality({"image": embeddings["image"], "text": (zero, embeddings["text"][1])},
                        ReduceParams(modality="concat"))
    with pytest.raises(ConfigError, match=r"reduce.n_components\] = 60 is more than PCA allows"):
        reduce_embeddings(embeddings, ReduceParams(method="pca", n_components=60), 42)
    with pytest.raises(ConfigError, match=r"reduce.metric\] = 'cosinus' is not a UMAP metric"):
        reduce_embeddings(embeddings, ReduceParams(metric="cosinus"), 42)
    with pytest.raises(DataError, match=r"only 3 post\(s\) .* at least 4 are needed"):
        reduce_embeddings({"image": (image[:3], ids[:3])}, ReduceParams(), 42)


def _texts(post_ids, rng):
    return pd.DataFrame({"post_id": post_ids, "n_chars": rng.integers(5, 500, len(post_ids))})


def test_text_debias_applies_to_the_text_block_only(embeddings):
    from stylecluster.pipeline.text_debias import debias_text

    text, text_ids = embeddings["text"]
    texts = _texts(text_ids["post_id"], np.random.default_rng(3))
    n_chars = texts["n_chars"].to_numpy()
    # text modality: the block is the debiased vectors (row order = text ids)
    for method in ("top_pcs", "length", "both"):
        params = ReduceParams(modality="text", method="none", text_debias=method, text_top_pcs=2)
        X = select_modality(embeddings, params, texts).X
        np.testing.assert_allclose(X, debias_text(text, n_chars, method, 2), atol=1e-12)
        np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-9)
    # concat: the text half is debiased over the posts with both modalities, then normalised
    params = ReduceParams(modality="concat", method="none", text_debias="both", text_top_pcs=2,
                          weights={"text": 2.0, "image": 1.0})
    X = select_modality(embeddings, params, texts).X
    both = slice(0, N_IMAGE - OFFSET)  # text rows of p0020..p0149
    expected = debias_text(text[both], n_chars[both], "both", 2)
    expected = 2.0 * expected / np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(X[:, :16], expected, atol=1e-9)
    plain = select_modality(embeddings, ReduceParams(modality="concat", method="none"))
    image_block = plain.X[:, 16:]
    np.testing.assert_array_equal(X[:, 16:], image_block)  # the image half is untouched
    # an image run ignores text_debias and needs no lengths
    image = reduce_embeddings(embeddings, ReduceParams(modality="image", method="pca",
                                                       n_components=3, text_debias="length"), 42)
    assert image.summary.text_debias is None
    text_run = reduce_embeddings(embeddings, ReduceParams(modality="text", method="none",
                                                          text_debias="length"), 42, texts)
    assert text_run.summary.text_debias == "length"
    assert text_run.summary.to_json()["text_debias"] == "length"


def test_text_debias_length_needs_every_text_length(embeddings):
    params = ReduceParams(modality="text", method="none", text_debias="length")
    with pytest.raises(DataError, match=r"text_debias = 'length' needs the text lengths"):
        reduce_embeddings(embeddings, params, 42)
    texts = _texts(embeddings["text"][1]["post_id"], np.random.default_rng(3)).iloc[2:]
    with pytest.raises(DataError, match=r"2 text embedding\(s\) have no row in texts.parquet, "
                                        r"post_ids \['p0020', 'p0021'\]"):
        reduce_embeddings(embeddings, params, 42, texts)
    # top_pcs needs no lengths
    top = reduce_embeddings(embeddings, ReduceParams(modality="text", method="none",
                                                     text_debias="top_pcs"), 42)
    assert top.features.shape == (N_TEXT, 16)
