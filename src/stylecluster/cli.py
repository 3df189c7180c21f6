"""The `stylecluster` command: sample data, import of real exports, params check.

Pipeline stages run through DVC (`dvc repro`), each as `python stages/<name>.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from stylecluster.errors import StyleclusterError
from stylecluster.stage import configure_logging

log = logging.getLogger("stylecluster.cli")


def _cmd_sample(args: argparse.Namespace) -> str:
    from tqdm import tqdm

    from stylecluster import io, sample

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.force:
        raise StyleclusterError(f"{out}: folder exists and is not empty; raw data is never "
                                "overwritten. Choose another --out or pass --force.")
    posts = []
    it = sample.iter_sample(n_posts=args.n_posts, seed=args.seed, start_month=args.start_month,
                            n_months=args.n_months)
    for post in tqdm(it, total=args.n_posts, desc="sample", unit="post", disable=args.quiet):
        io.write_image(post.image, out / post.image_path)
        posts.append(dataclasses.replace(post, image=None))  # keep rows, not pixels
    table = sample.sample_table(posts)
    io.write_table(table, out / "posts.parquet", "raw_posts")
    return f"wrote {len(table)} posts and images to {out}"


def _cmd_import(args: argparse.Namespace) -> str:
    from stylecluster import importer, io

    out = Path(args.out)
    if (out / "posts.parquet").exists() and not args.force:
        raise StyleclusterError(f"{out}/posts.parquet exists; raw data is never overwritten. "
                                "Choose another --out or pass --force.")
    mapping = importer.parse_column_map(args.map or "")
    export = io.read_posts_file(args.posts)
    table = importer.to_canonical(export, mapping, date_format=args.date_format,
                                  source=str(args.posts))
    rel = [p[len("images/"):] for p in table["image_path"].dropna()]
    counts = io.link_images(args.images, rel, out / "images")
    io.write_table(table, out / "posts.parquet", "raw_posts")
    if counts["missing"]:
        log.warning("%d image(s) named in %s are not in %s; validate will list them",
                    counts["missing"], args.posts, args.images)
    return (f"imported {len(table)} posts into {out} (images: {counts['linked']} linked, "
            f"{counts['copied']} copied, {counts['missing']} missing). "
            f"Next: `dvc add {out}` to version it, then `dvc repro`.")


def _cmd_check_params(args: argparse.Namespace) -> str:
    from stylecluster import config, io

    sections = config.load_all(io.read_params(args.params))
    return f"{args.params}: {len(sections)} sections valid"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylecluster", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", help="write the deterministic sample dataset",
                       description="Write the bundled sample (drawn outfits, Chinese captions, "
                       "seasonal styles and the research's failure modes) in the raw layout.")
    p.add_argument("--out", required=True, help="raw folder to create, e.g. data/raw")
    p.add_argument("--n-posts", type=int, default=1200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--start-month", default="2024-01", help="first month, YYYY-MM")
    p.add_argument("--n-months", type=int, default=12)
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("import", help="convert an export (CSV/JSONL/Parquet + images) to raw",
                       description="Map an export's columns to the canonical raw layout. "
                       "Example: stylecluster import --posts export.csv --images export/imgs "
                       "--map content=post_content,tags=post_tag,posted_at=date,image_path=img "
                       "--date-format '%%Y/%%m/%%d %%H:%%M' --out data/raw")
    p.add_argument("--posts", required=True, type=Path, help="export file (.csv, .jsonl, .parquet)")
    p.add_argument("--images", required=True, type=Path, help="folder the image column is relative to")
    p.add_argument("--map", default="", help="canonical=theirs,... (canonical: post_id, content, "
                   "tags, posted_at, image_path, label)")
    p.add_argument("--date-format", default=None,
                   help="strptime format of the date column (default: already %%Y-%%m-%%d %%H:%%M:%%S)")
    p.add_argument("--out", required=True, type=Path, help="raw folder to write, e.g. data/raw")
    p.add_argument("--force", action="store_true", help="replace an existing posts table")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("check-params", help="validate params.yaml without running anything")
    p.add_argument("--params", default="params.yaml", type=Path)
    p.set_defaults(func=_cmd_check_params)
    from stylecluster.experiments import add_compare_parser  # grid of dvc experiments

    add_compare_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `stylecluster` console script."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        summary = args.func(args)
    except StyleclusterError as exc:
        log.error("%s", exc)
        return 1
    log.info("%s", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
