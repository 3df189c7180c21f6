"""Text vectors pooled from pieces of a caption (`embed.text_pooling`), against caption length.

Whole-caption vectors follow caption length (issue 13 item 2). Two alternatives embed pieces of a
caption through the same encoder and the same content-addressed cache, then pool them per post:

- `chunks`: the caption (`embed_input`) is cut into chunks of at most `embed.text_chunk_chars`
  characters, at sentence ends where it can be, and a post is the mean of its chunk vectors;
- `tokens`: each distinct preprocess token (texts.parquet `tokens`) is embedded once, and a post is
  the weighted mean of its token vectors (`embed.text_token_weighting`): `idf` weighs each distinct
  token of the post by its smoothed inverse document frequency, ln((1 + n) / (1 + df)) + 1 over the
  n posts pooled (scikit-learn's smooth idf), `tfidf` also by its count in the post, `mean` is the
  plain mean over its token occurrences. `ctfidf` weighs each distinct token by its class-based
  TF-IDF (`stylecluster.ctfidf`) with each hashtag as a class (a post is a document of every one
  of its hashtags), averaged over the post's hashtags: a token counts when it is frequent among the
  posts that share a hashtag and rare in the rest, so chatter every kind of post shares weighs
  little; a post without hashtags falls back to `idf`. For every weighting the result does not
  change when a caption is repeated.

Pooled vectors are L2-normalised. `whole` (the default) embeds `embed_input` as it is, through
`embed.embed_texts`. A post with text but no piece to pool (no tokens left after preprocessing) is
listed in `dropped` with its reason, never skipped silently.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stylecluster.errors import DataError
from stylecluster.pipeline import embed

if TYPE_CHECKING:
    from stylecluster.config import EmbedParams
    from stylecluster.encoders import Encoder

log = logging.getLogger(__name__)

POOLING = ("whole", "chunks", "tokens")
WEIGHTINGS = ("idf", "tfidf", "mean", "ctfidf")
NO_TOKENS = ("no tokens after preprocessing (texts.parquet tokens is empty; "
             "embed.text_pooling: tokens)")
_SENTENCE = re.compile(r"[^。！？!?；;…\n]*(?:[。！？!?；;…\n]+|$)")  # a sentence and its end marks


@dataclass(frozen=True)
class PoolPlan:
    """Which pieces to embed and how each post's vector is made from them.

    Attributes:
        ids: Posts pooled, in input order.
        units: Distinct pieces (chunks or tokens) to embed, in order of first use.
        post_index: (m,) int64: the post (row of `ids`) of each weight.
        unit_index: (m,) int64: the piece (index into `units`) of each weight.
        weight: (m,) float64, > 0.
        dropped: post_id, stage, reason: posts with text but nothing to pool.
    """

    ids: list[str]
    units: list[str]
    post_index: np.ndarray
    unit_index: np.ndarray
    weight: np.ndarray
    dropped: pd.DataFrame


def split_chunks(text: str, chunk_chars: int) -> list[str]:
    """Cut a text into chunks of at most `chunk_chars` characters, at sentence ends if possible.

    Whole sentences (with their end marks) are packed greedily; a sentence longer than
    `chunk_chars` is cut at its last space within the limit, else at the limit.

    Args:
        text: A cleaned caption.
        chunk_chars: The most characters in a chunk (>= 1).

    Returns:
        Non-empty, stripped chunks in text order; their concatenation is the text without the
        whitespace at the cuts. [] for an empty or blank text.

    Raises:
        ValueError: If `chunk_chars` < 1.
    """
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be >= 1, got {chunk_chars}")
    pieces: list[str] = []
    for sentence in _SENTENCE.findall(text):
        while len(sentence) > chunk_chars:
            cut = sentence.rfind(" ", 1, chunk_chars + 1)
            cut = cut if cut > 0 else chunk_chars
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        pieces.append(sentence)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len((current + piece).strip()) > chunk_chars:
            chunks.append(current.strip())
            current = piece.lstrip()
        else:
            current += piece
    chunks.append(current.strip())
    return [c for c in chunks if c]


def _plan(ids: Sequence[str], pieces: Sequence[Sequence[str]],
          weights: Sequence[Sequence[float]], reason: str) -> PoolPlan:
    """A PoolPlan from each post's pieces and their weights; posts without pieces are dropped."""
    index: dict[str, int] = {}
    post_index, unit_index, weight, kept, lost = [], [], [], [], []
    for post, units, w in zip(ids, pieces, weights):
        if not units:
            lost.append(post)
            continue
        row = len(kept)
        kept.append(post)
        for unit, value in zip(units, w):
            post_index.append(row)
            unit_index.append(index.setdefault(unit, len(index)))
            weight.append(value)
    dropped = pd.DataFrame({"post_id": pd.Series(lost, dtype=str), "stage": "embed",
                            "reason": reason}).astype(str)
    return PoolPlan(ids=kept, units=list(index), post_index=np.asarray(post_index, np.int64),
                    unit_index=np.asarray(unit_index, np.int64),
                    weight=np.asarray(weight, np.float64), dropped=dropped)


