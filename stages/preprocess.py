"""Preprocess: clean captions and tags, jieba tokens, RAKE keywords and the text each post embeds.

Inputs: validate's posts.parquet, the curated stopword file, the optional jieba user dictionary
(`preprocess.user_dict`). Outputs: OUT/texts.parquet (one row per post, none dropped) and
OUT/summary.json (`records.PreprocessSummary`: missing/'nan'/empty captions, nan tokens removed,
emoji codes converted or dropped, tag-only posts, duplicates, lengths).
jieba's dictionary cache lives in --jieba-cache (paths.jieba_cache: data/cache/jieba, git-ignored).
Params: `preprocess` section (and runtime.progress).
Usage: python stages/preprocess.py --posts data/interim/validate/posts.parquet --stopwords data/external/stopwords_zh.txt --jieba-cache data/cache/jieba --out data/interim/preprocess
"""

from pathlib import Path

from stylecluster import catalog, storage
from stylecluster.pipeline import preprocess
from stylecluster.errors import ConfigError
from stylecluster.stage import StageContext, run_stage


def main(ctx: StageContext) -> str:
    params = ctx.params
    user_dict = None
    if params.user_dict is not None:
        if not Path(params.user_dict).is_file():
            raise ConfigError(
                f"{ctx.paths.params} [preprocess.user_dict] = {params.user_dict!r}: file not found. "
                "Set it to an existing jieba user dictionary (relative to the project root) or null."
            )
        user_dict = storage.read_text(params.user_dict, "jieba user dictionary")
    stopwords = preprocess.parse_word_list(storage.read_text(ctx.paths.stopwords, "stopword file"))
    posts = storage.read_table(ctx.paths.posts, catalog.POSTS.schema)
    cache_dir = storage.jieba_cache_dir(ctx.paths.jieba_cache)
    result = preprocess.preprocess_posts(posts, params, stopwords, cache_dir=cache_dir,
                                         user_dict=user_dict, progress=ctx.runtime.progress)
    storage.write_artifact(result.texts, catalog.TEXTS, ctx.paths.out)
    storage.write_artifact(result.summary.to_json(), catalog.PREPROCESS_SUMMARY, ctx.paths.out)
    s, c = result.summary, result.summary.cleaning
    return (f"{s.n_posts} posts ({params.fields}, embed_text={params.embed_text}): "
            f"{s.has_text_false} without text, {s.tag_only_posts} tag-only, "
            f"{s.duplicate_texts['posts']} duplicate texts; nan tokens removed in "
            f"{c.nan_token_posts}, emoji codes converted in {c.emoji_code_posts} "
            f"({c.emoji_codes_converted}), unknown codes dropped in {c.unknown_code_posts} "
            f"({c.unknown_codes_dropped})")


if __name__ == "__main__":
    run_stage("preprocess", main, paths=("posts", "stopwords", "jieba-cache", "out"),
              sections=("preprocess",), doc=__doc__)
