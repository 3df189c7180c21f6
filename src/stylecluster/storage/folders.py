"""Folder transactions and image placement for `stylecluster import` (never writes outside --out)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from stylecluster.errors import DataError
from stylecluster.storage.files import _umask

PROJECT_MARKERS = (".git", ".dvc", "dvc.yaml")  # a folder holding one is a project, not raw data


@contextmanager
def folder_transaction(out: str | Path, *, force: bool) -> Iterator[Path]:
    """Build a new `out` in a temporary sibling folder; swap it in only if the block succeeds.

    On any error `out` is exactly as before (the sibling is removed). On success the old `out`, if
    any, is replaced whole: no stale file survives a `--force`. Nothing outside `out` and its
    temporary siblings is written, linked or deleted.

    Raises:
        DataError: `out` exists and is not empty without `force`, is a symlink or a file, holds
            the current folder, or looks like a project root (holds .git, .dvc or dvc.yaml).
    """
    out = Path(out).absolute()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DataError(f"{out}: --out must be a folder (not a file or a symlink); raw data is "
                        "written there whole. Choose another --out.")
    if out.exists():
        if Path.cwd().resolve().is_relative_to(out.resolve()):
            raise DataError(f"{out}: --out holds the current folder; replacing it would delete "
                            "your work. Choose a folder such as data/raw.")
        markers = [m for m in PROJECT_MARKERS if (out / m).exists()]
        if markers:
            raise DataError(f"{out}: --out holds {markers}, so it is a project, not a raw data "
                            "folder; it is never replaced. Choose a folder such as data/raw.")
        if any(out.iterdir()) and not force:
            raise DataError(f"{out}: folder exists and is not empty; raw data is never "
                            "overwritten. Choose another --out or pass --force to replace it "
                            "whole.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / "folder")
            try:
                os.rename(tmp, out)
            except OSError:
                os.rename(old / "folder", out)
                raise
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def resolve_images(images_dir: str | Path | None, posts: pd.DataFrame,
                   source: str = "posts file") -> tuple[dict[str, Path], list[str]]:
    """Find each post's image file inside `images_dir`, refusing anything that leaves it.

    Args:
        images_dir: The export's image folder (`--images`).
        posts: post_id and image_path (relative, POSIX; None for text-only posts).
        source: The export's file name, for messages.

    Returns:
        (post_id -> the real file, after symlinks; post_ids whose image file does not exist).

    Raises:
        DataError: The folder is missing while images are named, or a path resolves (through a
            symlink) outside it; the message names the post and the path.
    """
    named = posts[posts["image_path"].notna()]
    if not len(named):
        return {}, []
    if images_dir is None:
        raise DataError(f"{source}: {len(named)} post(s) name an image, e.g. "
                        f"{named['image_path'].iloc[0]!r}; pass the folder holding them with "
                        "--images.")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise DataError(f"{images_dir}: image folder not found. Pass the folder holding the "
                        "export's images with --images.")
    root = images_dir.resolve()
    found: dict[str, Path] = {}
    missing: list[str] = []
    for post_id, rel in zip(named["post_id"], named["image_path"]):
        real = (images_dir / rel).resolve()
        if not real.is_relative_to(root):
            raise DataError(f"{source}: post {post_id} names image {rel!r}, which resolves to "
                            f"{real}, outside --images ({root}); a symlink may point out of the "
                            "folder. Copy the file into the images folder or fix the row.")
        if real.is_file():
            found[post_id] = real
        else:
            missing.append(post_id)
    return found, missing


def place_images(files: dict[str, Path], posts: pd.DataFrame, dest_dir: Path,
                 *, link: bool) -> dict[str, int]:
    """Copy (or hard-link) each post's image to `dest_dir/<its image_path>`.

    Copies by default: a hard link shares the source's inode, so when DVC later makes its cache
    read-only the export's own file would change mode too. `link=True` saves the space.

    Returns:
        Counts {"copied", "linked"}.
    """
    counts = {"copied": 0, "linked": 0}
    rel_of = dict(zip(posts["post_id"], posts["image_path"]))
    for post_id, src in files.items():
        dest = dest_dir / rel_of[post_id]
        if dest.exists():  # two posts sharing one image file
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link:
            try:
                os.link(src, dest)
                counts["linked"] += 1
                continue
            except OSError:
                pass  # another file system: copy
        shutil.copyfile(src, dest)
        counts["copied"] += 1
    return counts