def plan_chunks(ids: Sequence[str], texts: Sequence[str], chunk_chars: int) -> PoolPlan:
    """Chunks of each text (`split_chunks`), each weighed equally within its post.

    Args:
        ids: post_ids, aligned with texts.
        texts: Their `embed_input`.
        chunk_chars: The most characters in a chunk.

    Returns:
        PoolPlan; a post's repeated chunk counts once per occurrence.
    """
    chunks = [split_chunks(t, chunk_chars) for t in texts]
    return _plan(ids, chunks, [[1.0 / len(c)] * len(c) for c in chunks],
                 "no text to chunk (embed.text_pooling: chunks)")


def _idf(counts: Sequence[Counter]) -> dict[str, float]:
    """Smoothed idf of each token over the posts that have tokens (scikit-learn's smooth idf)."""
    n_docs = sum(1 for c in counts if c)
    df = Counter(tok for c in counts for tok in c)
    return {tok: np.log((1 + n_docs) / (1 + n)) + 1.0 for tok, n in df.items()}


def _hashtag_scores(counts: Sequence[Counter], hashtags: Sequence[Sequence[str]]
                    ) -> list[dict[str, float] | None]:
    """Each post's distinct tokens scored by c-TF-IDF over hashtag classes, averaged over its
    hashtags; None for a post without hashtags (or without tokens)."""
    from stylecluster.ctfidf import ctfidf_sparse

    tag_index: dict[str, int] = {}
    post_rows = [[tag_index.setdefault(t, len(tag_index)) for t in dict.fromkeys(map(str, tags))]
                 if c else [] for c, tags in zip(counts, hashtags)]  # each post's classes
    docs = [list(c) for c, rows in zip(counts, post_rows) for _ in rows]  # distinct tokens
    classes = np.array([r for rows in post_rows for r in rows], np.int64)
    scores, words = ctfidf_sparse(docs, classes, len(tag_index))
    column = {w: i for i, w in enumerate(words)}
    out: list[dict[str, float] | None] = []
    for c, rows in zip(counts, post_rows):
        if not rows:
            out.append(None)
            continue
        block = scores[rows][:, [column[t] for t in c]].toarray().mean(axis=0)  # (distinct,)
        out.append(dict(zip(c, block.tolist())))
    return out


