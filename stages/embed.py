"""Embed: an image vector per kept masked image and a text vector per post with text.

Inputs:  --segment DIR (manifest.parquet + masks/; each mask must match its mask_sha256),
         --texts FILE (preprocess/texts.parquet),
         --cache DIR (per-item embedding cache, kept between runs: only new items are encoded;
         also keeps the image encoder's ONNX export)
Outputs: --out DIR/image.npy + image_ids.parquet, DIR/text.npy + text_ids.parquet (float32,
         row-aligned, L2-normalised), DIR/dropped.parquet (post_id, stage, reason),
         DIR/summary.json (encoders, dims, counts, drops, texts cut to the text encoder's token
         limit: the same bytes for the same inputs),
         --run-log FILE (this run's cache hits, items encoded, timings, items/s; not a DVC output)
Params:  `embed` section (image_encoder, text_encoder, batch_size, text_pooling and its
         text_chunk_chars/text_token_weighting, device, each backend's options;
         runtime.torch_threads, runtime.progress, and runtime.executor with its settings: the
         shards of items to encode run here or on a dask cluster, the same bytes either way).
Usage:   python stages/embed.py --segment data/interim/segment --texts data/interim/preprocess/texts.parquet --cache data/cache/embed --out data/interim/embed --run-log logs/embed.json
"""

import functools
import os
from pathlib import Path

from stylecluster import encoders, executors, records
from stylecluster.pipeline import embed, text_pooling
from stylecluster import catalog, storage
from stylecluster.storage.cache import EmbeddingCache
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    p, out = ctx.params, ctx.paths.out
    encoders.check_params(p, str(ctx.paths.params))  # names, options: before reading anything
    encoders.check_device(p)
    manifest = storage.read_artifact(catalog.SEGMENT_MANIFEST, ctx.paths.segment)
    texts = storage.read_table(ctx.paths.texts, catalog.TEXTS.schema)
    inputs = embed.select_inputs(manifest, texts)

    masks = storage.MaskFiles(ctx.paths.segment, inputs.image_ids, inputs.mask_paths,
                              inputs.mask_digests)
    rt = ctx.runtime
    models = str(Path(ctx.paths.cache).resolve())  # backends may keep derived model files here
    with executors.open_executor(rt) as pool, EmbeddingCache(ctx.paths.cache) as cache:
        recipe = functools.partial(encoders.EncoderRecipe, params=p, model_cache=models)
        # the driver's encoder, and the shard keywords that send its work to the executor
        encoder, shards = executors.sharded(
            pool, functools.partial(recipe, p.image_encoder, "image"), rt)
        image = embed.embed_images(inputs.image_ids, storage.read_image, encoder, cache,
                                   p.batch_size, rt.progress, file_digest=masks.digest,
                                   items=masks.paths(), **shards)
        encoder, shards = executors.sharded(
            pool, functools.partial(recipe, p.text_encoder, "text"), rt)
        # embed.text_pooling: whole is embed_texts; chunks/tokens may drop posts (into inputs)
        text, inputs = text_pooling.embed_text_vectors(inputs, texts, p, encoder, cache,
                                                       rt.progress, **shards)
        cache_info = {"corrupt_entries": cache.corrupt, "reset": bool(cache.reset_files)}
    summary = embed.summarise(image, text, inputs)
    for obj, art in ((image.matrix, catalog.IMAGE_MATRIX), (image.ids, catalog.IMAGE_IDS),
                     (text.matrix, catalog.TEXT_MATRIX), (text.ids, catalog.TEXT_IDS),
                     (inputs.dropped, catalog.EMBED_DROPPED),
                     (summary.to_json(), catalog.EMBED_SUMMARY)):
        storage.write_artifact(obj, art, out)
    record = embed.run_record(image, text, p.device, cache_info)
    for path in records.run_record_paths(ctx.paths.run_log, os.environ, Path.cwd()):
        storage.write_json(record.to_json(), path)  # compare reads a queued experiment's copy
    return (f"image {image.matrix.shape} via {image.encoder} ({image.n_cached} cached, "
            f"{image.n_encoded} encoded); text {text.matrix.shape} via {text.encoder} "
            f"({text.n_cached} cached, {text.n_encoded} encoded, {text.n_truncated} truncated); "
            f"posts without an image vector {summary.without_image} (segment dropped them), "
            f"without a text vector {summary.without_text} (no text)")


if __name__ == "__main__":
    run_stage("embed", main, paths=("segment", "texts", "cache", "out", "run-log"),
              sections=("embed",), doc=__doc__)
