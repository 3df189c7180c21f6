"""The embed core (input selection, batching through the cache) and the stage end to end."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stylecluster import encoders
from stylecluster.pipeline import embed
from stylecluster import schemas, storage
from stylecluster.storage.cache import FILENAME, EmbeddingCache
from stylecluster.config import EmbedParams
from stylecluster.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
HASH_DIM = 64

CAPTIONS = {
    "p1": "白色连衣裙 温柔 夏天",
    "p2": "黑色 皮衣 马丁靴 酷",
    "p3": "",  # has_text False
    "p4": "牛仔裤 白T 简约",
    "p5": "碎花裙 草帽 度假",
}


def make_manifest(ids, kept, mask_paths, reasons=None, digests=None):
    return pd.DataFrame({
        "post_id": ids, "clothing_share": [0.3] * len(ids), "person_share": [0.5] * len(ids),
        "kept": kept,
        "reason": reasons or [""] * len(ids), "mask_path": mask_paths,
        "mask_source": ["mediapipe"] * len(ids),
        "mask_sha256": digests or [f"{i:064x}" if k else "" for i, k in enumerate(kept)]})


def make_texts(captions: dict[str, str]):
    return pd.DataFrame({
        "post_id": list(captions), "text": list(captions.values()),
        "tokens": [t.split() for t in captions.values()],
        "keywords": [t.split()[:2] for t in captions.values()],
        "n_chars": [len(t) for t in captions.values()],
        "has_text": [bool(t) for t in captions.values()],
        "embed_input": list(captions.values()),
    })


def synthetic_images(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (48, 32, 3), dtype=np.uint8)) for _ in range(n)]


@pytest.fixture
def hash_text():
    return encoders.get_encoder("hash", "text", EmbedParams())


# ---- select_inputs ---------------------------------------------------------------------------------

def test_select_inputs_splits_and_lists_every_drop_with_its_reason():
    manifest = make_manifest(list(CAPTIONS), [True, True, True, False, True],
                             ["masks/p1.png", "masks/p2.png", "masks/p3.png", "", "masks/p5.png"],
                             ["", "", "", "clothing share 0.010 < 0.05", ""])
    captions = dict(CAPTIONS)
    texts = make_texts(captions)
    texts.loc[texts.post_id == "p5", "embed_input"] = "  "  # has text, but nothing to embed
    got = embed.select_inputs(manifest, texts)
    assert got.image_ids == ["p1", "p2", "p3", "p5"]
    assert got.mask_paths == ["masks/p1.png", "masks/p2.png", "masks/p3.png", "masks/p5.png"]
    assert got.text_ids == ["p1", "p2", "p4"]
    assert got.texts == [CAPTIONS["p1"], CAPTIONS["p2"], CAPTIONS["p4"]]
    dropped = got.dropped.set_index("post_id")
    assert dropped.loc["p4"].tolist() == ["segment", "clothing share 0.010 < 0.05"]
    assert dropped.loc["p3"].tolist() == ["preprocess", embed.NO_TEXT]
    assert dropped.loc["p5"].tolist() == ["embed", embed.EMPTY_INPUT]
    schemas.check(got.dropped, "dropped", "test")


def test_select_inputs_rejects_tables_of_different_posts():
    manifest = make_manifest(["p1", "p2"], [True, True], ["masks/p1.png", "masks/p2.png"])
    with pytest.raises(DataError, match=r"cover different posts: 0 only in the manifest.*"
                                        r"1 only in texts \(e.g. \['p4'\]\)"):
        embed.select_inputs(manifest, make_texts({"p1": "a", "p2": "b", "p4": "c"}))


def test_select_inputs_rejects_a_kept_image_without_mask():
    manifest = make_manifest(["p1", "p2"], [True, True], ["masks/p1.png", ""])
    with pytest.raises(DataError, match=r"1 kept post\(s\) have an empty mask_path \(e.g. \['p2'\]\)"):
        embed.select_inputs(manifest, make_texts({"p1": "a", "p2": "b"}))


def test_select_inputs_rejects_a_kept_image_without_its_digest():
    manifest = make_manifest(["p1", "p2"], [True, True], ["masks/p1.png", "masks/p2.png"],
                             digests=["a" * 64, ""])
    with pytest.raises(DataError, match=r"1 kept post\(s\) have no mask_sha256 \(e.g. \['p2'\]\)"
                                        r".*Re-run segment"):
        embed.select_inputs(manifest, make_texts({"p1": "a", "p2": "b"}))


# ---- embedding through the cache ---------------------------------------------------------------

def test_files_seen_before_are_not_decoded_again(tmp_path):
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    files = [tmp_path / "masks" / f"p{i}.png" for i in range(6)]
    for img, f in zip(synthetic_images(6, seed=5), files):
        storage.write_image(img, f)
    ids = [f.stem for f in files]
    decoded = []

    def run():
        decoded.clear()
        with EmbeddingCache(tmp_path / "cache") as cache:
            return embed.embed_images(ids, lambda i: decoded.append(i) or storage.read_image(files[i]),
                                      enc, cache, 4, file_digest=lambda i: storage.file_sha256(files[i]))

    first = run()
    assert (first.n_loaded, first.n_encoded, sorted(decoded)) == (6, 6, list(range(6)))
    warm = run()
    assert (warm.n_loaded, warm.n_cached, decoded) == (0, 6, []), warm.run_facts()
    assert np.array_equal(warm.matrix, first.matrix)

    # the same pixels in other PNG bytes: decoded once to find its key, then a cache hit
    storage.read_image(files[2]).save(files[2], compress_level=0)
    same_pixels = run()
    assert (same_pixels.n_loaded, same_pixels.n_encoded, decoded) == (1, 0, [2])
    assert np.array_equal(same_pixels.matrix, first.matrix)
    assert run().n_loaded == 0, "the new file's key was remembered"

    # other pixels: decoded and encoded
    storage.write_image(synthetic_images(1, seed=9)[0], files[4])
    changed = run()
    assert (changed.n_loaded, changed.n_encoded, decoded) == (1, 1, [4])
    assert not np.allclose(changed.matrix[4], first.matrix[4])
    assert np.array_equal(np.delete(changed.matrix, 4, 0), np.delete(first.matrix, 4, 0))


def test_second_run_encodes_nothing_and_a_changed_item_only_that_one(tmp_path, hash_text):
    ids = [f"p{i}" for i in range(10)]
    texts = [f"穿搭 {i}" for i in range(10)]
    with EmbeddingCache(tmp_path) as cache:
        first = embed.embed_texts(ids, texts, hash_text, cache, batch_size=4)
    assert (first.n_cached, first.n_encoded) == (0, 10)
    with EmbeddingCache(tmp_path) as cache:
        second = embed.embed_texts(ids, texts, hash_text, cache, batch_size=3)
    assert (second.n_cached, second.n_encoded) == (10, 0), second.summary()
    assert np.array_equal(first.matrix, second.matrix)
    assert second.items_per_s is None

    changed = list(texts)
    changed[6] = "完全不同的一条"
    with EmbeddingCache(tmp_path) as cache:
        third = embed.embed_texts(ids + ["p10"], changed + ["新帖子"], hash_text, cache, 4)
    assert (third.n_cached, third.n_encoded) == (9, 2), third.summary()
    assert np.array_equal(third.matrix[:6], first.matrix[:6])
    assert not np.allclose(third.matrix[6], first.matrix[6])
    assert list(third.ids.post_id) == ids + ["p10"]


def test_truncated_cache_file_means_everything_is_recomputed(tmp_path, hash_text):
    ids, texts = ["a", "b", "c"], ["x", "y", "z"]
    with EmbeddingCache(tmp_path) as cache:
        first = embed.embed_texts(ids, texts, hash_text, cache, 2)
    path = tmp_path / FILENAME
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    with EmbeddingCache(tmp_path) as cache:
        again = embed.embed_texts(ids, texts, hash_text, cache, 2)
    assert (again.n_cached, again.n_encoded) == (0, 3)
    assert np.array_equal(first.matrix, again.matrix)


def test_images_in_batches_with_duplicates_and_no_cache():
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    imgs = synthetic_images(5)
    imgs.append(imgs[1].copy())  # same pixels as item 1
    got = embed.embed_images([f"p{i}" for i in range(6)], imgs.__getitem__, enc, None, 4)
    assert got.matrix.shape == (6, HASH_DIM) and got.matrix.dtype == np.float32
    assert np.array_equal(got.matrix[5], got.matrix[1])
    assert np.allclose(np.linalg.norm(got.matrix, axis=1), 1.0, atol=1e-5)
    assert got.n_encoded == 6 and got.n_cached == 0


def test_a_corrupt_image_names_the_file(tmp_path):
    bad = tmp_path / "masks" / "p1.png"
    bad.parent.mkdir()
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    with pytest.raises(DataError, match=r"p1\.png: image does not decode"):
        embed.embed_images(["p1"], lambda i: storage.read_image(bad), enc, None, 4)


# ---- the stage script end to end -------------------------------------------------------------




def test_embed_texts_runs_by_length_and_returns_input_order():
    enc = encoders.get_encoder("hash", "text", EmbedParams())
    seen = []
    real = enc._encode
    enc._encode = lambda batch: (seen.append([len(t) for t in batch]), real(batch))[1]
    texts = ["a" * n for n in (9, 1, 7, 3, 5, 2, 8)]
    ids = [f"p{i}" for i in range(len(texts))]
    out = embed.embed_texts(ids, texts, enc, None, batch_size=3)
    assert out.ids["post_id"].tolist() == ids
    assert np.array_equal(out.matrix, np.vstack([enc.encode([t]) for t in texts]))
    assert seen[:3] == [[1, 2, 3], [5, 7, 8], [9]], seen
