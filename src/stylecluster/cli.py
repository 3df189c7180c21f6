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
from typing import Any

from stylecluster import __version__
from stylecluster.errors import StyleclusterError
from stylecluster.stage import configure_logging

log = logging.getLogger("stylecluster.cli")


def _cmd_sample(args: argparse.Namespace) -> str:
    from tqdm import tqdm

    from stylecluster import catalog, storage
    from stylecluster.sample import generate as sample

    posts = []
    it = sample.iter_sample(n_posts=args.n_posts, seed=args.seed, start_month=args.start_month,
                            n_months=args.n_months, cutout=args.cutout)
    with storage.folder_transaction(args.out, force=args.force) as tmp:
        for post in tqdm(it, total=args.n_posts, desc="sample", unit="post", disable=args.quiet):
            storage.write_image(post.image, tmp / post.image_path)
            posts.append(dataclasses.replace(post, image=None))  # keep rows, not pixels
        table = sample.sample_table(posts)
        storage.write_table(table, tmp / catalog.RAW_POSTS, "raw_posts")
    return f"wrote {len(table)} posts and images to {args.out}"


def _import_options(args: argparse.Namespace) -> Any:
    from stylecluster import config, dates, importer
    from stylecluster import storage

    timezone = args.timezone
    if timezone is None:  # the zone validate will read the posts in
        params = storage.read_params(args.params) if args.params.is_file() else {}
        timezone = config.load_section(params, "validate", str(args.params)).timezone
    year: int | str | None = args.date_year
    if year not in (None, "infer"):
        if not str(year).isdigit() or not 1970 <= int(year) <= 2100:
            raise StyleclusterError(f"--date-year {year!r}: expected a year such as 2024, or "
                                    "infer (the nearest dated row's year)")
        year = int(year)
    return importer.ImportOptions(
        mapping=importer.parse_column_map(args.map or ""),
        date_format=dates.check_format(args.date_format, "--date-format"),
        timezone=dates.check_timezone(timezone, "--timezone"),
        date_year=year, dedupe=args.dedupe, all_images=args.all_images,
        keep=importer.parse_keep(args.keep or ""), source=str(args.posts))


def _cmd_import(args: argparse.Namespace) -> str:
    from stylecluster import importer
    from stylecluster import catalog, storage

    options = _import_options(args)
    export = storage.read_export(args.posts, args.encoding)
    result = importer.to_canonical(export.table, options)
    table = result.table
    files, missing = storage.resolve_images(args.images, table, str(args.posts))
    with storage.folder_transaction(args.out, force=args.force) as tmp:
        placed = storage.place_images(files, table, tmp / catalog.RAW_IMAGES, link=args.link)
        raw = table.assign(image_path=table["image_path"].map(
            lambda rel: None if rel is None else f"{catalog.RAW_IMAGES}/{rel}"))
        storage.write_table(raw, tmp / catalog.RAW_POSTS, "raw_posts")
        record = {"source": str(args.posts), "encoding": export.encoding,
                  "timezone": options.timezone, "date_format": options.date_format,
                  "counts": {**result.counts, **placed, "missing_images": len(missing)},
                  "missing_images": missing[:100], "dropped_columns": result.dropped_columns,
                  "kept_columns": list(options.keep)}
        storage.write_json(record, tmp / catalog.RAW_IMPORT_RECORD)
    c = record["counts"]
    if missing:
        log.warning("%d image(s) named in %s are not in %s (e.g. posts %s); validate will list "
                    "them", len(missing), args.posts, args.images, missing[:5])
    if result.dropped_columns:
        log.warning("columns not imported (not mapped): %s; pass --keep %s to carry them into "
                    "the posts table", result.dropped_columns, ",".join(result.dropped_columns))
    enc = f", read as {export.encoding}" if export.encoding else ""
    return (f"imported {c['posts']} posts from {c['rows_read']} rows into {args.out}{enc} "
            f"(images: {c['copied']} copied, {c['linked']} linked, {c['missing_images']} missing; "
            f"text-only {c['text_only']}, undated {c['undated']}, duplicates dropped "
            f"{c['duplicates_dropped']}, extra images ignored {c['extra_images_ignored']}; "
            f"record in {args.out}/import.json). Next: `dvc add {args.out}` to version it, "
            "then `dvc repro`.")


