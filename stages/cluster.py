"""Cluster: the final clustering at the chosen k, representative posts and the quality metrics.

Inputs: --features folder (reduce), --select select_k.json, --posts validate/posts.parquet,
--texts preprocess/texts.parquet.
Outputs: --out folder: labels.parquet (post_id, cluster 0 = largest, distance to its centre),
representatives.parquet (cluster, rank, post_id, distance); --metrics reports/metrics.json.
Params: `cluster` section (+ base.seed; algorithm and silhouette settings come from select_k.json;
runtime.block_mb bounds the silhouette's memory).
Usage: python stages/cluster.py --features data/interim/reduce --select data/interim/select_k/select_k.json --posts data/interim/validate/posts.parquet --texts data/interim/preprocess/texts.parquet --out data/processed/cluster --metrics reports/metrics.json
"""
from stylecluster.pipeline import cluster
from stylecluster import storage
from stylecluster.pipeline import metrics
from stylecluster.pipeline.silhouette import silhouette_score
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    ids = storage.read_table(ctx.paths.features / "ids.parquet", "ids")
    features = storage.read_matrix(ctx.paths.features / "features.npy", ids)
    sel = storage.read_json(ctx.paths.select)
    k = ctx.params.n_clusters or sel["best_k"]
    result = cluster.fit_clusters(features, ids, k, algorithm=sel["algorithm"],
                                  n_init=sel["n_init"], random_state=ctx.base.seed,
                                  n_representatives=ctx.params.n_representatives)
    sil = silhouette_score(features, result.labels["cluster"].to_numpy(),
                           exact_max_n=sel["exact_max_n"], sample_size=sel["sample_size"],
                           n_repeats=sel["n_repeats"], random_state=ctx.base.seed,
                           block_mb=ctx.runtime.block_mb)
    posts = storage.read_table(ctx.paths.posts, "posts")
    texts = storage.read_table(ctx.paths.texts, "texts")
    scores = metrics.quality_metrics(result.labels, posts, texts, sel, silhouette=sil)
    storage.write_table(result.labels, ctx.paths.out / "labels.parquet", "labels")
    storage.write_table(result.representatives, ctx.paths.out / "representatives.parquet",
                   "representatives")
    storage.write_json(scores, ctx.paths.metrics)
    return (f"{scores['n_posts_used']} posts in {scores['n_clusters']} clusters, silhouette "
            f"{sil:.3f}, largest share {scores['largest_cluster_share']:.2f}")


if __name__ == "__main__":
    run_stage("cluster", main, paths=("features", "select", "posts", "texts", "out", "metrics"),
              sections=("base", "cluster"), doc=__doc__)
