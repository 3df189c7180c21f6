"""The notebook API: the pipeline's steps on in-memory arrays, without DVC or params.yaml.

Thin wrappers over the same cores the stages call (`pipeline.select_k`, `pipeline.final`,
`pipeline.embed`, `report.trends`, the encoder registry); nothing here is a second
implementation. Params are given as keyword arguments or a mapping (or a params dataclass) and
built through `config.load_section`, so an unknown key, a wrong type or an out-of-range value
fails with the same message a params file gets, naming the key and what is allowed.

    >>> from stylecluster import api
    >>> sel = api.select_k(X, k_min=2, k_max=12)           # or params={"k_max": 12}
    >>> res = api.cluster(X, sel)                           # at the chosen k
    >>> res = api.cluster(X, algorithm="hdbscan", min_cluster_size=10)
    >>> tr = api.trends(res.labels["cluster"], dates, top_n=5)

README.md, "Python API", has a runnable example (a unit test executes it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stylecluster import config
from stylecluster.paramtypes import as_plain

__all__ = ["Clustering", "Trends", "cluster", "embed_images", "embed_texts", "make_params",
           "select_k", "trends"]

DEFAULT_SEED = 42  # base.seed's default


def make_params(section: str, params: Any = None, **kwargs: Any) -> Any:
    """The typed, validated params of one params.yaml section, from a mapping and/or keywords.

    Args:
        section: A params section, e.g. "select_k", "cluster", "report", "embed".
        params: None, a mapping of that section's keys, or its params dataclass.
        **kwargs: Keys of the section; they override `params`.

    Returns:
        The section's frozen params dataclass (e.g. `config.SelectKParams`).

    Raises:
        ConfigError: An unknown key, a wrong type or an out-of-range value, named as in a
            params file (`[select_k.k_max] = 1 is not allowed: expected ...`).
    """
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        if not kwargs:
            return params
        params = as_plain(params)
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params for {section!r} must be a mapping or a params dataclass, got "
                        f"{type(params).__name__}")
    merged = {**(params or {}), **kwargs}
    return config.load_section({section: merged}, section,
                               where="the keyword arguments")


def _ids(n: int, ids: Sequence[str] | pd.DataFrame | None) -> pd.DataFrame:
    """A post_id table for `n` rows: `ids` as given, or "0".."n-1"."""
    if ids is None:
        return pd.DataFrame({"post_id": [str(i) for i in range(n)]})
    if isinstance(ids, pd.DataFrame):
        return ids[["post_id"]].reset_index(drop=True)
    return pd.DataFrame({"post_id": [str(i) for i in ids]})


def select_k(features: np.ndarray, params: Any = None, *, ids: Sequence[str] | None = None,
             seed: int = DEFAULT_SEED, **kwargs: Any) -> Any:
    """Score every k of the range and choose one, as the select_k stage does.

    Args:
        features: (n, d) array (e.g. data/interim/reduce/features.npy).
        params: `select_k` params: a mapping, `config.SelectKParams` or None (defaults).
        ids: n post ids (default "0".."n-1").
        seed: base.seed, the random_state of every random step.
        **kwargs: select_k keys (k_min, k_max, algorithm, rule, ...), overriding `params`.

    Returns:
        `pipeline.select_k.SelectKResult`: `curve` (one row per k: k, silhouette,
        davies_bouldin, calinski_harabasz[, silhouette_std, stability, stability_std]),
        `summary` (select_k.json's mapping: best_k, chosen_by, has_peak, ...) and `labelings`
        ((len(ks), n) labels). With algorithm "hdbscan" nothing is scored: an empty curve and
        best_k None.

    Raises:
        ConfigError: A bad param. DataError: NaN rows, identical rows or too few posts.
    """
    from stylecluster.pipeline import select_k as core

    p = make_params("select_k", params, **kwargs)
    features = np.asarray(features, dtype=np.float32)
    return core.select_k(features, _ids(len(features), ids), p, random_state=seed)


@dataclass(frozen=True)
class Clustering:
    """The final clustering of `api.cluster`.

    Attributes:
        labels: One row per post, in input order: post_id, cluster (0 = largest; -1 =
            unassigned, HDBSCAN's noise), distance (to its cluster's centre; NaN if unassigned).
        representatives: cluster, rank (0 = closest to the centre), post_id, distance.
        centers: (k, d) float32 cluster means.
        silhouette: Mean silhouette of the assigned posts.
        metrics: What reports/metrics.json would hold (n_clusters, largest_cluster_share,
            n_unassigned, unassigned_share, ...; month balance only when `dates` were given).
        selection: The select_k.json mapping the clustering was run from.
    """

    labels: pd.DataFrame
    representatives: pd.DataFrame
    centers: np.ndarray
    silhouette: float
    metrics: dict[str, Any]
    selection: dict[str, Any]


def cluster(features: np.ndarray, selection: Any = None, *, n_clusters: int | None = None,
            ids: Sequence[str] | None = None, dates: Sequence[Any] | None = None,
            timezone: str = "Asia/Shanghai", seed: int = DEFAULT_SEED, params: Any = None,
            n_representatives: int = 10, **kwargs: Any) -> Clustering:
    """The final clustering, as the cluster stage runs it (pipeline.final.cluster_posts).

    Args:
        features: (n, d) array, row-aligned with `ids`.
        selection: An `api.select_k` result (or its select_k.json mapping): cluster at its best_k
            with its algorithm. None: build one from `params`/`kwargs` (hdbscan needs nothing
            more; a k-based algorithm needs `n_clusters`, else select_k runs first).
        n_clusters: A fixed k (cluster.n_clusters); must be None with hdbscan.
        ids: n post ids (default "0".."n-1").
        dates: n timestamps (for the month balance metrics); see `trends`.
        timezone: The zone of naive `dates` and of the months.
        seed: base.seed.
        params: `select_k` params (algorithm, n_init, min_cluster_size, ...), used when
            `selection` is None.
        n_representatives: Posts kept per cluster (cluster.n_representatives).
        **kwargs: select_k keys, overriding `params`.

    Returns:
        A Clustering.

    Raises:
        ConfigError: A bad param, or n_clusters with hdbscan. DataError: data that cannot support
            the clustering (the message names the setting to change).
    """
    from stylecluster.pipeline import final
    from stylecluster.pipeline import select_k as core
    from stylecluster.pipeline.cluster import DENSITY_ALGORITHMS
    from stylecluster.records import SelectKRecord

    features = np.asarray(features, dtype=np.float32)
    table = _ids(len(features), ids)
    if selection is None:
        p = make_params("select_k", params, **kwargs)
        if p.algorithm in DENSITY_ALGORITHMS or n_clusters is not None:
            summary = core.skipped(len(features), p, seed).summary
            if p.algorithm not in DENSITY_ALGORITHMS:
                summary = {**summary, "chosen_by": "n_clusters", "warnings": []}
        else:
            summary = core.select_k(features, table, p, random_state=seed).summary
    else:
        if kwargs or params is not None:
            raise TypeError("cluster: pass select_k params or a selection, not both (the "
                            "selection already fixes the algorithm and its settings)")
        summary = dict(getattr(selection, "summary", selection))
    record = SelectKRecord.from_json(summary, "the selection passed to api.cluster")
    cparams = make_params("cluster", n_clusters=n_clusters, n_representatives=n_representatives)
    posts = table.assign(month=None if dates is None else months(dates, timezone).to_numpy())
    result = final.cluster_posts(features, table, record, cparams, posts, None,
                                 random_state=seed)
    c = result.clusters
    return Clustering(c.labels, c.representatives, c.centers, result.silhouette,
                      result.metrics, summary)


def months(dates: Sequence[Any], timezone: str = "Asia/Shanghai") -> pd.Series:
    """The "YYYY-MM" month key of each date (None where missing), as validate computes it.

    Args:
        dates: Timestamps, or strings pandas.to_datetime reads; naive ones are in `timezone`.
        timezone: A tz database name; months are calendar months in this zone.
    """
    from stylecluster import dates as dates_mod

    zone = dates_mod.check_timezone(timezone, "timezone")
    stamps = pd.to_datetime(pd.Series(list(dates)), format="mixed")
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    return dates_mod.month_key(stamps.dt.tz_convert("UTC"), zone)


@dataclass(frozen=True)
class Trends:
    """Monthly style shares of `api.trends`.

    Attributes:
        monthly: month, cluster, share: every cluster in every month with posts (0.0 where
            absent); shares sum to 1 per month; cluster -1 (unassigned) only when present.
        top: month, rank (1 = largest), cluster, share: the top_n styles per month
            (unassigned never ranked).
        n_undated: Posts without a date, left out of both tables.
    """

    monthly: pd.DataFrame
    top: pd.DataFrame
    n_undated: int


def trends(labels: Sequence[int] | pd.Series, dates: Sequence[Any], *, top_n: int = 5,
           timezone: str = "Asia/Shanghai") -> Trends:
    """Monthly shares and the top-n styles per month from cluster labels and post dates, with the
    report stage's functions (report.trends.monthly_proportions, top_per_month).

    Args:
        labels: (n,) cluster per post (0..k-1; -1 unassigned), e.g. `Clustering.labels["cluster"]`.
        dates: (n,) timestamps; see `months`.
        top_n: Styles per month in `top` (report.top_n).
        timezone: The zone of naive dates and of the months.

    Raises:
        ValueError: If labels and dates differ in length. DataError: If no post is dated.
    """
    from stylecluster.errors import DataError
    from stylecluster.report import trends as core

    top_n = make_params("report", top_n=top_n).top_n
    cl = np.asarray(labels, dtype=np.int64)
    month = months(dates, timezone)
    if len(cl) != len(month):
        raise ValueError(f"trends: {len(cl)} labels but {len(month)} dates")
    table = pd.DataFrame({"cluster": cl, "month": month.to_numpy()})
    dated = table[table["month"].notna()]
    if dated.empty:
        raise DataError("trends: no post has a date; pass the posts' timestamps as `dates`.")
    monthly = core.monthly_proportions(dated, int(cl.max()) + 1 if (cl >= 0).any() else 0)
    return Trends(monthly, core.top_per_month(monthly, top_n), int(len(table) - len(dated)))


def _encoder(modality: str, encoder: str | None, model_path: str | None, device: str,
             params: Any) -> Any:
    """Build a registered encoder through the embed section's validated params."""
    from stylecluster import encoders
    from stylecluster.errors import ConfigError

    if encoder is None:
        encoder = ("sentence-transformers" if modality == "text" else "chinese-clip") \
            if model_path else getattr(config.EmbedParams(), f"{modality}_encoder")
    base = as_plain(params) if dataclasses.is_dataclass(params) else dict(params or {})
    options = {k: dict(v) for k, v in (base.pop("options", None) or {}).items()}
    if model_path is not None:
        cls = encoders.option_classes().get(encoder)
        keys = [f.name for f in dataclasses.fields(cls)] if cls else []
        key = next((k for k in ("path", "checkpoint") if k in keys), None)
        if key is None:
            raise ConfigError(
                f"embed: encoder {encoder!r} takes no model path (it loads its bundled weights); "
                "encoders that take one: sentence-transformers and chinese-clip (a folder), "
                "imagebind (a checkpoint file).")
        options.setdefault(encoder, {})[key] = str(model_path)
    p = make_params("embed", base, **{f"{modality}_encoder": encoder}, device=device,
                    options=options)
    encoders.check_params(p, "the keyword arguments")
    return encoders.get_encoder(encoder, modality, p)  # type: ignore[arg-type]


def embed_texts(texts: Sequence[str], encoder: str | None = None, *,
                model_path: str | None = None, device: str = "cpu", batch_size: int = 32,
                params: Any = None) -> Any:
    """Embed texts with a registered encoder or a local model folder (pipeline.embed.embed_texts).

    Args:
        texts: n texts (e.g. texts.parquet's embed_input).
        encoder: A registered text encoder (e5-small, use-multilingual, sentence-transformers,
            imagebind, chinese-clip; hash is a test stand-in). None: e5-small, or
            sentence-transformers when `model_path` is given.
        model_path: A local model folder (or ImageBind checkpoint) for encoders that take one.
        device: cpu | cuda.
        batch_size: Texts encoded together.
        params: More `embed` keys (e.g. {"options": {...}}).

    Returns:
        `pipeline.embed.ModalityEmbedding`: `matrix` (n, dim) float32, rows L2-normalised;
        `ids` ("0".."n-1"); `encoder`, `n_truncated` (texts cut to the token limit).

    Raises:
        ConfigError: An unknown encoder or option. BackendError: Its package or weights missing.
    """
    from stylecluster.pipeline import embed as core

    enc = _encoder("text", encoder, model_path, device, params)
    texts = [str(t) for t in texts]
    return core.embed_texts([str(i) for i in range(len(texts))], texts, enc, None, batch_size)


def embed_images(images: Sequence[Any], encoder: str | None = None, *,
                 model_path: str | None = None, device: str = "cpu", batch_size: int = 32,
                 params: Any = None) -> Any:
    """Embed images with a registered encoder or a local model folder (pipeline.embed.embed_images).

    Args:
        images: n images: PIL images, (H, W, 3) uint8 arrays or file paths.
        encoder: A registered image encoder (efficientnet-lite0, imagebind, chinese-clip; hash is
            a test stand-in). None: efficientnet-lite0, or chinese-clip with `model_path`.
        model_path, device, batch_size, params: As in `embed_texts`.

    Returns:
        `pipeline.embed.ModalityEmbedding` with `matrix` (n, dim) float32.
    """
    from PIL import Image

    from stylecluster import storage
    from stylecluster.pipeline import embed as core

    enc = _encoder("image", encoder, model_path, device, params)
    items = list(images)

    def load(i: int) -> Image.Image:
        item = items[i]
        if isinstance(item, Image.Image):
            return item.convert("RGB")
        if isinstance(item, np.ndarray):
            return Image.fromarray(item).convert("RGB")
        return storage.read_image(item)  # decoded as the embed stage decodes masks

    return core.embed_images([str(i) for i in range(len(items))], load, enc, None, batch_size)