def _cmd_check_params(args: argparse.Namespace) -> str:
    from stylecluster import config, encoders, segmenters, storage

    if args.write_defaults is not None:
        from stylecluster import defaults

        storage.write_text(defaults.render_params(), args.write_defaults)
        args.params = args.write_defaults
    where = str(args.params)
    params = storage.read_params(args.params)
    sections = config.load_all(params, where)
    encoders.check_params(sections["embed"], where)
    segmenters.check_params(sections["segment"], where)
    written = "written and " if args.write_defaults is not None else ""
    return f"{where}: {written}{len(sections)} sections valid"


def build_parser() -> argparse.ArgumentParser:
    """The `stylecluster` command line (import, check-params, compare, sample).

    Long on purpose: one declarative argparse block per subcommand, read top to bottom.
    """
    parser = argparse.ArgumentParser(prog="stylecluster", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", help="write the deterministic sample dataset",
                       description="Write the bundled sample (drawn outfits, Chinese captions, "
                       "seasonal styles and the research's failure modes) in the raw layout.")
    p.add_argument("--out", required=True, help="raw folder to create, e.g. data/raw")
    p.add_argument("--n-posts", type=int, default=1200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--start-month", default="2024-01", help="first month, YYYY-MM")
    p.add_argument("--n-months", type=int, default=12)
    p.add_argument("--cutout", action="store_true",
                   help="RGBA PNGs with a transparent background around each outfit and face "
                   "close-up, as exports of background-removed photos look (same posts)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser(
        "import", help="convert an export (CSV/JSONL/Parquet/xlsx + images) to raw",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Map an export's columns to the canonical raw layout, as a transaction: the "
        "new --out is built beside it and swapped in only when every row passed.\n\nExample:\n"
        "  stylecluster import --posts export.csv --images export/imgs \\\n"
        "    --map post_id=笔记ID,content=标题+内容,tags=标签,posted_at=发布时间,image_path=图片 \\\n"
        "    --date-format auto --out data/raw")
    p.add_argument("--posts", required=True, type=Path,
                   help="export file (.csv, .jsonl, .parquet, .xlsx)")
    p.add_argument("--images", type=Path, default=None,
                   help="folder the image column is relative to (not needed for text-only exports)")
    p.add_argument("--map", default="", help="canonical=theirs,... (canonical: post_id, content, "
                   "tags, posted_at, image_path, label); content=标题+内容 joins columns")
    p.add_argument("--date-format", default="auto",
                   help="auto (ISO 8601 with or without offset, YYYY/M/D, YYYY-MM-DD HH:MM, "
                   "epochs), epoch_s, epoch_ms or strptime codes such as '%%Y/%%m/%%d %%H:%%M' "
                   "(default: auto)")
    p.add_argument("--date-year", default=None,
                   help="year of year-less dates such as 05-17: YYYY, or infer (nearest dated row)")
    p.add_argument("--timezone", default=None,
                   help="zone of dates without an offset (default: validate.timezone of --params)")
    p.add_argument("--encoding", default="auto",
                   help="text encoding of CSV/JSONL: auto (UTF-8, then GB18030) or a codec")
    p.add_argument("--dedupe", choices=("error", "first"), default="error",
                   help="duplicated post ids: error (default) or keep the first row of each")
    p.add_argument("--all-images", action="store_true",
                   help="a multi-image cell becomes one post per image (<id>_<n>); default: the "
                   "first image, the rest counted")
    p.add_argument("--keep", default="", help="extra columns to carry through, e.g. likes,author")
    p.add_argument("--link", action="store_true",
                   help="hard-link images instead of copying (saves space; the files are shared "
                   "with the export)")
    p.add_argument("--params", default=Path("params.yaml"), type=Path,
                   help="params file whose validate.timezone applies (default: params.yaml)")
    p.add_argument("--out", required=True, type=Path, help="raw folder to write, e.g. data/raw")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder whole")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("check-params", help="validate a params file without running anything",
                       description="Check every section of a params file (unknown sections and "
                       "keys, types, ranges, encoder and segmenter names and options, time zones) "
                       "without running anything. Messages name the file checked. With "
                       "--write-defaults, first render every default of src/stylecluster/config.py "
                       "(and each backend's options) into that file, then check it.")
    p.add_argument("--params", default="params.yaml", type=Path,
                   help="the params file to check (default: params.yaml)")
    p.add_argument("--write-defaults", default=None, type=Path, metavar="PATH",
                   help="write the rendered defaults to PATH (params.yaml: re-render it after "
                   "changing a default in config.py), then check PATH")
    p.set_defaults(func=_cmd_check_params)
    from stylecluster.experiments.run import add_compare_parser  # grid of dvc experiments

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
