"""The per-item embedding cache: round trip, verified rows, damaged files recomputed not trusted."""

import io as stdio
import sqlite3

import numpy as np
import pytest
from PIL import Image

from stylecluster.storage.cache import FILENAME, EmbeddingCache, image_key, text_key
from stylecluster.errors import DataError

ENC = "hash/sha256-gaussian64/v1"


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def filled(tmp_path):
    """A cache folder holding 50 vectors of width 16 under ENC."""
    vecs = unit_rows(50, 16)
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many(ENC, {f"k{i}": vecs[i] for i in range(50)})
    return tmp_path, vecs


def test_round_trip_is_exact_and_counts_hits(filled):
    folder, vecs = filled
    with EmbeddingCache(folder) as cache:
        got = cache.get_many(ENC, [f"k{i}" for i in range(60)], 16)
        assert len(got) == 50 and cache.hits == 50 and cache.corrupt == 0
        assert all(np.array_equal(got[f"k{i}"], vecs[i]) for i in range(50))
        assert cache.get_many("other-encoder", ["k0"], 16) == {}, "keys are per encoder"


def test_a_corrupt_row_is_ignored_counted_and_deleted(filled):
    folder, vecs = filled
    with sqlite3.connect(folder / FILENAME) as conn:  # flip bytes in one row, truncate another
        blob = bytearray(conn.execute("SELECT vec FROM vectors WHERE key='k3'").fetchone()[0])
        blob[5] ^= 0xFF
        conn.execute("UPDATE vectors SET vec=? WHERE key='k3'", (bytes(blob),))
        conn.execute("UPDATE vectors SET vec=substr(vec, 1, 20) WHERE key='k7'")
    with EmbeddingCache(folder) as cache:
        got = cache.get_many(ENC, [f"k{i}" for i in range(50)], 16)
        assert sorted(set(f"k{i}" for i in range(50)) - set(got)) == ["k3", "k7"]
        assert cache.corrupt == 2, cache.corrupt
    with sqlite3.connect(folder / FILENAME) as conn:
        n = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
    assert n == 48, f"corrupt rows should be deleted, {n} rows left"


def test_a_row_of_another_width_is_not_trusted(filled):
    folder, _ = filled
    with EmbeddingCache(folder) as cache:
        assert cache.get_many(ENC, ["k0", "k1"], 32) == {}
        assert cache.corrupt == 2


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_a_truncated_cache_file_is_moved_aside_and_started_fresh(filled, keep):
    folder, vecs = filled
    path = folder / FILENAME
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(int(size * keep))
    with EmbeddingCache(folder) as cache:
        assert cache.get_many(ENC, [f"k{i}" for i in range(50)], 16) == {}
        assert cache.reset_files == [folder / f"{FILENAME}.corrupt"]
        cache.put_many(ENC, {"k0": vecs[0]})  # the fresh file works
    with EmbeddingCache(folder) as cache:
        assert np.array_equal(cache.get_many(ENC, ["k0"], 16)["k0"], vecs[0])


def test_a_file_that_is_not_a_database_is_started_fresh(tmp_path):
    (tmp_path / FILENAME).write_bytes(b"garbage" * 1000)
    with EmbeddingCache(tmp_path) as cache:
        assert cache.reset_files and cache.get_many(ENC, ["k0"], 16) == {}


def test_cache_path_that_is_a_file_is_an_error(tmp_path):
    f = tmp_path / "cache"
    f.write_text("x")
    with pytest.raises(DataError, match=r"the embedding cache path is a file, not a folder"):
        EmbeddingCache(f)


def test_file_digests_map_to_content_keys_and_a_damaged_key_is_ignored(tmp_path):
    key_a, key_b = text_key("a"), text_key("b")
    with EmbeddingCache(tmp_path) as cache:
        assert cache.keys_of_files(["d1", "d2"]) == {}
        cache.put_file_keys({"d1": key_a, "d2": key_b})
    with EmbeddingCache(tmp_path) as cache:  # kept across runs
        assert cache.keys_of_files(["d2", "d1", "d3", "d1"]) == {"d1": key_a, "d2": key_b}
    con = sqlite3.connect(tmp_path / FILENAME)
    con.execute("UPDATE files SET key = 'not a key' WHERE digest = 'd2'")
    con.commit()
    con.close()
    with EmbeddingCache(tmp_path) as cache:
        assert cache.keys_of_files(["d1", "d2"]) == {"d1": key_a}


def test_content_keys():
    assert text_key("白色连衣裙") == text_key("白色连衣裙") != text_key("白色连衣裙 ")
    a = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    img = Image.fromarray(a)
    buf = stdio.BytesIO()
    img.save(buf, format="PNG", compress_level=9)
    reencoded = Image.open(buf).convert("RGB")
    assert image_key(img) == image_key(reencoded), "same pixels, other PNG bytes: same key"
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert image_key(Image.fromarray(b)) != image_key(img), "one pixel changed: new key"
