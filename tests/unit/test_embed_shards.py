"""The embed split (plan -> encode shards -> assemble), segment's shards and the local executor."""

import pickle

import numpy as np
import pytest

from stylecluster import encoders, executors, storage
from stylecluster.config import EmbedParams, RuntimeParams, SegmentParams
from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline import embed, segment, segment_shards
from stylecluster.pipeline.embed_shards import (Assembly, encode_shard, make_shards, plan_items)
from stylecluster.segmenters import make_segmenter
from stylecluster.storage.cache import EmbeddingCache, image_key, text_key
from tests.unit.test_embed import synthetic_images


@pytest.fixture
def hash_text():
    return encoders.get_encoder("hash", "text", EmbedParams())


def test_plan_takes_cached_rows_and_loads_each_distinct_text_once(tmp_path, hash_text):
    texts = ["a", "b", "a", "c", "b"]
    keys = [text_key(t) for t in texts]
    with EmbeddingCache(tmp_path) as cache:
        cache.put_many(hash_text.cache_key, dict(zip([keys[3]], hash_text.encode(["c"]))))
        plan = plan_items(5, cache, hash_text.cache_key, hash_text.dim, keys=keys)
    assert plan.todo == [0, 1] and plan.same_as == {2: 0, 4: 1}, plan
    assert set(plan.found) == {keys[3]}


def test_shards_hold_whole_batches_and_the_vectors_do_not_depend_on_shard_size(hash_text):
    texts = [f"穿搭 {i}" for i in range(11)]
    keys = [text_key(t) for t in texts]
    plan = plan_items(11, None, hash_text.cache_key, hash_text.dim, keys=keys)
    sizes = [len(s.rows) for s in make_shards(plan, texts, None, text_key, 3, 7)]
    assert sizes == [6, 5], "7 rounds down to 2 batches of 3"
    assert [len(s.rows) for s in make_shards(plan, texts, None, text_key, 3, 1)] == [3, 3, 3, 2]
    matrices = {size: embed.embed_texts([str(i) for i in range(11)], texts, hash_text, None, 3,
                                        shard_size=size).matrix.tobytes() for size in (1, 4, 100)}
    assert len(set(matrices.values())) == 1


def test_assembly_gives_the_same_matrix_whatever_order_shards_finish(tmp_path):
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    images = synthetic_images(6, seed=2)
    images[4] = images[1].copy()  # the same pixels in another row (no digests: both loaded)
    plan = plan_items(6, None, enc.cache_key, enc.dim)
    shards = make_shards(plan, images, None, image_key, 2, 2)
    results = [encode_shard(s, enc) for s in shards]
    matrices = []
    for order in (results, results[::-1]):
        with EmbeddingCache(tmp_path / str(len(matrices))) as cache:
            assembly = Assembly(plan, cache, enc.cache_key, enc.dim)
            settled = sum(assembly.add(r) for r in order)
            matrix, n_cached = assembly.matrix()
            assert len(cache.get_many(enc.cache_key, [image_key(i) for i in images], enc.dim)) == 5
        assert (settled, n_cached) == (6, 0)
        matrices.append(matrix)
    assert matrices[0].tobytes() == matrices[1].tobytes()
    assert np.array_equal(matrices[0][4], matrices[0][1])


def test_a_shard_of_paths_pickles_and_encodes_the_same_after(tmp_path):
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    files = [tmp_path / f"p{i}.png" for i in range(3)]
    for img, f in zip(synthetic_images(3, seed=4), files):
        storage.write_image(img, f)
    plan = plan_items(3, None, enc.cache_key, enc.dim, digests=[storage.file_sha256(f) for f in files])
    (shard,) = make_shards(plan, [str(f) for f in files], storage.read_image, image_key, 2, 4)
    copy = pickle.loads(pickle.dumps(shard))  # what a dask worker receives
    a, b = encode_shard(shard, enc), encode_shard(copy, enc)
    assert a.keys == b.keys and a.vectors.tobytes() == b.vectors.tobytes()
    assert a.vectors.shape == (3, enc.dim)


