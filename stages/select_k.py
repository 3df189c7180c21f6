"""Select k: cluster at every k in a range, score silhouette / Davies-Bouldin / Calinski-Harabasz,
and choose k by the most prominent silhouette peak (or the argmax).

Inputs: --features folder (reduce: features.npy + ids.parquet; summary.json for the method).
Outputs: --out folder: silhouette.csv (the curve, a DVC plot), select_k.json (best_k, prominence,
has_peak, rule, exact, n and the settings the cluster stage reuses; with select_k.algorithm hdbscan
no k is chosen: an empty curve and chosen_by "hdbscan").
Params: `select_k` section (+ base.seed; runtime.block_mb bounds the silhouette's memory).
Usage: python stages/select_k.py --features data/interim/reduce --out data/interim/select_k
"""
from stylecluster import catalog, storage
from stylecluster.pipeline import select_k
from stylecluster.records import ReduceSummary
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    ids = storage.read_artifact(catalog.FEATURE_IDS, ctx.paths.features)
    features = storage.read_artifact(catalog.FEATURES, ctx.paths.features, ids)
    reduced = ReduceSummary.from_json(storage.read_artifact(catalog.REDUCE_SUMMARY,
                                                            ctx.paths.features),
                                      str(catalog.REDUCE_SUMMARY.path(ctx.paths.features)))
    result = select_k.select_k(features, ids, ctx.params, random_state=ctx.base.seed,
                               block_mb=ctx.runtime.block_mb, reduction=reduced.method,
                               fit_sample=reduced.fit_sample)
    storage.write_artifact(result.curve, catalog.SILHOUETTE, ctx.paths.out)
    storage.write_artifact(result.summary, catalog.SELECT_K, ctx.paths.out)
    s = result.summary
    if s["best_k"] is None:  # hdbscan: no k to choose
        return f"k-selection skipped: {s['algorithm']} chooses its own clusters, n={s['n']}"
    peak = f"peak prominence {s['prominence']:.3f}" if s["has_peak"] else "NO interior peak"
    mode = "exact" if s["exact"] else "sampled"
    return (f"best_k={s['best_k']} (rule {s['rule']}, {peak}, silhouette {s['silhouette']:.3f}, "
            f"{mode}) over k={s['k_min']}..{s['k_max']}, n={s['n']}")


if __name__ == "__main__":
    run_stage("select_k", main, paths=("features", "out"), sections=("base", "select_k"),
              doc=__doc__)
