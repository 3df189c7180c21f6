"""Text pooling (`embed.text_pooling`): chunking, token weights, pooling, and the embed hook."""

import numpy as np
import pandas as pd
import pytest

from stylecluster import config, encoders, schemas
from stylecluster.config import EmbedParams
from stylecluster.errors import ConfigError, DataError
from stylecluster.pipeline import embed, text_pooling
from stylecluster.storage.cache import EmbeddingCache

CAPTION = "这家店回购了很多次。谁懂啊这一身也太有质感了。终于等到晴天了。 两颗心 #日常穿搭 #大衣 #穿搭分享"


@pytest.fixture
def hash_text():
    return encoders.get_encoder("hash", "text", EmbedParams())


def random_unit_vectors(n, dim=16, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# ---- split_chunks ----------------------------------------------------------------------------

def test_chunks_keep_sentences_whole_and_in_order():
    chunks = text_pooling.split_chunks(CAPTION, 20)
    assert chunks[:2] == ["这家店回购了很多次。", "谁懂啊这一身也太有质感了。"]
    assert all(0 < len(c) <= 20 for c in chunks), chunks
    assert "".join(chunks).replace(" ", "") == CAPTION.replace(" ", "")


def test_a_sentence_over_the_limit_is_cut_at_a_space_or_at_the_limit():
    assert text_pooling.split_chunks("#穿搭 #通勤 #日常", 8) == ["#穿搭 #通勤", "#日常"]
    assert text_pooling.split_chunks("一" * 25, 10) == ["一" * 10, "一" * 10, "一" * 5]
    assert text_pooling.split_chunks("   ", 10) == [] and text_pooling.split_chunks("", 10) == []


def test_a_short_text_is_one_chunk():
    assert text_pooling.split_chunks("白色连衣裙 温柔", 64) == ["白色连衣裙 温柔"]


# ---- plan_tokens -----------------------------------------------------------------------------

def test_token_plan_keeps_order_and_idf_weights():
    plan = text_pooling.plan_tokens(["a", "b", "c"], [["x", "y", "x"], ["y"], ["z", "y"]], "idf")
    assert plan.ids == ["a", "b", "c"] and plan.units == ["x", "y", "z"]
    assert plan.post_index.tolist() == [0, 0, 1, 2, 2]
    assert plan.unit_index.tolist() == [0, 1, 1, 2, 1]
    # smooth idf over 3 posts: x and z in 1 post, y in all 3
    idf_rare, idf_y = np.log(4 / 2) + 1, np.log(4 / 4) + 1
    assert np.allclose(plan.weight[:2], np.array([idf_rare, idf_y]) / (idf_rare + idf_y))
    assert plan.weight[2] == pytest.approx(1.0)
    assert plan.weight[0] > plan.weight[1]  # the rarer token weighs more
    for row in range(3):
        assert plan.weight[plan.post_index == row].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("weighting, expected", [("tfidf", 2 * (np.log(3 / 2) + 1)), ("mean", 2.0)])
def test_tfidf_and_mean_count_repeats(weighting, expected):
    plan = text_pooling.plan_tokens(["a", "b"], [["x", "y", "x"], ["y"]], weighting)
    # weights of post a: x then y, normalised to sum 1
    other = 1.0 if weighting == "mean" else np.log(3 / 3) + 1
    assert np.allclose(plan.weight[:2], np.array([expected, other]) / (expected + other))


def test_a_post_without_tokens_is_dropped_with_its_reason():
    plan = text_pooling.plan_tokens(["a", "b", "c"], [["x"], [], ["y"]])
    assert plan.ids == ["a", "c"]
    assert plan.dropped.to_dict("records") == [
        {"post_id": "b", "stage": "embed", "reason": text_pooling.NO_TOKENS}]
    schemas.check(plan.dropped, "dropped", "test")
    # it does not count as a document: x and y each in 1 of 2 posts
    assert np.allclose(plan.weight, [1.0, 1.0])


def test_an_unknown_weighting_is_refused():
    with pytest.raises(ValueError, match="text_token_weighting = 'bm25'"):
        text_pooling.plan_tokens(["a"], [["x"]], "bm25")


def test_ctfidf_weighs_a_token_of_the_posts_hashtag_over_chatter_every_hashtag_shares():
    # 蒸笼 (chatter) is in every post; 皮衣 only under #机车, 草帽 only under #度假
    tokens = [["皮衣", "蒸笼"], ["皮衣", "蒸笼", "黑色"], ["草帽", "蒸笼"], ["草帽", "蒸笼"]]
    tags = [["机车"], ["机车"], ["度假"], ["度假"]]
    plan = text_pooling.plan_tokens(list("abcd"), tokens, "ctfidf", tags)
    w = {plan.units[u]: x for u, x in zip(plan.unit_index[plan.post_index == 0],
                                          plan.weight[plan.post_index == 0])}
    assert w["皮衣"] > w["蒸笼"] > 0, w
    # by hand: class 机车 holds 5 token occurrences, 皮衣 2 of them; A = 9 / 2 occurrences per
    # class; 皮衣 occurs 2 times in all, 蒸笼 4
    leather, chatter = 2 / 5 * np.log1p(4.5 / 2), 2 / 5 * np.log1p(4.5 / 4)
    assert w["皮衣"] == pytest.approx(leather / (leather + chatter))
    for row in range(4):
        assert plan.weight[plan.post_index == row].sum() == pytest.approx(1.0)


def test_ctfidf_averages_over_a_posts_hashtags_and_falls_back_to_idf_without_any():
    tokens = [["皮衣", "蒸笼"], ["皮衣", "草帽"], ["草帽", "蒸笼"], ["蒸笼", "黑色"]]
    tags = [["机车", "穿搭"], ["机车"], ["穿搭"], []]
    plan = text_pooling.plan_tokens(list("abcd"), tokens, "ctfidf", tags)
    idf = text_pooling.plan_tokens(list("abcd"), tokens, "idf")
    assert np.allclose(plan.weight[plan.post_index == 3], idf.weight[idf.post_index == 3])
    # post a is a document of both its hashtags: its weights are the mean of the two classes'
    from stylecluster.ctfidf import ctfidf
    scores, words = ctfidf([tokens[0], tokens[1], tokens[0], tokens[2]],
                           np.array([0, 0, 1, 1]), 2)
    mean = scores[:, [words.index("皮衣"), words.index("蒸笼")]].mean(axis=0)
    assert np.allclose(plan.weight[plan.post_index == 0], mean / mean.sum())
    with pytest.raises(ValueError, match="3 hashtag lists for 4 posts"):
        text_pooling.plan_tokens(list("abcd"), tokens, "ctfidf", tags[:3])


def test_ctfidf_sparse_matches_the_dense_scores():
    from stylecluster.ctfidf import ctfidf, ctfidf_sparse
    docs = [["红", "穿搭"], ["红", "穿搭", "红"], ["蓝", "穿搭"], ["蓝", "绿"], []]
    classes = np.array([0, 0, 1, 2, 2])
    dense, words = ctfidf(docs, classes, 3)
    sparse, same = ctfidf_sparse(docs, classes, 3)
    assert same == words and np.allclose(sparse.toarray(), dense)
    assert sparse.nnz == 6  # a word scores only in the classes it occurs in


# ---- pool ------------------------------------------------------------------------------------

@pytest.mark.parametrize("weighting", text_pooling.WEIGHTINGS)
def test_a_caption_repeated_twice_pools_to_the_same_vector(weighting):
    tokens = ["白色", "连衣裙", "温柔", "白色", "夏天"]
    others = [["黑色", "皮衣"], ["白色", "草帽"]]
    tags = [["白色穿搭"], ["机车"], ["白色穿搭"]]
    once = text_pooling.plan_tokens(["p", "q", "r"], [tokens, *others], weighting, tags)
    twice = text_pooling.plan_tokens(["p", "q", "r"], [tokens * 2, *others], weighting, tags)
    assert once.units == twice.units
    vectors = random_unit_vectors(len(once.units))
    a, b = text_pooling.pool(once, vectors), text_pooling.pool(twice, vectors)
    assert np.allclose(a, b, atol=1e-6), np.abs(a - b).max()


def test_pool_is_the_normalised_weighted_mean_and_follows_post_order():
    plan = text_pooling.plan_tokens(["a", "b"], [["x", "y"], ["y"]], "mean")
    vectors = random_unit_vectors(2)
    got = text_pooling.pool(plan, vectors)
    want = (vectors[0] + vectors[1]) / np.linalg.norm(vectors[0] + vectors[1])
    assert got.dtype == np.float32 and got.shape == (2, 16)
    assert np.allclose(got[0], want, atol=1e-6) and np.allclose(got[1], vectors[1], atol=1e-6)
    flipped = text_pooling.plan_tokens(["b", "a"], [["y"], ["x", "y"]], "mean")
    assert flipped.units == ["y", "x"]
    again = text_pooling.pool(flipped, vectors[::-1])
    assert np.allclose(again[::-1], got, atol=1e-6)


def test_pool_refuses_vectors_that_do_not_match_or_cancel():
    plan = text_pooling.plan_tokens(["a"], [["x", "y"]], "mean")
    with pytest.raises(DataError, match="1 vectors for 2 pieces"):
        text_pooling.pool(plan, np.ones((1, 4)))
    with pytest.raises(DataError, match=r"zero \(e\.g\. \['a'\]\)"):
        text_pooling.pool(plan, np.array([[1.0, 0.0], [-1.0, 0.0]]))


# ---- the embed hook --------------------------------------------------------------------------

def texts_table(captions):
    return pd.DataFrame({"post_id": list(captions), "embed_input": list(captions.values()),
                         "has_text": [bool(c) for c in captions.values()],
                         "tokens": [c.split() for c in captions.values()]})


def manifest_of(ids):
    return pd.DataFrame({"post_id": ids, "kept": [False] * len(ids), "reason": ["x"] * len(ids),
                         "mask_path": [""] * len(ids), "mask_sha256": [""] * len(ids)})


def test_whole_is_embed_texts_unchanged(hash_text):
    captions = {"p1": "白色 连衣裙", "p2": "黑色 皮衣 皮衣"}
    texts = texts_table(captions)
    inputs = embed.select_inputs(manifest_of(list(captions)), texts)
    got, same = text_pooling.embed_text_vectors(inputs, texts, EmbedParams(), hash_text, None)
    want = embed.embed_texts(inputs.text_ids, inputs.texts, hash_text, None, 32)
    assert same is inputs and np.array_equal(got.matrix, want.matrix)


def test_tokens_pooling_embeds_each_token_once_through_the_cache(tmp_path, hash_text):
    captions = {"p1": "白色 连衣裙 白色", "p2": "白色 皮衣", "p3": "", "p4": "#"}
    texts = texts_table(captions)
    texts.loc[texts.post_id == "p4", "tokens"] = pd.Series([[]], index=[3])
    inputs = embed.select_inputs(manifest_of(list(captions)), texts)
    params = EmbedParams(text_pooling="tokens")
    with EmbeddingCache(tmp_path) as cache:
        got, after = text_pooling.embed_text_vectors(inputs, texts, params, hash_text, cache)
    assert list(got.ids.post_id) == ["p1", "p2"] and got.matrix.shape == (2, 64)
    assert (got.n_encoded, got.n_cached) == (3, 0)  # 白色, 连衣裙, 皮衣
    assert after.text_ids == ["p1", "p2"] and after.texts == ["白色 连衣裙 白色", "白色 皮衣"]
    text_drops = after.dropped[after.dropped.stage != "segment"]  # every image is dropped here
    reasons = text_drops.set_index("post_id")["reason"]
    assert reasons["p3"] == embed.NO_TEXT and reasons["p4"] == text_pooling.NO_TOKENS
    assert embed.summarise(got, got, after).without_text == 2
    with EmbeddingCache(tmp_path) as cache:
        again, _ = text_pooling.embed_text_vectors(inputs, texts, params, hash_text, cache)
    assert (again.n_encoded, again.n_cached) == (0, 3)
    assert np.array_equal(again.matrix, got.matrix)


def test_chunks_pooling_averages_the_chunk_vectors(hash_text):
    captions = {"p1": "第一句话。第二句话。", "p2": "只有一句"}
    texts = texts_table(captions)
    inputs = embed.select_inputs(manifest_of(list(captions)), texts)
    params = EmbedParams(text_pooling="chunks", text_chunk_chars=8)
    got, _ = text_pooling.embed_text_vectors(inputs, texts, params, hash_text, None)
    parts = embed.embed_texts(["a", "b", "c"], ["第一句话。", "第二句话。", "只有一句"],
                              hash_text, None, 32).matrix
    mean = parts[0].astype(np.float64) + parts[1]
    assert np.allclose(got.matrix[0], mean / np.linalg.norm(mean), atol=1e-6)
    assert np.allclose(got.matrix[1], parts[2], atol=1e-6)


def test_pooling_params_are_checked():
    with pytest.raises(ConfigError, match=r"\[embed\.text_pooling\] = 'sum'"):
        config.load_section({"embed": {"text_pooling": "sum"}}, "embed")
    with pytest.raises(ConfigError, match=r"\[embed\.text_chunk_chars\] = 2"):
        config.load_section({"embed": {"text_chunk_chars": 2}}, "embed")


def test_no_post_with_tokens_gives_an_empty_matrix_and_every_post_dropped():
    plan = text_pooling.plan_tokens(["a", "b"], [[], []])
    assert plan.ids == [] and list(plan.dropped.post_id) == ["a", "b"]
    assert text_pooling.pool(plan, np.zeros((0, 8))).shape == (0, 8)
