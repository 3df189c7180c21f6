"""Report: monthly cluster shares, top clusters per month, timelines, exemplar grids, keywords and
captions per cluster, and one offline HTML page.

Inputs: --posts, --validation (validate), --segment folder, --texts (preprocess), --embed and
--reduce folders (dropped.parquet; map2d.npy + ids.parquet), --select folder (silhouette.csv,
select_k.json), --cluster folder (labels, representatives), --metrics (reports/metrics.json).
Outputs: --out folder: index.html, figures/*.png, monthly_proportions.csv, top5_per_month.csv,
clusters.json, trends.json.
Params: `report` section (the page also shows every other tracked section; not runtime).
Usage: python stages/report.py --posts data/interim/validate/posts.parquet --validation reports/validation.json --segment data/interim/segment --texts data/interim/preprocess/texts.parquet --embed data/interim/embed --reduce data/interim/reduce --select data/interim/select_k --cluster data/processed/cluster --metrics reports/metrics.json --out reports
"""
from stylecluster import storage
from stylecluster.report import build
from stylecluster.paramtypes import as_plain
from stylecluster.stage import StageContext, run_stage

# The page shows every tracked section, so each is declared (dvc.yaml's params: for report).
SECTIONS = ("base", "paths", "validate", "segment", "preprocess", "embed", "reduce", "select_k",
            "cluster", "report")


def main(ctx: StageContext) -> str:
    p = ctx.paths
    manifest = storage.read_table(p.segment / "manifest.parquet", "segment_manifest")
    mask_of = dict(zip(manifest["post_id"], manifest["mask_path"].where(manifest["kept"], "")))
    map_ids = storage.read_table(p.reduce / "ids.parquet", "ids")
    inputs = build.ReportInputs(
        posts=storage.read_table(p.posts, "posts"),
        texts=storage.read_table(p.texts, "texts"),
        labels=storage.read_table(p.cluster / "labels.parquet", "labels"),
        representatives=storage.read_table(p.cluster / "representatives.parquet", "representatives"),
        map2d=storage.read_matrix(p.reduce / "map2d.npy", map_ids),
        map_ids=map_ids,
        curve=storage.read_csv(p.select / "silhouette.csv"),
        selection=storage.read_json(p.select / "select_k.json"),
        metrics=storage.read_json(p.metrics),
        manifest=manifest,
        segment_summary=storage.read_json(p.segment / "summary.json"),
        validation=storage.read_json(p.validation),
        dropped=[storage.read_table(p.embed / "dropped.parquet", "dropped"),
                 storage.read_table(p.reduce / "dropped.parquet", "dropped")],
        params=as_plain({name: ctx.section(name) for name in SECTIONS}),  # the params table
    )
    rep = build.build(inputs, ctx.params,
                       lambda pid: storage.read_image(p.segment / mask_of[pid]) if mask_of.get(pid)
                       else None)
    for stale in (p.out / "figures").glob("*.png"):  # outputs are rewritten whole
        if stale.name not in rep.figures:
            stale.unlink()
    for name, fig in rep.figures.items():
        storage.write_figure(fig, p.out / "figures" / name)
        fig.clear()  # free the artists (no pyplot, nothing else holds the figure)
    storage.write_csv(rep.monthly, p.out / "monthly_proportions.csv")
    storage.write_csv(rep.top_per_month, p.out / "top5_per_month.csv")
    storage.write_json(rep.clusters, p.out / "clusters.json")
    storage.write_json(rep.trends, p.out / "trends.json")
    storage.write_text(rep.html, p.out / "index.html")
    return (f"{rep.clusters['n_posts']} posts, {rep.clusters['n_clusters']} clusters, "
            f"{len(rep.clusters['months'])} months, {len(rep.figures)} figures -> "
            f"{p.out / 'index.html'}")


if __name__ == "__main__":
    run_stage("report", main, paths=("posts", "validation", "segment", "texts", "embed", "reduce",
                                     "select", "cluster", "metrics", "out"), sections=SECTIONS,
              doc=__doc__)
