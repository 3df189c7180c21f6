"""Select k: cluster at every k in a range, score silhouette / Davies-Bouldin / Calinski-Harabasz,
and choose k by the most prominent silhouette peak (or the argmax).

Inputs: --features folder (reduce: features.npy + ids.parquet).
Outputs: --out folder: silhouette.csv (the curve, a DVC plot), select_k.json (best_k, prominence,
has_peak, rule, exact, n and the settings the cluster stage reuses).
Params: `select_k` section (+ base.seed; runtime.block_mb bounds the silhouette's memory).
Usage: python stages/select_k.py --features data/interim/reduce --out data/interim/select_k
"""
from stylecluster import schemas
from stylecluster import storage
from stylecluster.pipeline import select_k
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    ids = storage.read_table(ctx.paths.features / "ids.parquet", "ids")
    features = storage.read_matrix(ctx.paths.features / "features.npy", ids)
    result = select_k.select_k(features, ids, ctx.params, random_state=ctx.base.seed,
                               block_mb=ctx.runtime.block_mb)
    schemas.check(result.curve, "silhouette", "select_k curve")
    storage.write_csv(result.curve, ctx.paths.out / "silhouette.csv")
    storage.write_json(result.summary, ctx.paths.out / "select_k.json")
    s = result.summary
    peak = f"peak prominence {s['prominence']:.3f}" if s["has_peak"] else "NO interior peak"
    mode = "exact" if s["exact"] else "sampled"
    return (f"best_k={s['best_k']} (rule {s['rule']}, {peak}, silhouette {s['silhouette']:.3f}, "
            f"{mode}) over k={s['k_min']}..{s['k_max']}, n={s['n']}")


if __name__ == "__main__":
    run_stage("select_k", main, paths=("features", "out"), sections=("base", "select_k"),
              doc=__doc__)
