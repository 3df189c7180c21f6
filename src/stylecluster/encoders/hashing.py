"""`hash`: a deterministic stand-in encoder for fast unit tests. NOT a real model.

Each item's vector is a seeded Gaussian draw keyed by the SHA-256 of its content (the text's UTF-8
bytes, or the image's mode, size and pixels), so identical items get identical vectors and
different items unrelated ones. It carries no meaning: never use it for an analysis. It exists so
the cache and the stage can be tested in milliseconds, without loading a model.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from stylecluster.encoders.base import BackendConfig, Encoder, Modality


log = logging.getLogger(__name__)

DIM = 64


def content_digest(item: Any) -> bytes:
    """SHA-256 of a text's UTF-8 bytes or of an image's mode, size and pixels."""
    if isinstance(item, str):
        return hashlib.sha256(item.encode("utf-8")).digest()
    h = hashlib.sha256(f"{item.mode}:{item.size[0]}x{item.size[1]}:".encode())
    h.update(item.tobytes())
    return h.digest()


class HashEncoder(Encoder):
    """Deterministic content-hash vectors, 64-d. A test stand-in, not a model."""

    name = "hash"
    dim = DIM
    cache_key = "hash/sha256-gaussian64/v1"

    def __init__(self, config: BackendConfig | None = None, modality: Modality = "text") -> None:
        self.modality = modality
        log.warning("%s encoder 'hash' is a deterministic test stand-in, NOT a real model; its "
                    "vectors carry no meaning", modality)

    def _encode(self, batch: Sequence[Any]) -> np.ndarray:
        rows = [np.random.default_rng(np.frombuffer(content_digest(item), dtype=np.uint32))
                .standard_normal(self.dim) for item in batch]
        return np.stack(rows)  # (n, 64)
