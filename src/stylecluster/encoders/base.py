"""The one small interface every encoder backend implements, and helpers the backends share.

An `Encoder` turns a batch of images (PIL, RGB) or texts into a float32 `(n, dim)` matrix with
L2-normalised rows. Backends implement `_encode`; `encode` checks the shape, finiteness and dtype
and normalises, so every backend returns the same kind of matrix. `cache_key` names everything that
changes the vectors (model, weights, preprocessing, prompt), never things that do not (device,
batch size), so the per-item cache stays valid across those.

A text backend with an input limit sets `max_tokens` and `count_tokens`. `fit_text` then bounds
what a text costs, whatever its length (`fit_prefix`): a backend whose model would take any length
(e5-small's windowing engine, use-multilingual) gets a prefix of at most `max_tokens` tokens; a
backend whose tokenizer cuts at `max_tokens` itself (`truncates_itself`) gets a character cut that
keeps twice that many tokens, so the model still keeps exactly the tokens it always kept, but never
tokenizes a 100,000-character caption whole. `encode` only passes fitted texts to `_encode`. A text
within the limit is passed on unchanged (the same object), so its vector is exactly what it was.
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from stylecluster.errors import BackendError, ConfigError

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

Modality = Literal["image", "text"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
FIRST_CUT_CHARS_PER_TOKEN = 4  # fit_prefix's first cut: characters kept per token of the limit
SELF_CUT_MARGIN = 2  # a cut left to the model's own truncation keeps > 2 x its limit in tokens


@dataclass(frozen=True)
class BackendConfig:
    """What a backend is built from (`encoders.backend_config` assembles it from params).

    Attributes:
        options: The backend's own options dataclass (from `embed.options.<name>`), or None for a
            backend that takes none.
        device: `embed.device`, "cpu" or "cuda".
        threads: `runtime.torch_threads`: CPU threads of torch, ONNX Runtime and the C encoders.
    """

    options: Any
    device: str
    threads: int


class Encoder(ABC):
    """One backend for one modality.

    Attributes:
        name: The registry name (`embed.image_encoder` / `embed.text_encoder`).
        modality: "image" or "text".
        dim: Width of the output vectors.
        cache_key: Identifies the vectors this encoder produces (name, weights, preprocessing).
        max_tokens: Texts: the most tokens the model is fed (special tokens and any prompt
            included); longer texts are cut to it. None: no limit (images, the `hash` stand-in).
        truncates_itself: The backend's tokenizer keeps the first `max_tokens` tokens on its own
            (so `fit_text` only bounds the characters it is given).
    """

    name: str = ""
    modality: Modality = "image"
    dim: int = 0
    cache_key: str = ""
    max_tokens: int | None = None
    truncates_itself: bool = False

    @abstractmethod
    def _encode(self, batch: Sequence[Any]) -> np.ndarray:
        """Return the raw `(len(batch), dim)` vectors of a non-empty batch."""

    def count_tokens(self, text: str) -> int:
        """Tokens the model would be fed for the whole `text` (special tokens, prompt included).

        Only backends that set `max_tokens` implement it.
        """
        raise NotImplementedError(f"encoder {self.name!r} sets no max_tokens")

    def fit_text(self, text: str) -> tuple[str, bool]:
        """`text` as this encoder is given it, and whether it is over `max_tokens`.

        Returns:
            (`text` itself, False) when it fits or there is no limit; otherwise (the prefix that
            `fit_prefix` cuts, True).
        """
        if self.max_tokens is None:
            return text, False
        return fit_prefix(text, self.count_tokens, self.max_tokens,
                          model_truncates=self.truncates_itself)

    def encode(self, batch: Sequence[Image.Image] | Sequence[str]) -> np.ndarray:
        """Encode a batch of images (RGB PIL) or texts.

        Texts longer than `max_tokens` are cut to fit first (`fit_text`); others pass unchanged.

        Args:
            batch: Items of this encoder's modality.

        Returns:
            float32 `(len(batch), dim)`, rows L2-normalised.

        Raises:
            BackendError: If the backend returns the wrong shape or non-finite values.
        """
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.max_tokens is not None:
            batch = [self.fit_text(text)[0] for text in batch]
        out = np.asarray(self._encode(batch), dtype=np.float32)
        if out.shape != (len(batch), self.dim):
            raise BackendError(
                f"encoder {self.name!r} returned shape {out.shape} for a batch of {len(batch)}; "
                f"expected ({len(batch)}, {self.dim}). The model folder/checkpoint does not match "
                "this backend."
            )
        if not np.isfinite(out).all():
            raise BackendError(
                f"encoder {self.name!r} returned non-finite values "
                f"({int((~np.isfinite(out)).sum())} entries); check the weights file and device."
            )
        return l2_normalise(out)


def fit_prefix(text: str, count: Callable[[str], int], limit: int, *,
               model_truncates: bool = False) -> tuple[str, bool]:
    """Cut `text` for a model that takes `limit` tokens, at a cost bounded by `limit`, not the text.

    The text is never tokenized whole when it is long: its first 4 x `limit` characters are
    tokenized, and that cut is doubled only while the prefix has too few tokens (text with very few
    tokens per character, e.g. long runs of spaces). A prefix over the limit means the text is over
    it (more characters only re-split the last pieces), so the rest is never read. Then:

    - `model_truncates=False`: a fitting prefix is found by bisection on its length (about
      log2(4 x limit) tokenizer calls on at most that many characters): the model is given at most
      `limit` tokens.
    - `model_truncates=True`: the cut is doubled until it holds more than 2 x `limit` tokens and
      left to the model's own truncation, which then keeps the same `limit` tokens as it would of
      the whole text (the characters cut off only change tokens far past the limit).

    Args:
        text: The text.
        count: Tokens the model is fed for a text (special tokens and any prompt included);
            `count("") <= limit` is assumed.
        limit: The model's input limit in tokens.
        model_truncates: Whether the model keeps its first `limit` tokens by itself.

    Returns:
        (`text` itself, False) when `count(text) <= limit`; otherwise (a prefix, True): with
        `model_truncates=False` a prefix `p` with `count(p) <= limit < count(p + next character)`.
    """
    need = SELF_CUT_MARGIN * limit if model_truncates else limit
    cut = FIRST_CUT_CHARS_PER_TOKEN * limit
    while cut < len(text) and count(text[:cut]) <= need:
        cut *= 2
    if cut < len(text):
        head, over = text[:cut], True  # count(head) > need >= limit
    else:
        head, over = text, count(text) > limit
    if not over:
        return text, False
    if model_truncates:
        return head, True
    lo, hi = 0, len(head)  # count(head[:lo]) <= limit < count(head[:hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count(head[:mid]) <= limit:
            lo = mid
        else:
            hi = mid
    return head[:lo], True


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Return `x` (n, d) with unit-norm rows (all-zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (n, 1)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def check_device(params: Any) -> None:
    """Fail early if `embed.device` asks for CUDA where torch cannot see a GPU.

    Args:
        params: Anything with a `device` (the embed params, a BackendConfig).

    Raises:
        ConfigError: device is cuda but torch has no CUDA device (CPU build or no GPU).
    """
    if params.device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise ConfigError(
            f"params.yaml [embed.device] = 'cuda' but torch {torch.__version__} ({build}) sees no "
            "CUDA GPU. Set embed.device: cpu (or -S embed.device=cpu), or run on a machine with an "
            "NVIDIA GPU and a CUDA build of torch."
        )


def torch_device(config: BackendConfig) -> Any:
    """Set torch's CPU threads from `runtime.torch_threads` and return the torch device to run on."""
    import torch

    check_device(config)
    torch.set_num_threads(config.threads)
    return torch.device(config.device)


