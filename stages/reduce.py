"""Reduce: choose the modality to cluster and reduce it; a 2-D UMAP map for plotting.

Inputs: --embed folder (image.npy + image_ids.parquet, text.npy + text_ids.parquet).
Outputs: --out folder: features.npy, map2d.npy, ids.parquet (row-aligned), dropped.parquet (posts
lacking a needed modality, with the reason), summary.json. Params: `reduce` section (+ base.seed).
Usage: python stages/reduce.py --embed data/interim/embed --out data/interim/reduce
"""
from stylecluster import storage
from stylecluster.pipeline import reduce
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    embeddings = {}
    for name in ("image", "text"):
        ids = storage.read_table(ctx.paths.embed / f"{name}_ids.parquet", "ids")
        embeddings[name] = (storage.read_matrix(ctx.paths.embed / f"{name}.npy", ids), ids)
    result = reduce.reduce_embeddings(embeddings, ctx.params, random_state=ctx.base.seed)
    out = ctx.paths.out
    storage.write_matrix(result.features, out / "features.npy")
    storage.write_matrix(result.map2d, out / "map2d.npy")
    storage.write_table(result.ids, out / "ids.parquet", "ids")
    storage.write_table(result.dropped, out / "dropped.parquet", "dropped")
    storage.write_json(result.summary, out / "summary.json")
    s = result.summary
    return (f"{s['n_used']} posts, {s['modality']} {s['dim_in']}-d -> {s['method']} "
            f"{s['dim_out']}-d; {s['n_dropped']} excluded for a missing modality")


if __name__ == "__main__":
    run_stage("reduce", main, paths=("embed", "out"), sections=("base", "reduce"), doc=__doc__)