def test_local_executor_builds_a_recipe_once_per_process():
    built = []

    class Recipe:
        def key(self):
            return "test-recipe"

        def build(self):
            built.append(1)
            return 10

    run = executors.LocalExecutor().run
    first = list(run(lambda shard, res: shard * res, Recipe(), [1, 2, 3]))
    again = list(run(lambda shard, res: shard + res, Recipe(), [1]))
    assert first == [(0, 10), (1, 20), (2, 30)] and again == [(0, 11)] and built == [1]
    executors._BUILT.pop("test-recipe")
    assert list(run(lambda s, r: (s, r), Recipe(), [5], resource="own")) == [(0, (5, "own"))]


def test_runtime_executor_settings_are_checked():
    with pytest.raises(ConfigError, match=r"\[runtime.executor_address\] = 'localhost:8786'.*"
                                          r"tcp://host:8786"):
        RuntimeParams(executor="dask", executor_address="localhost:8786")
    with pytest.raises(ConfigError, match=r"\[runtime.workers\] = 0 .*an integer >= 1"):
        RuntimeParams(workers=0)
    assert executors.worker_runtime(RuntimeParams(executor="dask", threads_per_worker=3)
                                    ).torch_threads == 3
    assert executors.worker_runtime(RuntimeParams(torch_threads=5)).torch_threads == 5


def test_sharded_gives_the_driver_its_encoder_and_workers_their_recipe():
    """What stages/embed.py passes a sharded core: the driver's encoder built with the runtime,
    and shards that a worker would build with its own runtime (threads_per_worker)."""
    import functools

    built = []

    class Pool:
        def run(self, fn, recipe, shards, resource):
            built.append(recipe)
            return iter([(0, (fn, resource))])

    rt = RuntimeParams(executor="dask", threads_per_worker=3, torch_threads=2, shard_size=7)
    recipe_for = functools.partial(encoders.EncoderRecipe, "hash", "text", EmbedParams())
    encoder, shards = executors.sharded(Pool(), recipe_for, rt)
    assert encoder.name == encoders.EncoderRecipe("hash", "text", EmbedParams()).build().name
    assert shards["shard_size"] == 7
    ((_, (fn, resource)),) = list(shards["run_shards"](len, ["s"]))
    assert fn is len and resource is encoder  # the driver's own encoder for local runs
    assert built[0].runtime.torch_threads == 3 and built[0].name == "hash"


def test_segment_shards_give_the_stream_result_in_any_order():
    params = SegmentParams(method="none")
    images = {f"p{i}": np.asarray(img) for i, img in enumerate(synthetic_images(5, seed=1))}
    ids, paths = list(images) + ["p5"], list(images) + [None]  # p5: a text-only post
    with make_segmenter(params) as seg:
        stream = segment.segment_posts(((p, images[p]) for p in ids[:5]), params, seg)
        shards = segment_shards.make_shards(ids, paths, images.__getitem__, storage.encode_image,
                                            params, 2)
        written = {}

        def backwards(fn, todo):
            return ((i, fn(todo[i], seg)) for i in reversed(range(len(todo))))

        got = segment_shards.segment_sharded(shards, backwards,
                                             lambda rel, data: written.setdefault(rel, "d" * 64),
                                             params, pose_gate=False)
    assert len(shards) == 3
    assert got.manifest["post_id"].tolist() == ids
    assert sorted(written) == [f"masks/p{i}.png" for i in range(5)]
    cols = ["post_id", "clothing_share", "kept", "reason", "mask_path"]
    assert got.manifest[cols].head(5).equals(stream.manifest[cols])
    assert got.manifest.loc[5, "reason"] == "no image"
    with pytest.raises(DataError, match=r"post_id 'p1' appears twice"):
        segment_shards.make_shards(["p1", "p1"], ["a", "b"], str, storage.encode_image, params, 2)