def require_path(value: str | None, key: str, what: str, *, folder: bool) -> Path:
    """Return the user-supplied weights path of an optional backend, or say which param to set.

    Args:
        value: The param's value (None when unset).
        key: The param name inside `embed`, e.g. "options.imagebind.checkpoint".
        what: What the path should hold, for the message.
        folder: Whether a folder (True) or a file (False) is expected.

    Raises:
        BackendError: If the param is unset or the path does not exist / has the wrong kind.
    """
    kind = "folder" if folder else "file"
    if not value:
        raise BackendError(
            f"params.yaml [embed.{key}] is not set; this encoder needs {what}. Set embed.{key} "
            f"to the local {kind} (weights are never downloaded at run time)."
        )
    path = Path(value).expanduser()
    if not (path.is_dir() if folder else path.is_file()):
        raise BackendError(
            f"params.yaml [embed.{key}] = {value!r}: no such {kind}; expected {what}. "
            f"Fix the path in params.yaml (relative paths are relative to the project root)."
        )
    return path


def fingerprint(path: Path, head_bytes: int = 1 << 20) -> str:
    """A cheap identity of a weights file or model folder for cache keys.

    Hashes, for each file (sorted by relative path), its relative path, its size and its first
    `head_bytes` bytes: moving the folder keeps the key, replacing the weights changes it, and a
    multi-GB checkpoint is not read whole.
    """
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        rel = f.name if f == path else f.relative_to(path).as_posix()
        h.update(f"{rel}\0{f.stat().st_size}\0".encode())
        with f.open("rb") as fh:
            h.update(fh.read(head_bytes))
    return h.hexdigest()[:16]


def image_batch_array(
    images: Sequence[Image.Image],
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    fit: Literal["pad", "crop"],
    resample: int,
) -> np.ndarray:
    """Resize and normalise RGB images into one float32 `(n, 3, size, size)` array.

    Args:
        images: RGB PIL images of any size.
        size: Output side length.
        mean: Per-channel mean on the [0, 1] scale.
        std: Per-channel std on the [0, 1] scale.
        fit: "pad": resize the long side to `size` (aspect kept), then centre it on a black
            `size` x `size` square (the masked background), so the whole outfit is kept without
            distortion; "crop": resize the short side to `size`, then centre-crop (CLIP/ImageBind's
            own preprocessing).
        resample: A PIL resampling filter (e.g. Image.BICUBIC).

    Returns:
        float32 (n, 3, size, size).
    """
    from PIL import Image as PILImage

    # (x / 255 - mean) / std for every byte value x, per channel: one table lookup per pixel gives
    # the same float32 values as the arithmetic, in one pass that stays in cache
    lut = ((np.arange(256, dtype=np.float32)[None, :] / np.float32(255.0)
            - np.asarray(mean, dtype=np.float32)[:, None])
           / np.asarray(std, dtype=np.float32)[:, None])  # (3, 256)
    out = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, img in enumerate(images):
        if img.mode != "RGB":
            img = img.convert("RGB")
        w, h = img.size
        if fit == "pad":
            scale = size / max(w, h)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            canvas = PILImage.new("RGB", (size, size), (0, 0, 0))
            canvas.paste(img.resize((nw, nh), resample), ((size - nw) // 2, (size - nh) // 2))
            img = canvas
        else:
            scale = size / min(w, h)
            nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((nw, nh), resample)
            left, top = (nw - size) // 2, (nh - size) // 2
            img = img.crop((left, top, left + size, top + size))
        pixels = np.asarray(img)  # (size, size, 3) uint8
        for c in range(3):
            np.take(lut[c], pixels[:, :, c], out=out[i, c])
    return out
