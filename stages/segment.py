"""Segment: find the clothing in each post's image and drop images with too little of it.

Inputs:  --posts FILE (validate/posts.parquet), --raw DIR (images, paths relative to it)
Outputs: --out DIR/manifest.parquet (post_id, clothing_share, person_share, kept, reason, mask_path,
         mask_source: alpha | mediapipe | none, mask_sha256: the digest of each written mask, so
         the manifest fingerprints the masks),
         DIR/masks/<post_id>.png (kept images, everything but clothing black),
         DIR/clothing_share_hist.png, DIR/summary.json (counts by reason and mask source,
         share quantiles)
Params:  `segment` section (method, min_clothing_share, skin/head removal, max_side, and
         options.<method>: mediapipe's models and pose gate, auto's alpha rule).
Usage:   python stages/segment.py --posts data/interim/validate/posts.parquet --raw data/raw --out data/interim/segment

Images are streamed in shards of runtime.shard_size (read, segmented and encoded one at a time,
here or on a dask worker: runtime.executor; the masks are written here, the same bytes either
way; larger than segment.max_side they are shrunk); a text-only post (no image_path), an
unreadable image and one over Pillow's decompression-bomb limit are each a dropped row with its reason, never a crash or a silent skip.
"""

import time

from stylecluster import catalog, storage
from stylecluster.report.share_hist import plot_clothing_share_hist
from stylecluster import executors, segmenters
from stylecluster.pipeline import segment_shards
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    posts = storage.read_table(ctx.paths.posts, catalog.POSTS.schema)
    out = ctx.paths.out
    storage.remove_tree(catalog.SEGMENT_MASKS.path(out))  # outputs are rewritten whole

    start = time.perf_counter()
    rt = ctx.runtime
    with executors.open_executor(rt) as pool, \
            segmenters.make_segmenter(ctx.params) as segmenter:
        # the alpha only for a method that looks at it (auto); absolute paths for remote workers
        reader = storage.ImageReader(str(ctx.paths.raw.resolve()), ctx.params.max_side,
                                     keep_alpha=segmenter.uses_alpha)
        shards = segment_shards.make_shards(posts["post_id"], posts["image_path"], reader,
                                            storage.encode_image, ctx.params, rt.shard_size)
        result = segment_shards.segment_sharded(
            shards, executors.shard_runner(pool, segmenters.SegmenterRecipe(ctx.params), segmenter),
            lambda rel, data: storage.write_encoded(data, out / rel), ctx.params,
            pose_gate=segmenter.pose_gate, progress=rt.progress)
    rate = len(posts) / max(time.perf_counter() - start, 1e-9)
    storage.write_artifact(result.manifest, catalog.SEGMENT_MANIFEST, out)
    storage.write_artifact(plot_clothing_share_hist(result.manifest, ctx.params.min_clothing_share),
                           catalog.SEGMENT_HIST, out)
    storage.write_artifact(result.summary.to_json(), catalog.SEGMENT_SUMMARY, out)
    s = result.summary
    return (f"kept {s.n_kept} of {s.n_images} images (dropped: {s.dropped_by_reason}; "
            f"mask source: {s.mask_source}); "
            f"median clothing share {s.clothing_share_quantiles['median'] or 0:.3f}; "
            f"{rate:.1f} images/s")


if __name__ == "__main__":
    run_stage("segment", main, paths=("posts", "raw", "out"), sections=("segment",), doc=__doc__)
