"""Report: monthly cluster shares, top clusters per month, timelines, exemplar grids, keywords and
captions per cluster, and one offline HTML page.

Inputs: --posts, --validation (validate), --segment folder, --texts (preprocess), --embed and
--reduce folders (dropped.parquet; map2d.npy + ids.parquet), --select folder (silhouette.csv,
select_k.json), --cluster folder (labels, representatives), --metrics (reports/metrics.json).
Outputs: --out folder: index.html (a summary band on top: verdict, cluster cards, rising / falling
table, small multiples), figures/*.png (2x DPI), thumbs/*.jpg (the cards' thumbnails),
map.html + map_thumbs/*.jpg (the plotly map with report.interactive; else a placeholder page and
an empty folder),
monthly_proportions.csv, top5_per_month.csv,
clusters.json, trends.json, posts_clusters.csv (UTF-8 with BOM, for Excel; every clustered post
with its cluster's name) and posts_clusters.xlsx (the same table, one sheet, byte-stable).
Params: `report` section, cluster.min_month_posts (months compared in the summary); the page also
shows every other tracked section (runtime.progress switches the progress bars).
Usage: python stages/report.py --posts data/interim/validate/posts.parquet --validation reports/validation.json --segment data/interim/segment --texts data/interim/preprocess/texts.parquet --embed data/interim/embed --reduce data/interim/reduce --select data/interim/select_k --cluster data/processed/cluster --metrics reports/metrics.json --out reports
"""
from stylecluster import catalog, storage
from stylecluster.report import build
from stylecluster.paramtypes import as_plain
from stylecluster.records import SegmentSummary, ValidationSummary
from stylecluster.storage.report_files import write_figures, write_table_xlsx, write_thumbnails
from stylecluster.stage import StageContext, run_stage

# The page shows every tracked section, so each is declared (dvc.yaml's params: for report).
SECTIONS = ("base", "paths", "validate", "segment", "preprocess", "embed", "reduce", "select_k",
            "cluster", "report")


def main(ctx: StageContext) -> str:
    p = ctx.paths
    manifest = storage.read_artifact(catalog.SEGMENT_MANIFEST, p.segment)
    mask_of = dict(zip(manifest["post_id"], manifest["mask_path"].where(manifest["kept"], "")))
    map_ids = storage.read_artifact(catalog.FEATURE_IDS, p.reduce)
    inputs = build.ReportInputs(
        posts=storage.read_table(p.posts, catalog.POSTS.schema),
        texts=storage.read_table(p.texts, catalog.TEXTS.schema),
        labels=storage.read_artifact(catalog.LABELS, p.cluster),
        representatives=storage.read_artifact(catalog.REPRESENTATIVES, p.cluster),
        map2d=storage.read_artifact(catalog.MAP2D, p.reduce, map_ids),
        map_ids=map_ids,
        curve=storage.read_artifact(catalog.SILHOUETTE, p.select),
        selection=storage.read_artifact(catalog.SELECT_K, p.select),
        metrics=storage.read_json(p.metrics),
        manifest=manifest,
        segment_summary=SegmentSummary.from_json(  # a broken file names its key
            storage.read_artifact(catalog.SEGMENT_SUMMARY, p.segment),
            str(catalog.SEGMENT_SUMMARY.path(p.segment))).to_json(),
        validation=ValidationSummary.from_json(storage.read_json(p.validation),
                                               str(p.validation)).to_json(),
        dropped=[storage.read_artifact(catalog.EMBED_DROPPED, p.embed),
                 storage.read_artifact(catalog.REDUCE_DROPPED, p.reduce)],
        params=as_plain({name: ctx.section(name) for name in SECTIONS}),  # the params table
    )
    progress = ctx.runtime.progress
    rep = build.build(inputs, ctx.params,
                      lambda pid: storage.read_image(p.segment / mask_of[pid]) if mask_of.get(pid)
                      else None,
                      min_month_posts=ctx.section("cluster").min_month_posts, progress=progress)
    write_figures(rep.figures, catalog.REPORT_FIGURES.path(p.out), progress=progress)
    write_thumbnails(rep.thumbs, catalog.REPORT_THUMBS.path(p.out), progress=progress)
    storage.write_artifact(rep.monthly, catalog.MONTHLY, p.out)
    storage.write_artifact(rep.top_per_month, catalog.TOP_PER_MONTH, p.out)
    storage.write_artifact(rep.clusters, catalog.CLUSTERS, p.out)
    storage.write_artifact(rep.trends, catalog.TRENDS, p.out)
    storage.write_artifact(rep.html, catalog.REPORT_PAGE, p.out)
    write_thumbnails(rep.map_page.thumbs, catalog.REPORT_MAP_THUMBS.path(p.out),
                     progress=progress)
    storage.write_artifact(rep.map_page.html, catalog.REPORT_MAP, p.out)
    storage.write_csv(rep.membership, catalog.MEMBERSHIP_CSV.path(p.out), excel=True)
    write_table_xlsx(rep.membership, catalog.MEMBERSHIP_XLSX.path(p.out))
    return (f"{rep.clusters['n_posts']} posts, {rep.clusters['n_clusters']} clusters, "
            f"{len(rep.clusters['months'])} months, {len(rep.figures)} figures, "
            f"{len(rep.thumbs)} thumbnails, "
            + (f"interactive map: {rep.map_page.n_points} points" if rep.map_page.n_points
               else "interactive map off") + f" -> {catalog.REPORT_PAGE.path(p.out)}")

if __name__ == "__main__":
    run_stage("report", main, paths=("posts", "validation", "segment", "texts", "embed", "reduce",
                                     "select", "cluster", "metrics", "out"), sections=SECTIONS,
              doc=__doc__)
