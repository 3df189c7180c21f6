"""ImageBind (huge) image and text encoder: one 1024-d space for both modalities.

The model code comes from `imagebind-unofficial`, installed without its dependencies. Its package
`__init__` imports `imagebind.data`, which needs torchvision, torchaudio and pytorchvideo (never
installed here: they replace the CPU torch), so this module imports only `imagebind.models.*`,
registering the `imagebind` package without running its `__init__`. Those model modules also import
four small helpers that are not installed here; when one is missing, a stand-in is provided while
the modules are imported (and removed from `sys.modules` afterwards, so nothing else sees it):

- `timm.layers.trunc_normal_` -> `torch.nn.init.trunc_normal_` (the same function timm wraps),
  `timm.layers.DropPath` -> stochastic depth (identity at inference, which is all we run);
- `einops.rearrange` -> a permutation of named axes (the model uses only "b l d -> l b d" and back);
- `iopath...g_pathmgr.open` -> the builtin `open` (the BPE vocabulary is a local file);
- `ftfy.fix_text` -> Unicode NFC + full-width ASCII folding (ftfy also repairs mojibake, which
  clean captions do not have). Install ftfy to get the exact original text cleaning.

Image preprocessing is ImageBind's own, done in PIL: bicubic resize of the short side to 224,
centre crop 224, CLIP mean/std. Text uses ImageBind's CLIP BPE tokenizer (77 tokens; the
vocabulary is mostly English, so Chinese captions fall back to byte-level pieces). The tokenizer
keeps the first 77 (start and end tokens included) but BPE-encodes the whole text first, in pure
Python, so `fit_text` first cuts a longer text's characters, keeping more than twice that many
tokens: the same 77 tokens reach the model, and a very long caption is never encoded whole.

The checkpoint (`embed.options.imagebind.checkpoint`, e.g. imagebind_huge.pth) is read with
`torch.load(..., weights_only=True, mmap=True)` into a model built on the meta device and loaded
with `strict=True, assign=True`: nothing is initialised twice, the 4.5 GB file is paged in only
where used, and the other modalities (audio, depth, thermal, IMU) are dropped before moving to
the device.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stylecluster.encoders.base import (CLIP_MEAN, CLIP_STD, BackendConfig, Encoder, Modality,
                                        fingerprint, image_batch_array, require_path,
                                        torch_device)
from stylecluster.errors import BackendError
from stylecluster.paramtypes import param

if TYPE_CHECKING:
    from PIL import Image

KEY = "options.imagebind.checkpoint"
IMAGE_SIZE = 224
# imagebind_model.imagebind_huge(): the architecture of the released imagebind_huge.pth.
HUGE_ARCH: dict[str, Any] = dict(
    vision_embed_dim=1280, vision_num_blocks=32, vision_num_heads=16,
    text_embed_dim=1024, text_num_blocks=24, text_num_heads=16,
    out_embed_dim=1024, audio_drop_path=0.1, imu_drop_path=0.7,
)
_MODALITY = {"image": "vision", "text": "text"}  # our name -> ImageBind's ModalityType value


# ---- stand-ins for the helper packages the model modules import ---------------------------------

def _rearrange(x: Any, pattern: str, **axes: int) -> Any:
    """einops.rearrange for pure permutations of named axes ("b l d -> l b d")."""
    src, dst = (side.split() for side in pattern.split("->"))
    if axes or "(" in pattern or sorted(src) != sorted(dst) or len(src) != x.ndim:
        raise NotImplementedError(f"einops stand-in supports only axis permutations, got {pattern!r}")
    return x.permute(*[src.index(name) for name in dst])


def _fix_text(text: str) -> str:
    """ftfy.fix_text stand-in: NFC, and full-width ASCII forms (U+FF01..FF5E) to ASCII."""
    text = unicodedata.normalize("NFC", text)
    return re.sub("[\uff01-\uff5e]", lambda m: chr(ord(m.group()) - 0xFEE0), text)


def _stand_ins() -> dict[str, types.ModuleType]:
    import torch

    class DropPath(torch.nn.Module):
        """Stochastic depth per sample (timm.layers.DropPath); identity in eval mode."""

        def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True) -> None:
            super().__init__()
            self.drop_prob, self.scale_by_keep = drop_prob, scale_by_keep

        def forward(self, x: Any) -> Any:
            if self.drop_prob == 0.0 or not self.training:
                return x
            keep = 1.0 - self.drop_prob
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            return x * (mask / keep if self.scale_by_keep else mask)

    def module(name: str, **attrs: Any) -> types.ModuleType:
        mod = types.ModuleType(name, f"stylecluster stand-in for {name} (see encoders/imagebind.py)")
        mod.__dict__.update(attrs)
        return mod

    pathmgr = types.SimpleNamespace(open=open)
    return {
        "timm": module("timm"),
        "timm.layers": module("timm.layers", trunc_normal_=torch.nn.init.trunc_normal_,
                              DropPath=DropPath),
        "einops": module("einops", rearrange=_rearrange),
        "ftfy": module("ftfy", fix_text=_fix_text),
        "iopath": module("iopath"),
        "iopath.common": module("iopath.common"),
        "iopath.common.file_io": module("iopath.common.file_io", g_pathmgr=pathmgr),
    }


@contextmanager
def _missing_helpers_stood_in() -> Iterator[list[str]]:
    """Put stand-ins into sys.modules for helper packages that are not installed, then remove them."""
    stand_ins = _stand_ins()
    missing = {name.split(".")[0] for name in stand_ins}
    missing = {top for top in missing
               if top not in sys.modules and importlib.util.find_spec(top) is None}
    added = [name for name in stand_ins if name.split(".")[0] in missing]
    for name in added:
        sys.modules[name] = stand_ins[name]
    try:
        yield added
    finally:
        for name in added:
            sys.modules.pop(name, None)


def _numel(size_args: tuple) -> int:
    """Element count requested by a factory call such as torch.zeros(2, 3) or torch.empty((2, 3))."""
    dims = size_args[0] if size_args and isinstance(size_args[0], (tuple, list)) else size_args
    if torch_size := getattr(dims, "numel", None):  # a torch.Size
        return int(torch_size())
    n = 1
    for d in dims:
        if not isinstance(d, int):
            return 0
        n *= d
    return n


@contextmanager
def _build_on_meta() -> Iterator[None]:
    """Build modules with their weights on the meta device: no memory, no initialisation.

    `with torch.device("meta")` cannot build ImageBind: its transformer calls `.item()` on a
    `torch.linspace` (drop-path rates), which a meta tensor cannot answer. This mode puts the
    tensors of factories called without a device on meta when they have >= 4096 elements (every
    weight matrix); small ones (scalars, drop-path rates) stay real, so code that reads them works.
    The checkpoint then replaces every tensor (`load_state_dict(strict=True, assign=True)`).
    """
    import torch

    factories = {torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn}

    init_ops = {"normal_", "uniform_", "fill_", "zero_", "erfinv_", "mul_", "add_", "sub_", "div_",
                "clamp_", "copy_", "triu_", "tril_", "exponential_", "random_", "bernoulli_"}

    class BuildOnMeta(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, _types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = dict(kwargs or {})
            if func in factories and kwargs.get("device") is None and _numel(args) >= 4096:
                kwargs["device"] = "meta"  # small tensors stay real: ops on them stay cheap
            name = getattr(func, "__name__", "")
            if name in init_ops:
                # nn.init.* pass the tensor by keyword, Tensor methods positionally
                target = args[0] if args else kwargs.get("tensor")
                if isinstance(target, torch.Tensor) and target.is_meta:
                    # In-place init (normal_, uniform_, ...) of a meta tensor changes nothing but
                    # costs a one-off ~5 s import of torch's meta decompositions: skip it.
                    return target
            return func(*args, **kwargs)

    with BuildOnMeta():
        yield


def import_imagebind() -> tuple[types.ModuleType, types.ModuleType, Path]:
    """Import ImageBind's model modules without running `imagebind/__init__.py`.

    Returns:
        (imagebind.models.imagebind_model, imagebind.models.multimodal_preprocessors,
        path of the BPE vocabulary).

    Raises:
        BackendError: If imagebind-unofficial is not installed.
    """
    spec = importlib.util.find_spec("imagebind")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "encoder 'imagebind' needs the model code of imagebind-unofficial: "
            "pip install --no-deps imagebind-unofficial==0.1.1 (never with its dependencies: they "
            "pull torchvision/torchaudio, which replace the CPU torch)."
        )
    pkg_dir = Path(next(iter(spec.submodule_search_locations)))
    if "imagebind" not in sys.modules:
        sys.modules["imagebind"] = importlib.util.module_from_spec(spec)  # __init__ not executed
    with _missing_helpers_stood_in():
        model_mod = importlib.import_module("imagebind.models.imagebind_model")
        prep_mod = importlib.import_module("imagebind.models.multimodal_preprocessors")
    return model_mod, prep_mod, pkg_dir / "bpe" / "bpe_simple_vocab_16e6.txt.gz"


def load_imagebind(checkpoint: Path, arch: Mapping[str, Any], keep: Sequence[str],
                   device: Any) -> Any:
    """Build ImageBind with `arch`, load `checkpoint` strictly, keep only the `keep` modalities.

    Args:
        checkpoint: A state_dict saved with torch.save (imagebind_huge.pth).
        arch: Keyword arguments of `ImageBindModel` (HUGE_ARCH for the released weights).
        keep: ImageBind modality names to keep, e.g. ["vision"].
        device: torch device.

    Returns:
        The model in eval mode on `device`.

    Raises:
        BackendError: If the file is not a loadable state_dict of this architecture.
    """
    import torch

    model_mod, _, _ = import_imagebind()
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several types for a bad file
        raise BackendError(
            f"params.yaml [embed.{KEY}] = {str(checkpoint)!r} is not a readable torch checkpoint "
            f"({type(exc).__name__}: {exc}). Point it at imagebind_huge.pth."
        ) from exc
    if isinstance(state, Mapping) and "model" in state and isinstance(state["model"], Mapping):
        state = state["model"]
    with _build_on_meta():
        model = model_mod.ImageBindModel(**arch)
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise BackendError(
            f"params.yaml [embed.{KEY}] = {str(checkpoint)!r} does not match the ImageBind huge "
            f"architecture: {str(exc)[:400]}. Use the released imagebind_huge.pth."
        ) from exc
    for group in (model.modality_preprocessors, model.modality_trunks, model.modality_heads,
                  model.modality_postprocessors):
        for name in [n for n in group.keys() if n not in keep]:
            del group[name]
    return model.eval().to(device=device, dtype=torch.float32)


@dataclass(frozen=True)
class ImageBindOptions:
    """`embed.options.imagebind`."""

    checkpoint: str | None = param(
        None, "path to imagebind_huge.pth for image_encoder/text_encoder: imagebind")


class ImageBindEncoder(Encoder):
    """ImageBind huge, image or text tower, 1024-d (the joint space)."""

    name = "imagebind"
    truncates_itself = True  # SimpleTokenizer keeps the first context_length tokens

    def __init__(self, config: BackendConfig, modality: Modality,
                 arch: Mapping[str, Any] | None = None) -> None:
        """Load the checkpoint from `embed.options.imagebind.checkpoint`.

        Args:
            config: Options (`ImageBindOptions`), device and threads.
            modality: "image" or "text".
            arch: ImageBindModel arguments; None means the released huge model (tests pass a tiny
                architecture to exercise this same loading path on a small random checkpoint).
        """
        checkpoint = require_path(config.options.checkpoint, KEY,
                                  "the ImageBind checkpoint imagebind_huge.pth", folder=False)
        self.modality = modality
        self.device = torch_device(config)
        arch = dict(HUGE_ARCH if arch is None else arch)
        self.model = load_imagebind(checkpoint, arch, [_MODALITY[modality]], self.device)
        self.dim = int(arch.get("out_embed_dim", 768))
        if modality == "text":
            _, prep_mod, bpe = import_imagebind()
            self.tokenizer = prep_mod.SimpleTokenizer(bpe_path=str(bpe))
            self.max_tokens = int(self.tokenizer.context_length)  # 77
        prep = "crop-bicubic224-clip" if modality == "image" else "clip-bpe77"
        self.cache_key = f"imagebind/{fingerprint(checkpoint)}/{prep}/v1"

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text)) + 2  # + <|startoftext|> and <|endoftext|>

    def _encode(self, batch: Sequence[Any]) -> np.ndarray:
        import torch
        from PIL import Image as PILImage

        if self.modality == "image":
            x = torch.from_numpy(image_batch_array(
                batch, IMAGE_SIZE, CLIP_MEAN, CLIP_STD, fit="crop",
                resample=PILImage.BICUBIC))  # (n, 3, 224, 224)
        else:
            x = self.tokenizer(list(batch)).reshape(len(batch), -1)  # (n, 77) token ids
        key = _MODALITY[self.modality]
        with torch.inference_mode():
            out = self.model({key: x.to(self.device)})[key]  # (n, 1024)
        return out.float().cpu().numpy()
