"""Validate: check the raw posts with great-expectations and write the canonical posts table.

Inputs:  --raw DIR (posts.parquet|csv|jsonl + images/, never modified)
Outputs: --out DIR/posts.parquet (normalised: UTC posted_at, month, relative image_path),
         --report FILE (every expectation with its count and up to 20 offending post_ids)
Params:  `validate` section (time format and zone, date range, caption bounds, labels).
Usage:   python stages/validate.py --raw data/raw --out data/interim/validate --report reports/validation.json

A blocking failure writes the report, then exits 1 with one line per failure naming column and fix.
"""

import dataclasses

from stylecluster import catalog, storage
from stylecluster.pipeline import validate
from stylecluster.errors import DataError
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    posts_file = storage.find_raw_posts(ctx.paths.raw)
    raw = storage.read_posts_file(posts_file)
    status = None
    if ctx.params.check_images and "image_path" in raw.columns:
        status = storage.image_status(ctx.paths.raw, raw["image_path"], ctx.runtime.progress)
    result = validate.validate_posts(raw, ctx.params, status)
    report = dataclasses.replace(result.report, source=str(posts_file))
    storage.write_json(report.to_json(), ctx.paths.report)
    if not result.ok:
        raise DataError(f"{posts_file}: {len(result.blocking_failures)} blocking check(s) failed "
                        f"(details in {ctx.paths.report}):\n  " + "\n  ".join(result.blocking_failures))
    storage.write_artifact(result.posts, catalog.POSTS, ctx.paths.out)
    return (f"{len(result.posts)} posts over {len(report.months or {})} months valid; "
            f"{report.n_soft_failures} soft check(s) failed, "
            f"{report.n_missing_content} posts without caption")


if __name__ == "__main__":
    run_stage("validate", main, paths=("raw", "out", "report"), sections=("validate",),
              doc=__doc__)
