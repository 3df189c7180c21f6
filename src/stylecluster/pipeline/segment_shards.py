"""Segment in shards: the driver plans, any process segments a shard, the driver writes.

`make_shards` cuts the posts (in input order) into shards of `shard_size`; `segment_shard(shard,
segmenter)` reads, segments and encodes each kept mask (PNG bytes) in whatever process runs it (a
dask worker with its own segmenter); `segment_sharded` runs the shards through a runner, hands each
mask's bytes to the driver's writer (which returns its SHA-256), and builds the manifest in input
order. A shard holds post ids, relative paths and picklable callables (a reader, an encoder),
never an open file, so the outputs are the same bytes whichever executor ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from stylecluster.config import SegmentParams
from stylecluster.errors import DataError
from stylecluster.pipeline.segment import SegmentOutput, build_output, load_images, segment_one
from stylecluster.segmenters import Segmenter


@dataclass(frozen=True)
class SegmentShard:
    """Posts for one task.

    Attributes:
        post_ids: The posts, in input order.
        image_paths: Aligned; relative to the raw folder, or None/NaN/blank (text-only post).
        load: Reads one relative path (e.g. `storage.ImageReader`), raising DataError.
        encode: The (H, W, 3) uint8 masked image -> its PNG bytes (`storage.encode_image`).
        params: The `segment` params.
    """

    post_ids: tuple[str, ...]
    image_paths: tuple[Any, ...]
    load: Callable[[str], Any]
    encode: Callable[[np.ndarray], bytes]
    params: SegmentParams


@dataclass(frozen=True)
class SegmentedPost:
    """One post as a shard returns it.

    Attributes:
        row: Its manifest row (mask_sha256 "" until the driver writes the mask).
        kind: "kept" or one of segment.DROP_KINDS.
        mask: The encoded masked image of a kept post, else None.
    """

    row: dict[str, Any]
    kind: str
    mask: bytes | None


def make_shards(post_ids: Sequence[str], image_paths: Sequence[Any], load: Callable[[str], Any],
                encode: Callable[[np.ndarray], bytes], params: SegmentParams,
                shard_size: int) -> list[SegmentShard]:
    """Cut the posts into shards of `shard_size`, in input order.

    Raises:
        DataError: On a repeated post_id.
    """
    ids, paths = list(post_ids), list(image_paths)
    seen: set[str] = set()
    for post_id in ids:
        if post_id in seen:
            raise DataError(f"post_id {post_id!r} appears twice in the segment input; "
                            "post_ids must be unique (re-run validate).")
        seen.add(post_id)
    return [SegmentShard(tuple(ids[lo:lo + shard_size]), tuple(paths[lo:lo + shard_size]), load,
                         encode, params) for lo in range(0, len(ids), shard_size)]


def segment_shard(shard: SegmentShard, segmenter: Segmenter) -> list[SegmentedPost]:
    """Read and segment a shard's images one at a time; encode each kept mask.

    Returns:
        One SegmentedPost per post, in the shard's order.

    Raises:
        DataError: On an image that is not uint8 RGB(a).
    """
    out = []
    for post_id, img in load_images(shard.post_ids, shard.image_paths, shard.load):
        row, kind, masked = segment_one(post_id, img, shard.params, segmenter)
        out.append(SegmentedPost(row, kind, None if masked is None else shard.encode(masked)))
    return out


ShardRunner = Callable[[Callable[[SegmentShard, Segmenter], list[SegmentedPost]],
                        Sequence[SegmentShard]], Iterator[tuple[int, list[SegmentedPost]]]]


def segment_sharded(shards: Sequence[SegmentShard], run_shards: ShardRunner,
                    write_mask: Callable[[str, bytes], str], params: SegmentParams, *,
                    pose_gate: bool, progress: bool = False) -> SegmentOutput:
    """Run the shards, write each kept mask as its shard comes back, build the output in order.

    Args:
        shards: From `make_shards`.
        run_shards: Runs `segment_shard` over shards, yielding (shard index, result) in any
            order (`stylecluster.executors`).
        write_mask: `write_mask(mask_path, png_bytes)` writes a mask (driver side) and returns
            the written file's SHA-256 hex digest (kept as mask_sha256).
        params: The `segment` params.
        pose_gate: Whether the segmenter gates on a body pose (echoed in the summary).
        progress: Show a progress bar (one step per image, advanced shard by shard).

    Returns:
        SegmentOutput with the manifest in input order.
    """
    done: dict[int, list[SegmentedPost]] = {}
    with tqdm(total=sum(len(s.post_ids) for s in shards), desc="segment", unit="img",
              disable=not progress) as bar:
        for i, posts in run_shards(segment_shard, shards):
            for post in posts:
                if post.mask is not None:
                    post.row["mask_sha256"] = write_mask(post.row["mask_path"], post.mask)
            done[i] = [SegmentedPost(p.row, p.kind, None) for p in posts]  # bytes written: drop
            bar.update(len(posts))
    ordered = [post for i in range(len(shards)) for post in done[i]]
    return build_output([p.row for p in ordered], [p.kind for p in ordered], params,
                        pose_gate=pose_gate)
