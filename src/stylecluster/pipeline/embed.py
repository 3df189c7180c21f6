"""Embed: one image vector and one text vector per post, through registered encoders and a cache.

Pure core: the stage script passes in the tables, an image loader, the encoders and the cache;
nothing here reads params.yaml or opens files itself. Posts without a usable image (dropped by
segment) or without text are listed in `dropped` with their reason, never skipped silently.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from stylecluster import catalog
from stylecluster.records import EmbedRunRecord, EmbedSummary, ModalityRun, VectorsSummary
from stylecluster.storage.cache import image_key, text_key
from stylecluster.errors import DataError
from stylecluster.pipeline.embed_shards import (Assembly, Shard, ShardResult, VectorCache,
                                                encode_shard, file_digests, in_process,
                                                make_shards, plan_items)

if TYPE_CHECKING:
    from PIL import Image

    from stylecluster.encoders import Encoder

log = logging.getLogger(__name__)

NO_TEXT = "no text after preprocessing (has_text is False)"
EMPTY_INPUT = "has_text is True but embed_input is empty (preprocess.embed_text gave nothing)"
SEGMENT_DROPPED = "dropped by segment"
DEFAULT_SHARD_SIZE = 128  # rows per shard when the caller names none (runtime.shard_size)


@dataclass(frozen=True)
class EmbedInputs:
    """What to embed, and what cannot be.

    Attributes:
        image_ids: Posts with a kept masked image, in manifest order.
        mask_paths: Their mask paths (relative to the segment folder), aligned with image_ids.
        mask_digests: The SHA-256 of each mask file as segment wrote it, aligned with image_ids.
        text_ids: Posts with text, in texts order.
        texts: Their `embed_input`, aligned with text_ids.
        dropped: post_id, stage, reason: posts without an image or without text.
    """

    image_ids: list[str]
    mask_paths: list[str]
    mask_digests: list[str]
    text_ids: list[str]
    texts: list[str]
    dropped: pd.DataFrame


@dataclass(frozen=True)
class ModalityEmbedding:
    """The vectors of one modality and how they were obtained.

    Attributes:
        modality: "image" or "text".
        encoder: The encoder's registry name.
        cache_key: The encoder's cache key.
        ids: Table with one post_id per matrix row.
        matrix: float32 (n, dim), rows L2-normalised.
        n_cached: Items answered by the cache.
        n_encoded: Items run through the encoder.
        n_loaded: Items read (images decoded); fewer than n when the cache knew their keys.
        encode_seconds: Time spent inside the encoder.
        wall_seconds: Total time (loading, hashing, cache, encoding).
        batch_size: Items per encoder call.
        max_tokens: Texts: the encoder's token limit (None: it has none; images: None).
        n_truncated: Texts: how many were longer than max_tokens and cut to it, cached or not
            (images: None).
    """

    modality: str
    encoder: str
    cache_key: str
    ids: pd.DataFrame
    matrix: np.ndarray
    n_cached: int
    n_encoded: int
    n_loaded: int
    encode_seconds: float
    wall_seconds: float
    batch_size: int
    max_tokens: int | None = None
    n_truncated: int | None = None

    @property
    def items_per_s(self) -> float | None:
        """Encoder throughput on the items it encoded (None when all came from the cache)."""
        if self.n_encoded == 0 or self.encode_seconds <= 0:
            return None
        return self.n_encoded / self.encode_seconds

    def summary(self) -> VectorsSummary:
        """Facts about the vectors: encoder, key, dim, count, texts truncated.

        All follow from the inputs and params, so they are the same every run.
        """
        return VectorsSummary(encoder=self.encoder, cache_key=self.cache_key,
                              dim=int(self.matrix.shape[1]), n=int(self.matrix.shape[0]),
                              max_tokens=self.max_tokens if self.n_truncated is not None else None,
                              truncated=self.n_truncated)

    def run_facts(self) -> ModalityRun:
        """Facts about this run: cache hits, items encoded, batch size, timings."""
        rate = self.items_per_s
        return ModalityRun(
            encoder=self.encoder, n=int(self.matrix.shape[0]), cache_hits=self.n_cached,
            encoded=self.n_encoded, loaded=self.n_loaded, batch_size=self.batch_size,
            encode_seconds=round(self.encode_seconds, 3),
            wall_seconds=round(self.wall_seconds, 3),
            items_per_s=None if rate is None else round(rate, 2),
        )


def select_inputs(manifest: pd.DataFrame, texts: pd.DataFrame) -> EmbedInputs:
    """Split posts into those to embed and those dropped, per modality.

    Args:
        manifest: segment/manifest.parquet (post_id, kept, reason, mask_path, mask_sha256, ...).
        texts: preprocess/texts.parquet (post_id, has_text, embed_input, ...).

    Returns:
        EmbedInputs.

    Raises:
        DataError: If the two tables cover different posts or a kept image has no mask_path or
            no mask_sha256.
    """
    img_ids, txt_ids = set(manifest["post_id"]), set(texts["post_id"])
    if img_ids != txt_ids:
        only_m, only_t = sorted(img_ids - txt_ids), sorted(txt_ids - img_ids)
        raise DataError(
            f"{catalog.SEGMENT_MANIFEST.label} and {catalog.TEXTS.label} cover different posts: "
            f"{len(only_m)} only in the manifest (e.g. {only_m[:3]}), {len(only_t)} only in "
            f"texts (e.g. {only_t[:3]}). Both "
            f"must come from the same {catalog.POSTS.label}: re-run them (dvc repro)."
        )
    kept = manifest["kept"].astype(bool)
    paths = _kept_column(manifest, kept, "mask_path", "have an empty mask_path",
                         "a kept image must have its masked PNG")
    digests = _kept_column(manifest, kept, "mask_sha256", "have no mask_sha256",
                           "segment records the digest of every mask it writes")
    seg_drop = manifest.loc[~kept, ["post_id", "reason"]].copy()
    seg_drop["reason"] = seg_drop["reason"].fillna("").astype(str).replace("", SEGMENT_DROPPED)
    seg_drop.insert(1, "stage", "segment")

    has_text = texts["has_text"].astype(bool)
    inputs = texts["embed_input"].fillna("").astype(str)
    empty = has_text & (inputs.str.strip() == "")
    use = has_text & ~empty
    txt_drop = pd.concat([
        pd.DataFrame({"post_id": texts.loc[~has_text, "post_id"], "stage": "preprocess",
                      "reason": NO_TEXT}),
        pd.DataFrame({"post_id": texts.loc[empty, "post_id"], "stage": "embed",
                      "reason": EMPTY_INPUT}),
    ])
    dropped = pd.concat([seg_drop, txt_drop], ignore_index=True)[["post_id", "stage", "reason"]]
    return EmbedInputs(
        image_ids=manifest.loc[kept, "post_id"].astype(str).tolist(),
        mask_paths=paths[kept].tolist(),
        mask_digests=digests[kept].tolist(),
        text_ids=texts.loc[use, "post_id"].astype(str).tolist(),
        texts=inputs[use].tolist(),
        dropped=dropped.astype({"post_id": str, "stage": str, "reason": str}),
    )


def _kept_column(manifest: pd.DataFrame, kept: pd.Series, column: str, problem: str,
                 why: str) -> pd.Series:
    """A manifest column as str; DataError if a kept row has it empty."""
    values = manifest[column].fillna("").astype(str)
    empty = manifest.loc[kept & (values.str.strip() == ""), "post_id"].tolist()
    if empty:
        raise DataError(f"segment manifest: {len(empty)} kept post(s) {problem} (e.g. {empty[:3]}); "
                        f"{why}. Re-run segment (dvc repro segment).")
    return values


ShardRunner = Callable[[Callable[[Shard, "Encoder"], ShardResult], Sequence[Shard]],
                      Iterator[tuple[int, ShardResult]]]


def embed_items(
    ids: Sequence[str],
    load: Callable[[Any], Any] | None,
    key_of: Callable[[Any], str],
    encoder: Encoder,
    cache: VectorCache | None,
    batch_size: int,
    progress: bool = False,
    digest: Callable[[int], str] | None = None,
    *,
    items: Sequence[Any] | None = None,
    keys: Sequence[str] | None = None,
    run_shards: ShardRunner | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> ModalityEmbedding:
    """Embed items: plan against the cache, encode the rest in shards, assemble in row order.

    Args:
        ids: post_ids, one per item, in output row order.
        load: Returns the encoder's input (a PIL image) for `items[i]`; None: `items[i]` is it.
        key_of: Content key of a loaded item (see stylecluster.storage.cache).
        encoder: The driver's encoder (name, dim, cache key; encodes when run_shards is None).
        cache: The per-item cache, or None to encode everything. Only this function writes it.
        batch_size: Items per encoder call.
        progress: Show a progress bar on stderr (advanced shard by shard).
        digest: A cheap fingerprint of item i (an image file's SHA-256): a file seen before takes
            its content key from the cache and is loaded only if its vector is missing.
        items: What `load` takes per row (file paths: picklable shards); default the row indices.
        keys: Content keys per row when known without loading (texts).
        run_shards: Yields (shard index, encode_shard result) in any order (an executor, see
            `stylecluster.executors`); None: one after another here with `encoder`.
        shard_size: Rows per shard (rounded down to whole batches).

    Returns:
        ModalityEmbedding with matrix (len(ids), encoder.dim); n_loaded counts the items loaded.
    """
    start = time.perf_counter()
    n = len(ids)
    plan = plan_items(n, cache, encoder.cache_key, encoder.dim, keys=keys,
                      digests=file_digests(digest, n) if digest is not None else None)
    shards = make_shards(plan, list(range(n)) if items is None else items, load, key_of,
                         batch_size, shard_size)
    assembly = Assembly(plan, cache, encoder.cache_key, encoder.dim)
    run_shards = run_shards or in_process(encoder)
    with tqdm(total=n, desc=f"embed {encoder.modality} ({encoder.name})", unit="item",
              disable=not progress) as bar:
        bar.update(n - len(plan.todo) - len(plan.same_as))
        for _, result in run_shards(encode_shard, shards):
            bar.update(assembly.add(result))
    matrix, n_cached = assembly.matrix()
    result = ModalityEmbedding(
        modality=encoder.modality, encoder=encoder.name, cache_key=encoder.cache_key,
        ids=pd.DataFrame({"post_id": pd.Series(list(ids), dtype=object)}), matrix=matrix,
        n_cached=n_cached, n_encoded=n - n_cached, n_loaded=assembly.n_loaded,
        encode_seconds=assembly.encode_seconds, wall_seconds=time.perf_counter() - start,
        batch_size=batch_size)
    _log_run(result, len(shards))
    return result


def _log_run(e: ModalityEmbedding, n_shards: int) -> None:
    rate = e.items_per_s
    log.info("%s (%s): %d items, %d cache hits, %d encoded, %d loaded in %d shard(s)%s",
             e.modality, e.encoder, len(e.ids), e.n_cached, e.n_encoded, e.n_loaded, n_shards,
             "" if rate is None else f" at {rate:.1f} items/s (batch {e.batch_size})")


def embed_images(
    ids: Sequence[str],
    load_image: Callable[[Any], Image.Image],
    encoder: Encoder,
    cache: VectorCache | None,
    batch_size: int,
    progress: bool = False,
    file_digest: Callable[[int], str] | None = None,
    *,
    items: Sequence[Any] | None = None,
    run_shards: ShardRunner | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> ModalityEmbedding:
    """Embed masked images; `load_image(items[i])` returns image i (RGB PIL) for ids[i].

    `items` defaults to the row indices (`load_image(i)`); the stage passes the mask paths and a
    module-level reader, so shards are picklable and can run on a dask worker (`run_shards`).
    `file_digest(i)`, when given, returns the SHA-256 of image i's file: files seen before are
    then not decoded unless their vector is missing (see `embed_items`).

    Returns:
        ModalityEmbedding with matrix (len(ids), encoder.dim).

    Raises:
        DataError: From `load_image` when an image does not decode, or from `file_digest`.
    """
    return embed_items(ids, load_image, image_key, encoder, cache, batch_size, progress,
                       digest=file_digest, items=items, run_shards=run_shards,
                       shard_size=shard_size)


def embed_texts(
    ids: Sequence[str],
    texts: Sequence[str],
    encoder: Encoder,
    cache: VectorCache | None,
    batch_size: int,
    progress: bool = False,
    *,
    run_shards: ShardRunner | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
) -> ModalityEmbedding:
    """Embed texts (row-aligned with ids), each cut to the encoder's token limit first.

    Texts are run in order of length (batches of like lengths), rows returned in input order.
    Every text goes through `encoder.fit_text` (a text over `encoder.max_tokens` is cut; others
    stay as they are), and the fitted text is what is keyed, cached and encoded, so the count
    of truncated texts does not depend on what the cache already held.

    The texts are cut here, in the driver, so `run_shards` ships the fitted texts.

    Returns:
        ModalityEmbedding with matrix (len(ids), encoder.dim), max_tokens and n_truncated set.
    """
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
    fitted = [encoder.fit_text(text) for text in texts]  # (text given to the model, over?)
    n_truncated = sum(over for _, over in fitted)
    if n_truncated:
        log.info("text (%s): %d of %d texts are longer than its %d-token limit and were cut to it",
                 encoder.name, n_truncated, len(texts), encoder.max_tokens)
    given = [text for text, _ in fitted]
    # batches of like lengths: an encoder that pads a batch to its longest text pads less
    order = sorted(range(len(given)), key=lambda i: len(given[i]))
    given = [given[i] for i in order]
    result = embed_items([ids[i] for i in order], None, text_key, encoder, cache, batch_size,
                         progress, items=given, keys=[text_key(text) for text in given],
                         run_shards=run_shards, shard_size=shard_size)
    back = np.argsort(order)  # rows back in input order
    return dataclasses.replace(result, ids=result.ids.iloc[back].reset_index(drop=True),
                               matrix=result.matrix[back], max_tokens=encoder.max_tokens,
                               n_truncated=n_truncated)


def summarise(image: ModalityEmbedding, text: ModalityEmbedding,
              inputs: EmbedInputs) -> EmbedSummary:
    """The stage's summary.json: per-modality encoder, dim and count, and the drops.

    It holds only what follows from the inputs and params, so re-running the stage on the same
    inputs writes the same bytes (and leaves dvc.lock alone); see `run_record` for the rest.
    """
    by_stage = inputs.dropped.groupby("stage").size()
    return EmbedSummary(
        image=image.summary(), text=text.summary(),
        dropped={f"{stage}": int(n) for stage, n in by_stage.items()},
        n_dropped=int(len(inputs.dropped)),
        without_image=int(by_stage.get("segment", 0)),
        without_text=int(len(inputs.dropped)) - int(by_stage.get("segment", 0)),
    )


def run_record(image: ModalityEmbedding, text: ModalityEmbedding, device: str,
               cache: Mapping[str, Any] | None = None) -> EmbedRunRecord:
    """What this run did (cache hits, items encoded, speed, device, cache health), for the run log.

    These facts change from run to run (a warm cache, a busy machine), so they are kept out of the
    stage's DVC outputs.
    """
    return EmbedRunRecord(image=image.run_facts(), text=text.run_facts(), device=device,
                          cache=dict(cache or {}))
