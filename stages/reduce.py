"""Reduce: choose the modality to cluster and reduce it; a 2-D UMAP map for plotting.

Inputs: --embed folder (image.npy + image_ids.parquet, text.npy + text_ids.parquet), --texts
preprocess/texts.parquet (n_chars, for reduce.text_debias length | both).
Outputs: --out folder: features.npy, map2d.npy, ids.parquet (row-aligned), dropped.parquet (posts
lacking a needed modality, with the reason), summary.json. Params: `reduce` section (+ base.seed).
Usage: python stages/reduce.py --embed data/interim/embed --texts data/interim/preprocess/texts.parquet --out data/interim/reduce
"""
from stylecluster import catalog, storage
from stylecluster.pipeline import reduce
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    embeddings = {}
    for name, (matrix, id_table) in catalog.EMBEDDINGS.items():
        ids = storage.read_artifact(id_table, ctx.paths.embed)
        embeddings[name] = (storage.read_artifact(matrix, ctx.paths.embed, ids), ids)
    texts = storage.read_table(ctx.paths.texts, catalog.TEXTS.schema)
    result = reduce.reduce_embeddings(embeddings, ctx.params, random_state=ctx.base.seed,
                                      texts=texts)
    out = ctx.paths.out
    for obj, art in ((result.features, catalog.FEATURES), (result.map2d, catalog.MAP2D),
                     (result.ids, catalog.FEATURE_IDS), (result.dropped, catalog.REDUCE_DROPPED),
                     (result.summary.to_json(), catalog.REDUCE_SUMMARY)):
        storage.write_artifact(obj, art, out)
    s = result.summary
    debias = f" (text_debias {s.text_debias})" if s.text_debias not in (None, "none") else ""
    return (f"{s.n_used} posts, {s.modality} {s.dim_in}-d{debias} -> {s.method} {s.dim_out}-d; "
            f"{s.n_dropped} excluded for a missing modality")


if __name__ == "__main__":
    run_stage("reduce", main, paths=("embed", "texts", "out"), sections=("base", "reduce"),
              doc=__doc__)
