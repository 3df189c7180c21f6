"""`pixels`: the image itself, downscaled, as the feature vector (no model, no weights).

The classical baseline of image clustering (the "raw pixels" rows of the papers the quality
harness quotes): each masked image is fitted on a black `size` x `size` square the way the CNN
encoders fit theirs (long side resized with area averaging, aspect kept, centred), converted to
grey (or kept in colour with `color: true`) and flattened, values on [0, 1]; `Encoder.encode`
then L2-normalises the rows. `size` 28 gives 784-d grey vectors (Fashion-MNIST's own resolution).

It is a baseline, not a default: pixels know nothing of garments, so on outfit photos two shots
of the same style in different poses are far apart. It is useful where the images are small,
centred and alike in pose (product shots, scans), to separate what the k rule finds from what an
ImageNet encoder sees (README "Image encoders").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from stylecluster.encoders.base import BackendConfig, Encoder, Modality, image_batch_array
from stylecluster.errors import ConfigError
from stylecluster.paramtypes import param

if TYPE_CHECKING:
    from PIL import Image

# Rec. 601 luma weights, the ones PIL's convert("L") uses
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class PixelsOptions:
    """`embed.options.pixels`."""

    size: int = param(28, "side of the square the image is fitted on (vector: size^2 values, "
                          "x3 with color)")
    color: bool = param(False, "false: grey values | true: the three RGB channels")

    def __post_init__(self) -> None:
        if not 4 <= self.size <= 256:
            raise ConfigError(f"embed.options.pixels.size = {self.size} must be 4..256 (the "
                              "vector has size^2 values); 28 is Fashion-MNIST's resolution.")


class PixelsEncoder(Encoder):
    """Downscaled pixel values, size^2 (grey) or 3 size^2 (colour) wide."""

    name = "pixels"

    def __init__(self, config: BackendConfig, modality: Modality = "image") -> None:
        options = config.options if config.options is not None else PixelsOptions()
        self.modality = modality
        self.size = options.size
        self.color = options.color
        self.dim = self.size * self.size * (3 if self.color else 1)
        self.cache_key = f"pixels/{self.size}px-{'rgb' if self.color else 'grey'}-box-pad/v1"

    def _encode(self, batch: Sequence[Image.Image]) -> np.ndarray:
        from PIL import Image as PILImage

        # mean 0, std 1: plain x / 255; BOX averages every source pixel a target pixel covers
        arr = image_batch_array(batch, self.size, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), fit="pad",
                                resample=PILImage.BOX)  # (n, 3, size, size)
        if not self.color:
            arr = np.tensordot(arr, LUMA, axes=([1], [0]))  # (n, size, size)
        return arr.reshape(len(batch), -1)
