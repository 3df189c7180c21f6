"""Stacked encoders: `embed.image_encoder: efficientnet-lite0+pixels` joins two views of an image.

Each part encodes the item on its own (its own options, device, truncation), its L2-normalised
vector is scaled by the part's weight (`embed.stack_weights`, by part name; 1.0 when not listed),
and the blocks are concatenated; `Encoder.encode` then L2-normalises the whole. With unit blocks
the squared distance between two items is the weighted sum of the parts' squared distances: a
weight w gives a part w^2 of the say of a weight-1 part.

Why (README "Image encoders"): an ImageNet CNN sees what a garment is, the downscaled pixels see
where it sits and how it is cut. On the quality harness Lite0 plus half-weighted pixels helps the
digits, Fashion-MNIST at its true k and the sample's images, but not the cut-outs, so it is an
option, not the default. The cache key names every part's key and weight, so a stack never
shares vectors with its parts or with another weighting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from stylecluster.encoders.base import Encoder

SEPARATOR = "+"


def part_names(name: str) -> list[str]:
    """The parts of a stacked name (`a+b` -> [a, b]); a plain name is its own single part."""
    return [part.strip() for part in name.split(SEPARATOR)]


class StackedEncoder(Encoder):
    """The weighted concatenation of its parts' L2-normalised vectors."""

    def __init__(self, name: str, parts: Sequence[Encoder], weights: Sequence[float]) -> None:
        self.name = name
        self.parts = list(parts)
        self.weights = [float(w) for w in weights]
        self.modality = self.parts[0].modality
        self.dim = sum(part.dim for part in self.parts)
        self.cache_key = "stack/" + SEPARATOR.join(
            f"{w:g}*{part.cache_key}" for part, w in zip(self.parts, self.weights))
        limits = [part.max_tokens for part in self.parts if part.max_tokens is not None]
        self.max_tokens = min(limits) if limits else None  # texts: the tightest part's limit

    def fit_text(self, text: str) -> tuple[str, bool]:
        """The whole `text` (each part cuts it to its own limit as it encodes), and whether any
        part cuts it (counted as truncated by the embed stage)."""
        return text, any(part.fit_text(text)[1] for part in self.parts)

    def _encode(self, batch: Sequence[Any]) -> np.ndarray:
        return np.hstack([np.float32(w) * part.encode(batch)
                          for part, w in zip(self.parts, self.weights)])