def plan_tokens(ids: Sequence[str], tokens: Sequence[Sequence[str]],
                weighting: str = "idf",
                hashtags: Sequence[Sequence[str]] | None = None) -> PoolPlan:
    """Each post's distinct tokens with their weights (see the module docstring).

    Args:
        ids: post_ids, aligned with tokens.
        tokens: Each post's preprocess tokens, in order (repeats allowed).
        weighting: idf | tfidf | mean | ctfidf.
        hashtags: Each post's hashtags (texts.parquet `hashtags`), for `ctfidf`; None: no post
            has any (every post falls back to idf).

    Returns:
        PoolPlan; the weights of a post sum to 1. Posts without tokens are in `dropped`
        (reason NO_TOKENS) and do not count in the document frequencies.

    Raises:
        ValueError: On an unknown weighting, or hashtags not aligned with the tokens.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"embed.text_token_weighting = {weighting!r}; allowed: {WEIGHTINGS}")
    counts = [Counter(map(str, t)) for t in tokens]
    idf = _idf(counts)
    if hashtags is not None and len(hashtags) != len(counts):
        raise ValueError(f"{len(hashtags)} hashtag lists for {len(counts)} posts")
    tag_scores = (_hashtag_scores(counts, hashtags) if weighting == "ctfidf" and hashtags
                  is not None else [None] * len(counts))
    units, weights = [], []
    for c, scored in zip(counts, tag_scores):
        toks = list(c)  # first-occurrence order
        if scored is not None:  # ctfidf, a post with hashtags
            w = np.array([scored[t] for t in toks], dtype=np.float64)
        elif weighting == "tfidf":
            w = np.array([c[t] * idf[t] for t in toks], dtype=np.float64)
        elif weighting == "mean":
            w = np.array([c[t] for t in toks], dtype=np.float64)
        else:  # idf, and ctfidf's fallback
            w = np.array([idf[t] for t in toks], dtype=np.float64)
        units.append(toks)
        weights.append((w / w.sum()).tolist() if toks else [])
    return _plan(ids, units, weights, NO_TOKENS)


def pool(plan: PoolPlan, vectors: np.ndarray) -> np.ndarray:
    """Each post's weighted sum of its pieces' vectors, L2-normalised.

    Args:
        plan: The PoolPlan.
        vectors: (len(plan.units), dim) vectors of plan.units, in order.

    Returns:
        float32 (len(plan.ids), dim), unit rows.

    Raises:
        DataError: If `vectors` does not match the plan, or a post's pooled vector is zero.
    """
    from scipy import sparse

    if vectors.shape[0] != len(plan.units):
        raise DataError(f"text pooling: {vectors.shape[0]} vectors for {len(plan.units)} pieces")
    weights = sparse.csr_matrix((plan.weight, (plan.post_index, plan.unit_index)),
                                shape=(len(plan.ids), len(plan.units)))  # (n_posts, n_units)
    pooled = np.asarray(weights @ np.asarray(vectors, dtype=np.float64))  # (n_posts, dim)
    norms = np.linalg.norm(pooled, axis=1)
    zero = [plan.ids[i] for i in np.flatnonzero(norms <= 1e-12)]
    if zero:
        raise DataError(f"text pooling: the pooled vector of {len(zero)} post(s) is zero "
                        f"(e.g. {zero[:3]}); their piece vectors cancel out. Use "
                        "embed.text_pooling: whole.")
    return (pooled / norms[:, None]).astype(np.float32)


def embed_text_vectors(
    inputs: embed.EmbedInputs,
    texts: pd.DataFrame,
    params: EmbedParams,
    encoder: Encoder,
    cache: embed.VectorCache | None,
    progress: bool = False,
    **shards: Any,
) -> tuple[embed.ModalityEmbedding, embed.EmbedInputs]:
    """The text vectors as `params.text_pooling` says, and the inputs with any new drops.

    Args:
        inputs: From `embed.select_inputs`.
        texts: preprocess/texts.parquet (post_id, tokens, ...), for `tokens` pooling.
        params: The `embed` section (text_pooling, text_chunk_chars, text_token_weighting,
            batch_size).
        encoder: The text encoder.
        cache: The per-item cache, or None.
        progress: Show a progress bar on stderr.
        **shards: `run_shards=`, `shard_size=` for `embed.embed_texts` (the executor's shards).

    Returns:
        (ModalityEmbedding, EmbedInputs). For `whole` exactly `embed.embed_texts` and the inputs
        unchanged. Otherwise the matrix is (n pooled posts, dim), and the cache, encode and
        truncation counts are of the pieces; posts with nothing to pool are added to `dropped`.
    """
    if params.text_pooling == "whole":
        return embed.embed_texts(inputs.text_ids, inputs.texts, encoder, cache, params.batch_size,
                                 progress, **shards), inputs
    if params.text_pooling == "chunks":
        plan = plan_chunks(inputs.text_ids, inputs.texts, params.text_chunk_chars)
    else:
        by_post = dict(zip(texts["post_id"].astype(str), texts["tokens"]))
        tags = (dict(zip(texts["post_id"].astype(str), texts["hashtags"]))
                if "hashtags" in texts else {})
        plan = plan_tokens(inputs.text_ids, [list(by_post[p]) for p in inputs.text_ids],
                           params.text_token_weighting,
                           [list(tags.get(p, ())) for p in inputs.text_ids])
    pieces = embed.embed_texts([f"piece{i}" for i in range(len(plan.units))], plan.units,
                               encoder, cache, params.batch_size, progress, **shards)
    log.info("text (%s): %s pooling, %d posts from %d distinct pieces, %d posts dropped",
             encoder.name, params.text_pooling, len(plan.ids), len(plan.units), len(plan.dropped))
    pooled = dataclasses.replace(
        pieces, ids=pd.DataFrame({"post_id": pd.Series(plan.ids, dtype=object)}),
        matrix=pool(plan, pieces.matrix))
    dropped = pd.concat([inputs.dropped, plan.dropped], ignore_index=True)
    kept = set(plan.ids)
    return pooled, dataclasses.replace(
        inputs, text_ids=list(plan.ids), dropped=dropped,
        texts=[t for p, t in zip(inputs.text_ids, inputs.texts) if p in kept])
