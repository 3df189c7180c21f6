"""Cluster: the final clustering at the chosen k, representative posts and the quality metrics.

Inputs: --features folder (reduce), --select select_k.json, --posts validate/posts.parquet,
--texts preprocess/texts.parquet.
Outputs: --out folder: labels.parquet (post_id, cluster 0 = largest, distance to its centre),
representatives.parquet (cluster, rank, post_id, distance); --metrics reports/metrics.json.
Params: `cluster` section (+ base.seed; algorithm and silhouette settings come from select_k.json;
runtime.block_mb bounds the silhouette's memory).
Usage: python stages/cluster.py --features data/interim/reduce --select data/interim/select_k/select_k.json --posts data/interim/validate/posts.parquet --texts data/interim/preprocess/texts.parquet --out data/processed/cluster --metrics reports/metrics.json
"""
from stylecluster import catalog, storage
from stylecluster.pipeline.final import cluster_posts
from stylecluster.records import SelectKRecord
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    ids = storage.read_artifact(catalog.FEATURE_IDS, ctx.paths.features)
    features = storage.read_artifact(catalog.FEATURES, ctx.paths.features, ids)
    selection = SelectKRecord.from_json(storage.read_json(ctx.paths.select), str(ctx.paths.select))
    final = cluster_posts(features, ids, selection, ctx.params,
                          storage.read_table(ctx.paths.posts, catalog.POSTS.schema),
                          storage.read_table(ctx.paths.texts, catalog.TEXTS.schema),
                          random_state=ctx.base.seed, block_mb=ctx.runtime.block_mb)
    result, scores = final.clusters, final.metrics
    storage.write_artifact(result.labels, catalog.LABELS, ctx.paths.out)
    storage.write_artifact(result.representatives, catalog.REPRESENTATIVES, ctx.paths.out)
    storage.write_json(scores, ctx.paths.metrics)
    return (f"{scores['n_posts_used']} posts in {scores['n_clusters']} clusters, silhouette "
            f"{final.silhouette:.3f}, largest share {scores['largest_cluster_share']:.2f}")


if __name__ == "__main__":
    run_stage("cluster", main, paths=("features", "select", "posts", "texts", "out", "metrics"),
              sections=("base", "cluster"), doc=__doc__)
