"""Chinese-CLIP image and text encoder through transformers (a local model folder).

Set `embed.options.chinese-clip.path` to a folder holding a ChineseCLIPModel and its processor (e.g. a
snapshot of OFA-Sys/chinese-clip-vit-base-patch16). Both are loaded with `local_files_only=True`.
Image and text share one space, so the same folder can serve both `embed.image_encoder` and
`embed.text_encoder`; each encoder keeps only its own tower. Without torchvision, transformers
uses its PIL image processor (same resize/crop/normalise). Texts are truncated at 52 tokens, the
context Chinese-CLIP was trained with ([CLS] and [SEP] included). The processor truncates, but
only after tokenizing the whole text, so `fit_text` first cuts a longer text's characters, keeping
more than twice that many tokens: the same 52 tokens reach the model, and a very long caption is
never tokenized whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stylecluster.encoders.base import (BackendConfig, Encoder, Modality, fingerprint, require_path,
                                        torch_device)
from stylecluster.errors import BackendError
from stylecluster.paramtypes import param

KEY = "options.chinese-clip.path"


@dataclass(frozen=True)
class ChineseCLIPOptions:
    """`embed.options.chinese-clip`."""

    path: str | None = param(None, "local folder for image_encoder/text_encoder: chinese-clip")
MAX_TEXT_TOKENS = 52


class ChineseCLIPEncoder(Encoder):
    """Chinese-CLIP (transformers) image or text tower; dim is the model's projection_dim."""

    name = "chinese-clip"
    truncates_itself = True  # the processor keeps MAX_TEXT_TOKENS

    def __init__(self, config: BackendConfig, modality: Modality) -> None:
        folder = require_path(config.options.path, KEY,
                              "a Chinese-CLIP model folder (config.json, weights, processor files)",
                              folder=True)
        try:
            from transformers import ChineseCLIPModel, ChineseCLIPProcessor
        except ImportError as exc:
            raise BackendError(
                f"encoder 'chinese-clip' needs the package transformers ({exc}). Install the "
                "project (pip install -e . -c constraints.txt)."
            ) from exc
        self.modality = modality
        self.device = torch_device(config)
        try:
            model = ChineseCLIPModel.from_pretrained(str(folder), local_files_only=True)
            self.processor = ChineseCLIPProcessor.from_pretrained(str(folder),
                                                                  local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"params.yaml [embed.{KEY}] = {str(folder)!r} could not be loaded as a "
                f"Chinese-CLIP model and processor ({exc})."
            ) from exc
        if modality == "image":  # drop the tower this encoder never runs
            model.text_model = None
        else:
            model.vision_model = None
            self.max_tokens = MAX_TEXT_TOKENS
        self.model = model.eval().to(self.device)
        self.dim = int(model.config.projection_dim)
        self.cache_key = f"chinese-clip/{fingerprint(folder)}/{modality}/v1"

    def count_tokens(self, text: str) -> int:
        return len(self.processor.tokenizer(text, verbose=False)["input_ids"])  # [CLS] .. [SEP]

    def _encode(self, batch: Sequence[Any]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            if self.modality == "image":
                inputs = self.processor(images=[img.convert("RGB") for img in batch],
                                        return_tensors="pt")
                out = self.model.get_image_features(
                    pixel_values=inputs["pixel_values"].to(self.device))
            else:
                inputs = self.processor(text=list(batch), padding=True, truncation=True,
                                        max_length=MAX_TEXT_TOKENS, return_tensors="pt")
                out = self.model.get_text_features(
                    **{k: v.to(self.device) for k, v in inputs.items()})
        # transformers >= 5 returns a model output whose pooler_output is the projection
        features = out if isinstance(out, torch.Tensor) else out.pooler_output  # (n, dim)
        return features.float().cpu().numpy()
