"""Any local sentence-transformers model folder as the text encoder.

Set `embed.options.sentence-transformers.path` to a folder saved by `SentenceTransformer.save(...)` (or a
downloaded snapshot), e.g. text2vec-large-chinese, bge-small-zh, m3e-base. The folder is loaded
with `local_files_only=True`: nothing is downloaded. Texts are embedded as they are (no prompt); a
model that expects an instruction prefix should be given one through its own
`config_sentence_transformers.json` default prompt.

The model's `max_seq_length` is its token limit (special tokens and that prompt included).
sentence-transformers truncates to it itself, but only after tokenizing the whole text, so
`fit_text` first cuts a longer text's characters, keeping more than twice the limit in tokens
(counted by the model's own tokenizer): the model keeps the same tokens as before, and a
100,000-character caption is never tokenized whole. Texts that fit are passed on unchanged. A
model without a usable `max_seq_length` gets no limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stylecluster.encoders.base import (BackendConfig, Encoder, Modality, fingerprint, require_path,
                                        torch_device)
from stylecluster.errors import BackendError
from stylecluster.paramtypes import param

KEY = "options.sentence-transformers.path"
NO_LIMIT = 1_000_000  # transformers' model_max_length when a tokenizer sets none is ~1e30


@dataclass(frozen=True)
class SentenceTransformersOptions:
    """`embed.options.sentence-transformers`."""

    path: str | None = param(None, "local folder for text_encoder: sentence-transformers")


class SentenceTransformersEncoder(Encoder):
    """A local sentence-transformers folder; dim is the model's."""

    name = "sentence-transformers"
    truncates_itself = True

    def __init__(self, config: BackendConfig, modality: Modality = "text") -> None:
        folder = require_path(config.options.path, KEY,
                              "a sentence-transformers model folder (with modules.json)",
                              folder=True)
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise BackendError(
                f"params.yaml [embed.{KEY}] = {str(folder)!r} has neither modules.json nor "
                "config.json; point it at a saved sentence-transformers model folder."
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise BackendError(
                f"text encoder 'sentence-transformers' needs the package sentence-transformers "
                f"({exc}). Install the project (pip install -e . -c constraints.txt)."
            ) from exc
        self.modality = modality
        self.device = torch_device(config)
        try:
            self.model = SentenceTransformer(str(folder), device=str(self.device),
                                             local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendError(
                f"params.yaml [embed.{KEY}] = {str(folder)!r} could not be loaded as a "
                f"sentence-transformers model ({exc})."
            ) from exc
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        limit = self.model.max_seq_length
        self.max_tokens = int(limit) if limit and limit < NO_LIMIT else None
        prompts = getattr(self.model, "prompts", None) or {}
        self.prompt = prompts.get(getattr(self.model, "default_prompt_name", None) or "", "")
        self.cache_key = f"sentence-transformers/{fingerprint(folder)}/v1"

    def count_tokens(self, text: str) -> int:
        # what encode() feeds: the default prompt + the text, with the tokenizer's special tokens
        return len(self.model.tokenizer(self.prompt + text, verbose=False)["input_ids"])

    def _encode(self, batch: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(batch), batch_size=len(batch), convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
