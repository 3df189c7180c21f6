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

Images are streamed (read, segmented, written one at a time; larger than segment.max_side they are
shrunk); a text-only post (no image_path), an unreadable image and one over Pillow's
decompression-bomb limit are each a dropped row with its reason, never a crash or a silent skip.
"""

import time

from stylecluster import catalog, storage
from stylecluster.report.share_hist import plot_clothing_share_hist
from stylecluster import segmenters
from stylecluster.pipeline import segment
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    posts = storage.read_table(ctx.paths.posts, catalog.POSTS.schema)
    out = ctx.paths.out
    storage.remove_tree(catalog.SEGMENT_MASKS.path(out))  # outputs are rewritten whole

    start = time.perf_counter()
    with segmenters.make_segmenter(ctx.params) as segmenter:
        images = segment.load_images(  # with its alpha only for a method that looks at it (auto)
            posts["post_id"], posts["image_path"],
            lambda rel: storage.read_image(ctx.paths.raw / rel, max_side=ctx.params.max_side,
                                           keep_alpha=segmenter.uses_alpha))
        result = segment.segment_posts(
            images, ctx.params, segmenter,
            on_kept=lambda _post_id, rel, masked: storage.write_image(masked, out / rel),
            total=len(posts), progress=ctx.runtime.progress)
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
