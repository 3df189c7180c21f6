"""Take caption length out of text embeddings before they are reduced (`reduce.text_debias`).

Sentence-encoder vectors share a few dominant directions, and on captions one of them follows the
caption's length: UMAP + k-means on raw e5-small vectors then cut the posts into length bands (issue
13 item 2: one 57% cluster of long captions in the research, length skew 2.1). Two remedies, on
the text block only (the text modality, and the text half of concat before its L2 normalisation):

- `top_pcs`, "all-but-the-top" (Mu & Viswanath 2018): subtract the mean vector and project out the
  top `reduce.text_top_pcs` principal components, the common directions that carry frequency and
  length rather than meaning (their advice: about dim/100, so 3-4 for 384-d);
- `length`: regress the vectors on [1, z, z^2] with z the standardised log(1 + n_chars) and keep
  the residuals, so no linear or quadratic function of log length is left in any coordinate;
- `both`: `length`, then `top_pcs`.

Pure functions on numpy arrays: inputs are never modified.
"""

from __future__ import annotations

import logging

import numpy as np

from stylecluster import catalog
from stylecluster.errors import ConfigError, DataError

log = logging.getLogger(__name__)

DEBIAS = ("none", "top_pcs", "length", "both")
NEEDS_LENGTH = ("length", "both")
LENGTH_DEGREE = 2  # log length and its square: the length trend bends for very short captions


def top_directions(X: np.ndarray, n_pcs: int) -> np.ndarray:
    """The top principal directions of `X` (after subtracting its mean).

    Args:
        X: (n, d) vectors.
        n_pcs: How many directions.

    Returns:
        (n_pcs, d) float64 orthonormal rows, largest variance first.

    Raises:
        DataError: If `n_pcs` is not below min(n, d).
    """
    n, d = X.shape
    if n_pcs >= min(n, d):
        raise DataError(
            f"reduce: reduce.text_top_pcs = {n_pcs} needs more than {n_pcs} text posts and "
            f"dimensions, got {n} posts of {d}-d vectors. Lower reduce.text_top_pcs or set "
            "reduce.text_debias to none or length.")
    centred = np.asarray(X, dtype=np.float64) - X.mean(axis=0)
    # eigh of the d x d scatter matrix: O(n d^2) and d^2 memory, not an n x d SVD copy
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    top = vectors[:, ::-1][:, :n_pcs].T  # (n_pcs, d)
    # eigh's signs are arbitrary; fix them so the result never depends on the LAPACK build
    signs = np.sign(top[np.arange(n_pcs), np.abs(top).argmax(axis=1)])
    return top * signs[:, None]


def remove_top_pcs(X: np.ndarray, n_pcs: int) -> np.ndarray:
    """All-but-the-top: subtract the mean and project out the top principal directions.

    Args:
        X: (n, d) vectors.
        n_pcs: Principal components to remove (`reduce.text_top_pcs`).

    Returns:
        (n, d) float64: mean zero, orthogonal to `top_directions(X, n_pcs)`.

    Raises:
        DataError: If `n_pcs` is not below min(n, d).
    """
    top = top_directions(X, n_pcs)  # (D, d)
    centred = np.asarray(X, dtype=np.float64) - X.mean(axis=0)  # (n, d)
    return centred - (centred @ top.T) @ top


def length_features(n_chars: np.ndarray, degree: int = LENGTH_DEGREE) -> np.ndarray:
    """The regression design [1, z, ..., z^degree], z = standardised log(1 + n_chars).

    Args:
        n_chars: (n,) text lengths, >= 0.
        degree: Highest power of z.

    Returns:
        (n, degree + 1) float64. With all lengths equal z is 0 and only the intercept is left.
    """
    z = np.log1p(np.asarray(n_chars, dtype=np.float64))
    spread = z.std()
    z = (z - z.mean()) / spread if spread > 0 else np.zeros_like(z)
    return np.vander(z, degree + 1, increasing=True)  # (n, degree + 1)


def regress_out_length(X: np.ndarray, n_chars: np.ndarray,
                       degree: int = LENGTH_DEGREE) -> np.ndarray:
    """The residuals of a least-squares fit of the vectors on log length (and its powers).

    Args:
        X: (n, d) vectors.
        n_chars: (n,) text lengths, row-aligned with X.
        degree: Highest power of standardised log length in the fit.

    Returns:
        (n, d) float64 residuals: every column has mean 0 and is uncorrelated with log length
        (and with its powers up to `degree`).

    Raises:
        DataError: If `n_chars` is not one finite, non-negative length per row.
    """
    n_chars = np.asarray(n_chars, dtype=np.float64)
    if n_chars.shape != (X.shape[0],) or not np.isfinite(n_chars).all() or (n_chars < 0).any():
        raise DataError(
            f"reduce: reduce.text_debias needs one finite text length >= 0 per text vector; got "
            f"{n_chars.shape[0] if n_chars.ndim else 0} length(s) for {X.shape[0]} vectors "
            f"({int((~np.isfinite(n_chars)).sum())} missing). Re-run preprocess and embed.")
    design = length_features(n_chars, degree)  # (n, degree + 1)
    if np.ptp(design[:, 1]) == 0:
        log.warning("reduce: every text has the same length; reduce.text_debias 'length' only "
                    "subtracts the mean vector")
    X = np.asarray(X, dtype=np.float64)
    coef, *_ = np.linalg.lstsq(design, X, rcond=None)  # (degree + 1, d)
    return X - design @ coef


def debias_text(X: np.ndarray, n_chars: np.ndarray | None, method: str,
                n_pcs: int) -> np.ndarray:
    """Apply `reduce.text_debias` to a text block.

    Args:
        X: (n, d) text vectors.
        n_chars: (n,) text lengths, row-aligned; needed for `length` and `both` only.
        method: none | top_pcs | length | both.
        n_pcs: `reduce.text_top_pcs`, for `top_pcs` and `both`.

    Returns:
        (n, d) float64 debiased vectors (`X` itself, as float64, for none).

    Raises:
        ConfigError: If `method` is unknown.
        DataError: If lengths are needed but missing or misaligned, or `n_pcs` does not fit.
    """
    if method not in DEBIAS:
        raise ConfigError(f"params.yaml [reduce.text_debias] = {method!r} is not known; choose "
                          f"one of {list(DEBIAS)}.")
    X = np.asarray(X, dtype=np.float64)
    if method in NEEDS_LENGTH:
        if n_chars is None:
            raise DataError(f"reduce: reduce.text_debias = {method!r} needs the text lengths "
                            f"({catalog.TEXTS.label}, --texts) but none were given.")
        X = regress_out_length(X, n_chars)
    if method in ("top_pcs", "both"):
        X = remove_top_pcs(X, n_pcs)
    return X
