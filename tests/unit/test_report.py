"""Report core: tables (monthly shares, top-n), c-TF-IDF keywords, cluster summaries, trend metrics,
edge cases (one month, a one-month cluster) and the stage script end to end on synthetic artifacts.

`make_inputs` / `write_upstream` build tiny synthetic upstream artifacts; test_figures.py and
test_html.py import them from here.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stylecluster import catalog, records, storage
from stylecluster.storage import report_files
from stylecluster.report import keywords
from stylecluster.report import build, changes, trends
from stylecluster.config import ReportParams
from stylecluster.errors import DataError

ROOT = Path(__file__).resolve().parents[2]

# Per synthetic style: caption words (the c-TF-IDF keywords to find) and an image colour.
STYLES = [
    (["连衣裙", "碎花", "法式"], (200, 60, 60)),
    (["西装", "通勤", "干练"], (60, 60, 200)),
    (["卫衣", "运动", "街头"], (60, 180, 60)),
    (["大衣", "羊毛", "复古"], (180, 140, 40)),
    (["牛仔裤", "休闲", "简约"], (120, 60, 160)),
]
SHARED = ["穿搭", "今日", "分享"]  # in every caption: must not become a top keyword


def make_inputs(n: int = 120, months: tuple[str, ...] = ("2024-01", "2024-02", "2024-03",
                                                          "2024-04"),
                k: int = 5, seed: int = 0, labels: bool = True,
                only_month: dict[int, str] | None = None) -> build.ReportInputs:
    """Synthetic upstream artifacts: `n` posts over `months`, `k` clusters (cluster c mostly
    style c % 5), with cluster sizes decreasing with c. `only_month` pins a cluster's posts to one
    month (the other clusters stay spread)."""
    rng = np.random.default_rng(seed)
    weights = np.linspace(2.0, 1.0, k)
    cluster = np.sort(rng.choice(k, size=n, p=weights / weights.sum()))
    cluster = np.bincount(cluster, minlength=k)  # sizes, largest first
    sizes = np.sort(cluster)[::-1]
    cluster = np.repeat(np.arange(k), sizes)
    month = rng.choice(list(months), size=n)
    for c, m in (only_month or {}).items():
        month[cluster == c] = m
    ids = [f"p{i:04d}" for i in range(n)]
    rows, text_rows = [], []
    for i, (pid, c, m) in enumerate(zip(ids, cluster, month)):
        words, _ = STYLES[c % len(STYLES)]
        toks = [*rng.permutation(words).tolist(), *SHARED]
        content = None if i % 17 == 5 else "".join(toks[:4]) + "～<b>好看</b>"
        tags = "#" + " #".join(words[:2])
        rows.append({"post_id": pid, "content": content, "tags": tags,
                     "posted_at": pd.Timestamp(f"{m}-10 12:00", tz="UTC"), "month": m,
                     "image_path": f"images/{pid}.png",
                     "label": STYLES[c % len(STYLES)][0][0] if labels else None})
        text = " ".join(toks)
        text_rows.append({"post_id": pid, "text": text, "tokens": toks,
                          "keywords": [words[0] + words[1], *SHARED[:1]],
                          "n_chars": len(text), "has_text": True, "embed_input": text})
    posts = pd.DataFrame(rows)
    if not labels:
        posts = posts.drop(columns="label")
    texts = pd.DataFrame(text_rows)
    distance = rng.random(n)
    lab = pd.DataFrame({"post_id": ids, "cluster": cluster.astype(np.int64),
                        "distance": distance})
    reps = (lab.sort_values(["cluster", "distance"]).groupby("cluster").head(3)
            .assign(rank=lambda d: d.groupby("cluster").cumcount())
            [["cluster", "rank", "post_id", "distance"]].reset_index(drop=True))
    centres = rng.normal(0, 6, size=(k, 2))
    map2d = (centres[cluster] + rng.normal(0, 1, size=(n, 2))).astype(np.float32)
    ks = np.arange(2, 10)
    sil = 0.3 + 0.15 * np.exp(-((ks - k) ** 2) / 2.0) + 0.01 * rng.random(len(ks))
    curve = pd.DataFrame({"k": ks, "silhouette": sil, "davies_bouldin": 1.5 - sil,
                          "calinski_harabasz": 100 * sil})
    manifest = pd.DataFrame({"post_id": ids + ["x0001", "x0002"],
                             "clothing_share": np.r_[rng.uniform(0.1, 0.6, n), 0.01, np.nan],
                             "person_share": np.r_[rng.uniform(0.2, 0.8, n), 0.5, np.nan],
                             "kept": [True] * n + [False, False],
                             "reason": ["kept"] * n + ["clothing_share 0.010 < 0.05",
                                                       "unreadable image: broken"],
                             "mask_path": [f"masks/{p}.png" for p in ids] + ["", ""],
                             "mask_source": ["mediapipe"] * (n + 1) + [""],
                             "mask_sha256": [f"{i:064x}" for i in range(n)] + ["", ""]})
    dropped = pd.DataFrame({"post_id": ["x0001", "x0002", "x0001", "x0002"],
                            "stage": ["segment", "segment", "reduce", "reduce"],
                            "reason": ["clothing_share 0.010 < 0.05", "unreadable image: broken",
                                       "no image embedding (reduce.modality = image)",
                                       "no image embedding (reduce.modality = image)"]})
    return build.ReportInputs(
        posts=posts, texts=texts, labels=lab, representatives=reps, map2d=map2d,
        map_ids=pd.DataFrame({"post_id": ids}), curve=curve,
        selection={"best_k": k, "prominence": 0.12, "has_peak": True, "rule": "prominence",
                   "warnings": []},
        metrics={"best_k": k, "silhouette": 0.45, "prominence": 0.12,
                 "largest_cluster_share": float(sizes[0] / n), "size_entropy": 0.97,
                 "size_gini": 0.1, "n_tiny_clusters": 0, "mean_month_top_share": 0.3,
                 "worst_month_top_share": 0.4, "length_skew": 1.0, "n_posts_used": n,
                 "n_posts_dropped": 2},
        manifest=manifest,
        segment_summary={"method": "mediapipe", "min_clothing_share": 0.05, "n_images": n + 2,
                         "n_kept": n, "n_dropped": 2,
                         "dropped_by_reason": {"low_clothing_share": 1, "no_pose": 0,
                                               "unreadable": 1}},
        validation={"success": True, "n_rows": n + 2, "n_blocking_failures": 0,
                    "n_soft_failures": 0, "n_missing_content": int(posts["content"].isna().sum()),
                    "months": posts["month"].value_counts().sort_index().to_dict(),
                    "results": [{"expectation": "expect_column_values_to_be_unique",
                                 "column": "post_id", "success": True, "blocking": True,
                                 "unexpected_count": 0, "examples": []}]},
        dropped=[dropped.iloc[:2], dropped.iloc[2:]],  # embed's (segment drops), reduce's
        params={"base": {"seed": 42}, "report": {"top_n": 5},
                "preprocess": {"fields": "both", "user_dict": "<script>x</script>"}},
    )


def fake_image(post_id: str, cluster: int) -> np.ndarray:
    """A masked-looking image: a coloured garment shape on black."""
    img = np.zeros((160, 120, 3), dtype=np.uint8)
    _, colour = STYLES[cluster % len(STYLES)]
    shade = (int(post_id[1:]) * 7) % 60
    img[30:140, 25:95] = np.clip(np.array(colour) + shade, 0, 255)
    return img


def loader(inputs: build.ReportInputs):
    cl = dict(zip(inputs.labels["post_id"], inputs.labels["cluster"]))
    return lambda pid: fake_image(pid, cl[pid]) if pid in cl else None


@functools.lru_cache(maxsize=1)
def _shared_report(base: Path) -> tuple[Path, build.ReportInputs, build.Report]:
    """One report from `make_inputs()`, written under `base` as the stage writes it; cached so that
    test_report, test_figures and test_html (one pytest process) build and render it once."""
    out = base / "shared_report"
    inputs = make_inputs()
    rep = build.build(inputs, ReportParams(exemplars_per_cluster=3), loader(inputs))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "Glyph ... missing from font(s)"
        for name, fig in rep.figures.items():  # as the stage saves them, without clearing
            report_files.write_figure(fig, out / "figures" / name)
    report_files.write_thumbnails(rep.thumbs, out / "thumbs")
    storage.write_csv(rep.monthly, out / catalog.MONTHLY.name)
    storage.write_csv(rep.top_per_month, out / catalog.TOP_PER_MONTH.name)
    storage.write_json(rep.clusters, out / catalog.CLUSTERS.name)
    storage.write_text(rep.html, out / catalog.REPORT_PAGE.name)
    return out, inputs, rep


@pytest.fixture(scope="session")
def shared_report(tmp_path_factory) -> tuple[Path, build.ReportInputs, build.Report]:
    """(output folder, inputs, Report) of the shared synthetic report (see `_shared_report`)."""
    return _shared_report(tmp_path_factory.getbasetemp())


@pytest.fixture()
def built(shared_report) -> tuple[build.ReportInputs, build.Report]:
    return shared_report[1], shared_report[2]


# --- tables ------------------------------------------------------------------------------------

def test_monthly_shares_sum_to_one_and_cover_every_cluster(built):
    inputs, rep = built
    sums = rep.monthly.groupby("month")["share"].sum()
    assert np.allclose(sums, 1.0), f"monthly share sums {sums.to_dict()}"
    assert list(rep.monthly.columns) == ["month", "cluster", "share"]
    assert len(rep.monthly) == 4 * 5, f"{len(rep.monthly)} rows, expected 4 months x 5 clusters"
    # recompute one cell by hand
    t = inputs.labels.merge(inputs.posts[["post_id", "month"]])
    m = t[t["month"] == "2024-02"]
    want = float((m["cluster"] == 1).mean())
    got = float(rep.monthly.query("month == '2024-02' and cluster == 1")["share"].iloc[0])
    assert got == pytest.approx(want), f"share of c1 in 2024-02: {got} vs {want}"


def test_top_per_month_is_ranked_and_consistent_with_monthly(built):
    _, rep = built
    top = rep.top_per_month
    assert list(top.columns) == ["month", "rank", "cluster", "share"]
    for month, g in top.groupby("month"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert g["share"].is_monotonic_decreasing, f"{month}: {g['share'].tolist()}"
        full = rep.monthly[rep.monthly["month"] == month]
        assert g["share"].iloc[0] == pytest.approx(full["share"].max())
    assert top.groupby("month").size().max() <= 5


def test_ctfidf_prefers_distinctive_words_over_shared_ones():
    docs = [["红", "穿搭"], ["红", "穿搭"], ["蓝", "穿搭"], ["蓝", "穿搭", "绿"]]
    scores, words = keywords.ctfidf(docs, np.array([0, 0, 1, 1]), 2)
    s = dict(zip(words, scores[0]))
    assert s["红"] > s["穿搭"] > 0, f"scores class 0: {s}"
    assert s["蓝"] == 0.0 and s["绿"] == 0.0
    empty, none = keywords.ctfidf([[], []], np.array([0, 1]), 2)
    assert empty.shape == (2, 0) and none == []


def test_cluster_keywords_skip_words_in_most_posts():
    table = pd.DataFrame({"cluster": [0, 0, 1, 1],
                          "tokens": [["穿搭", "红色", "a"], ["穿搭", "红色"], ["穿搭", "蓝色"],
                                     ["穿搭", "蓝色"]]})
    assert keywords.cluster_keywords(table, 2, 3) == [["红色"], ["蓝色"]]
    only_common = table.assign(tokens=[["穿搭"]] * 4)
    assert keywords.cluster_keywords(only_common, 2, 3) == [["穿搭"], ["穿搭"]], \
        "with nothing else left, the filter must not empty every list"


def test_tag_keywords_trim_platform_words_and_skip_tags_in_most_posts():
    table = pd.DataFrame({
        "cluster": [0, 0, 0, 1, 1, 1],
        "tokens": [["穿搭", "羽绒服"], ["穿搭"], ["穿搭"], ["穿搭"], ["穿搭"], ["旗袍"]],
        "hashtags": [["羽绒服穿搭", "日常"], ["羽绒服", "日常", "东北"], ["穿搭", "日常", "东北穿搭"],
                     ["改良旗袍", "日常"], ["旗袍", "日常"], ["改良旗袍"]]})
    tags = keywords.tag_keywords(table, 2, 5)
    # 穿搭 is in every post's tokens: trimmed from the tags' ends (#羽绒服穿搭 = #羽绒服) and
    # #穿搭 alone dropped; #日常 is in 5 of 6 posts (> max_df): not a description.
    assert tags == [["羽绒服", "东北"], ["改良旗袍", "旗袍"]], tags
    assert keywords.trim_words("穿搭穿搭羽绒服穿搭", {"穿搭"}) == "羽绒服"
    assert keywords.tag_keywords(table.drop(columns="hashtags"), 2, 5) == [[], []]


def test_auto_names_prefer_hashtags_and_skip_overlapping_words():
    assert trends.name_cluster(3, None, [("hashtags", ["马面裙", "织金马面裙", "国风"]),
                                         ("keywords", ["汉服"])]) == ("马面裙 国风", "hashtags")
    assert trends.name_cluster(3, None, [("hashtags", []), ("keywords", ["汉服", "日常"])]) \
        == ("汉服 日常", "keywords")
    assert trends.name_cluster(3, None, [("hashtags", []), ("keywords", [])]) == ("c3", "id")
    assert trends.name_cluster(3, "通勤", [("hashtags", ["马面裙"])]) == ("通勤", "analyst")


def test_clusters_are_named_by_their_hashtags_everywhere():
    inputs = make_inputs(n=60, k=3, seed=5)
    style_tags = {c: [f"{STYLES[c][0][0]}穿搭", "日常"] for c in range(3)}
    by_post = dict(zip(inputs.labels["post_id"], inputs.labels["cluster"]))
    hashtags = [style_tags[by_post[p]] for p in inputs.texts["post_id"]]
    inputs = dataclasses.replace(inputs, texts=inputs.texts.assign(hashtags=hashtags))
    rep = build.build(inputs, ReportParams(exemplars_per_cluster=2), loader(inputs))
    for entry in rep.clusters["clusters"]:
        style = STYLES[entry["cluster"]][0][0]
        assert (entry["name"], entry["named_by"]) == (style, "hashtags"), entry["name"]
        assert entry["hashtags"][0] == style and "日常" not in entry["hashtags"]
        names = set(rep.membership.loc[rep.membership["cluster"] == entry["cluster"],
                                       "cluster_name"])
        assert names == {style}
        assert f"Cluster c{entry['cluster']} · {style} <small>(auto name: top hashtags)" \
            in rep.html
    legend = [t.get_text() for ax in rep.figures["monthly_proportions.png"].axes
              for leg in [ax.get_legend()] if leg for t in leg.get_texts()]
    assert f"c0 {STYLES[0][0][0]}" in legend, legend


def test_cluster_keywords_recover_each_style(built):
    _, rep = built
    for entry in rep.clusters["clusters"]:
        style_words = set(STYLES[entry["cluster"] % len(STYLES)][0])
        top3 = set(entry["keywords"][:3])
        assert top3 == style_words, f"c{entry['cluster']}: top3 {top3}, style {style_words}"
        assert not set(SHARED) & top3


def test_cluster_entries_have_the_documented_fields(built):
    inputs, rep = built
    entries = rep.clusters["clusters"]
    assert [e["cluster"] for e in entries] == list(range(5))
    assert sum(e["size"] for e in entries) == len(inputs.labels)
    assert sum(e["share"] for e in entries) == pytest.approx(1.0)
    for e in entries:
        assert {"size", "share", "peak_month", "median_chars", "keywords", "examples",
                "majority_label", "purity", "lifetime_months"} <= set(e), sorted(e)
        assert 1 <= len(e["examples"]) <= 10
        assert e["purity"] == pytest.approx(1.0), f"c{e['cluster']} purity {e['purity']}"
        assert e["majority_label"] == STYLES[e["cluster"]][0][0]
        peak = rep.monthly[rep.monthly["cluster"] == e["cluster"]].sort_values(
            ["share", "month"], ascending=[False, True]).iloc[0]
        assert e["peak_month"] == peak["month"]
    # representatives come first among the examples
    reps = inputs.representatives.query("cluster == 0").sort_values("rank")["post_id"].tolist()
    assert [x["post_id"] for x in entries[0]["examples"][:3]] == reps


def test_examples_fall_back_to_tags_when_the_caption_is_missing(built):
    inputs, rep = built
    no_content = set(inputs.posts.loc[inputs.posts["content"].isna(), "post_id"])
    shown = [x for e in rep.clusters["clusters"] for x in e["examples"]
             if x["post_id"] in no_content]
    assert shown, "expected some caption-less post among the examples"
    assert all(x["text"].startswith("#") for x in shown), shown


def test_trends_metrics(built):
    _, rep = built
    t = rep.trends
    assert t["n_months"] == 4 and t["top_n"] == 5
    assert t["top_n_coverage_mean"] == pytest.approx(1.0), "5 clusters, top 5: full coverage"
    assert t["top_n_turnover_mean"] == pytest.approx(0.0)
    assert t["label_purity"] == pytest.approx(1.0)
    assert t["n_clusters_in_every_month"] == 5


def test_drops_list_every_source(built):
    _, rep = built
    sources = set(rep.drops["source"])
    assert {"validate", "segment", "preprocess", "embed (segment)", "reduce", "cluster"} <= sources
    reduce_rows = rep.drops[rep.drops["source"] == "reduce"]
    assert reduce_rows["n_posts"].sum() == 2


def test_single_month_dataset():
    inputs = make_inputs(n=30, months=("2024-05",), k=3, seed=1)
    rep = build.build(inputs, ReportParams(exemplars_per_cluster=1), loader(inputs))
    assert rep.monthly["month"].unique().tolist() == ["2024-05"]
    assert rep.monthly["share"].sum() == pytest.approx(1.0)
    assert rep.trends["top_n_turnover_mean"] is None
    assert set(rep.figures) >= {"timelines.png", "exemplars_2024-05.png"}
    assert all(e["peak_month"] == "2024-05" and e["lifetime_months"] == 1
               for e in rep.clusters["clusters"])


def test_cluster_that_exists_in_one_month_only():
    months = ("2024-01", "2024-02", "2024-03")
    inputs = make_inputs(n=60, months=months, k=4, seed=2, only_month={3: "2024-02"})
    rep = build.build(inputs, ReportParams(top_n=3, exemplars_per_cluster=1), loader(inputs))
    c3 = rep.monthly[rep.monthly["cluster"] == 3].set_index("month")["share"]
    assert c3["2024-01"] == 0 and c3["2024-03"] == 0 and c3["2024-02"] > 0, c3.to_dict()
    entry = rep.clusters["clusters"][3]
    assert entry["peak_month"] == "2024-02" and entry["months_present"] == 1
    assert entry["lifetime_months"] == 1
    assert rep.trends["n_clusters_in_every_month"] == 3
    assert np.allclose(rep.monthly.groupby("month")["share"].sum(), 1.0)
    assert rep.top_per_month.groupby("month").size().max() == 3


def test_month_range_fills_gaps():
    assert trends.month_range(["2024-03", "2023-12", "2024-01"]) == [
        "2023-12", "2024-01", "2024-02", "2024-03"]


def test_labels_naming_unknown_posts_are_rejected():
    inputs = make_inputs(n=30, k=3)
    bad = inputs.labels.copy()
    bad.loc[0, "post_id"] = "ghost"
    with pytest.raises(DataError, match=r"1 clustered post\(s\) are not in .*ghost"):
        trends.join_posts(bad, inputs.posts, inputs.texts)
    with pytest.raises(DataError, match="cluster/labels.parquet has no rows"):
        trends.join_posts(bad.iloc[:0], inputs.posts, inputs.texts)


def test_report_params_reject_bad_values():
    from stylecluster.config import load_section
    from stylecluster.errors import ConfigError

    with pytest.raises(ConfigError, match=r"report.n_keywords"):
        load_section({"report": {"n_keywords": 0}}, "report")


# --- the stage script end to end -----------------------------------------------------------------

def _as_written(record: type[records.Record], partial: dict, filler: dict) -> dict:
    """`partial` (the in-process inputs) completed to what the writing stage puts in the file."""
    return record(**{**filler, **partial}).to_json()


SEGMENT_FILLER = {"method": "mediapipe", "min_clothing_share": 0.05, "pose_gate": False,
                  "n_images": 0, "n_kept": 0, "n_dropped": 0, "dropped_by_reason": {},
                  "mask_source": {"alpha": 0, "mediapipe": 0, "none": 0},
                  "kept_by_mask_source": {"alpha": 0, "mediapipe": 0, "none": 0},
                  "clothing_share_mean": None, "clothing_share_quantiles": {},
                  "unreadable_post_ids": []}
VALIDATION_FILLER = {"n_rows": 0, "required_columns": ["post_id", "content", "tags", "posted_at",
                                                       "image_path"],
                     "success": True, "results": []}


def write_upstream(root: Path, inputs: build.ReportInputs) -> dict[str, Path]:
    """Write `inputs` in the upstream stages' file layout under `root`; return the path flags.

    The segment summary and validation report are completed to full records (the report stage
    reads them as `records.SegmentSummary` / `records.ValidationSummary`)."""
    paths = {"posts": catalog.POSTS.path(root / "validate"),
             "validation": catalog.VALIDATION.path(root / "reports"),
             "segment": root / "segment", "texts": catalog.TEXTS.path(root / "preprocess"),
             "embed": root / "embed", "reduce": root / "reduce", "select": root / "select_k",
             "cluster": root / "cluster", "metrics": catalog.METRICS.path(root / "reports"),
             "out": root / "reports"}
    storage.write_table(inputs.posts, paths["posts"], catalog.POSTS.schema)
    storage.write_json(_as_written(records.ValidationSummary, dict(inputs.validation),
                                   VALIDATION_FILLER), paths["validation"])
    storage.write_artifact(inputs.manifest, catalog.SEGMENT_MANIFEST, paths["segment"])
    storage.write_artifact(_as_written(records.SegmentSummary, dict(inputs.segment_summary),
                                       SEGMENT_FILLER), catalog.SEGMENT_SUMMARY, paths["segment"])
    cl = dict(zip(inputs.labels["post_id"], inputs.labels["cluster"]))
    for pid, rel in zip(inputs.manifest["post_id"], inputs.manifest["mask_path"]):
        if rel:
            storage.write_image(fake_image(pid, cl[pid]), paths["segment"] / rel)
    storage.write_table(inputs.texts, paths["texts"], catalog.TEXTS.schema)
    embed_dropped, reduce_dropped = inputs.dropped
    storage.write_artifact(embed_dropped, catalog.EMBED_DROPPED, paths["embed"])
    storage.write_artifact(reduce_dropped, catalog.REDUCE_DROPPED, paths["reduce"])
    storage.write_artifact(inputs.map2d, catalog.MAP2D, paths["reduce"])
    storage.write_artifact(inputs.map_ids, catalog.FEATURE_IDS, paths["reduce"])
    storage.write_artifact(inputs.curve, catalog.SILHOUETTE, paths["select"])
    storage.write_artifact(dict(inputs.selection), catalog.SELECT_K, paths["select"])
    storage.write_artifact(inputs.labels, catalog.LABELS, paths["cluster"])
    storage.write_artifact(inputs.representatives, catalog.REPRESENTATIVES, paths["cluster"])
    storage.write_json(dict(inputs.metrics), paths["metrics"])
    return paths


# --- names and membership ------------------------------------------------------------------------

def test_membership_lists_every_clustered_post_with_its_cluster_name(built, tmp_path):
    inputs, rep = built
    m = rep.membership
    assert list(m.columns[:9]) == ["post_id", "posted_at", "month", "cluster", "cluster_name",
                                   "distance", "content", "tags", "image_path"]
    assert "label" in m.columns  # every other column the posts carry comes along
    assert sorted(m["post_id"]) == sorted(inputs.labels["post_id"])
    assert m["cluster"].is_monotonic_increasing
    names = {c["cluster"]: c["name"] for c in rep.clusters["clusters"]}
    assert (m["cluster_name"] == m["cluster"].map(names)).all()
    assert m["posted_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    # the stage's two exports: a CSV Excel opens as UTF-8 (BOM) and an .xlsx sheet
    storage.write_csv(m, tmp_path / "p.csv", excel=True)
    assert (tmp_path / "p.csv").read_bytes().startswith(b"\xef\xbb\xbfpost_id,")
    report_files.write_table_xlsx(m, tmp_path / "p.xlsx")
    back = pd.read_excel(tmp_path / "p.xlsx", sheet_name="posts")
    assert back["cluster_name"].tolist() == m["cluster_name"].tolist()


def test_membership_xlsx_is_byte_stable_and_matches_the_csv(built, tmp_path):
    import time
    import zipfile

    _, rep = built
    m = rep.membership.copy()
    m.loc[0, "content"] = "=SUM(1,2) 羽绒服\x0b好看"  # formula-like text, a control character
    m["tags"] = [np.array(["大衣", "通勤"], dtype=object)] + [["羽绒服"]] * (len(m) - 1)
    storage.write_csv(m, tmp_path / "p.csv", excel=True)
    report_files.write_table_xlsx(m, tmp_path / "a.xlsx")
    time.sleep(1.1)  # openpyxl's own stamps are to the second
    report_files.write_table_xlsx(m, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {report_files.ZIP_STAMP}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core and str(time.gmtime().tm_year) not in core
    csv = pd.read_csv(tmp_path / "p.csv", encoding="utf-8-sig")
    back = pd.read_excel(tmp_path / "a.xlsx", sheet_name="posts")
    assert list(back.columns) == list(csv.columns) == list(m.columns)
    assert len(back) == len(csv) == len(m)
    assert back["cluster_name"].tolist() == csv["cluster_name"].tolist()
    assert back["post_id"].astype(str).tolist() == csv["post_id"].astype(str).tolist()
    assert back["tags"].tolist() == csv["tags"].tolist()  # lists: the text the CSV shows
    assert back["tags"][0] == "['大衣' '通勤']" and back["tags"][1] == "['羽绒服']"
    assert back["content"][1:].tolist() == csv["content"][1:].tolist()  # the Chinese captions
    assert back["content"][0] == "=SUM(1,2) 羽绒服好看"  # text, not a formula; \x0b dropped
    from openpyxl import load_workbook
    ws = load_workbook(tmp_path / "a.xlsx")["posts"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.b


def test_analyst_names_are_used_in_tables_figures_and_page(caplog):
    inputs = make_inputs(n=60, k=3, seed=5)
    params = ReportParams(exemplars_per_cluster=2, cluster_names={0: "羽绒服", 9: "不存在"})
    with caplog.at_level("WARNING"):
        rep = build.build(inputs, params, loader(inputs))
    first, second = rep.clusters["clusters"][:2]
    assert (first["name"], first["named_by"]) == ("羽绒服", "analyst")
    assert second["named_by"] == "keywords" and second["name"] == " ".join(second["keywords"][:2])
    assert "names cluster(s) [9], but there are only 3 clusters" in caplog.text
    assert set(rep.membership.loc[rep.membership["cluster"] == 0, "cluster_name"]) == {"羽绒服"}
    assert "Cluster c0 · 羽绒服" in rep.html and "c0 羽绒服 (" in rep.html  # card and top table
    legend = [t.get_text() for ax in rep.figures["monthly_proportions.png"].axes
              for leg in [ax.get_legend()] if leg for t in leg.get_texts()]
    assert any("羽绒服" in t for t in legend), legend


def test_unassigned_posts_are_their_own_row_never_a_style():
    """HDBSCAN's noise (cluster -1) in the labels: counted and named "unassigned" in the tables,
    figures, page and export, never ranked in the top-n and never given a card."""
    inputs = make_inputs(n=90, months=("2024-01", "2024-02", "2024-03"), k=3, seed=6)
    labels = inputs.labels.copy()
    noise = labels.index[::6]  # 15 posts, in every month and every former cluster
    labels.loc[noise, "cluster"] = -1
    labels.loc[noise, "distance"] = np.nan
    reps = inputs.representatives[~inputs.representatives["post_id"].isin(
        labels.loc[noise, "post_id"])]
    metrics = {**inputs.metrics, "n_unassigned": len(noise),
               "unassigned_share": len(noise) / len(labels)}
    inputs = dataclasses.replace(inputs, labels=labels, representatives=reps, metrics=metrics)
    rep = build.build(inputs, ReportParams(top_n=5, exemplars_per_cluster=1), loader(inputs))
    monthly = rep.monthly
    assert set(monthly["cluster"]) == {-1, 0, 1, 2}
    assert np.allclose(monthly.groupby("month")["share"].sum(), 1.0)
    assert (rep.top_per_month["cluster"] >= 0).all(), rep.top_per_month
    assert rep.top_per_month.groupby("month").size().max() == 3  # 3 styles, unassigned not ranked
    assert [c["cluster"] for c in rep.clusters["clusters"]] == [0, 1, 2]
    assert rep.clusters["n_unassigned"] == 15 and rep.clusters["n_clusters"] == 3
    shares = sum(c["share"] for c in rep.clusters["clusters"]) + rep.clusters["unassigned_share"]
    assert shares == pytest.approx(1.0)
    m = rep.membership
    assert (m.loc[m["cluster"] == -1, "cluster_name"] == "unassigned").all()
    assert m["cluster"].tail(15).eq(-1).all() and m["cluster"].head(75).ge(0).all()
    assert "Cluster c-1" not in rep.html and "15 unassigned" in rep.html
    assert "<th>unassigned</th>" in rep.html  # the monthly table's column
    legend = [t.get_text() for ax in rep.figures["monthly_proportions.png"].axes
              for leg in [ax.get_legend()] if leg for t in leg.get_texts()]
    assert "unassigned" in legend, legend
    timeline = rep.figures["timelines.png"].axes[0]
    assert len(timeline.get_yticklabels()) == 3  # styles only
    assert "15 unassigned" in rep.figures["map2d.png"].axes[0].get_title()
    assert not any(n.startswith("c-1_") for n in rep.thumbs), "no card thumbnails for noise"


# --- the summary band's trend tables (hand-made frames) ------------------------------------------

def _posts_table(per_month: dict[str, list[int]]) -> pd.DataFrame:
    """A join_posts-like table: for each month, `per_month[month][c]` posts of cluster c."""
    rows = [{"month": m, "cluster": c} for m, sizes in per_month.items()
            for c, n in enumerate(sizes) for _ in range(n)]
    return pd.DataFrame(rows).astype({"cluster": np.int64})


def test_monthly_counts_keep_zero_rows_and_match_the_shares():
    table = _posts_table({"2024-01": [6, 4, 0], "2024-02": [1, 1, 2]})
    counts = changes.monthly_counts(table, 3)
    assert list(counts.columns) == ["month", "cluster", "n_posts", "month_posts", "share"]
    assert len(counts) == 6, "every cluster gets a row in every month, zeros included"
    jan = counts[counts["month"] == "2024-01"].set_index("cluster")
    assert jan["n_posts"].tolist() == [6, 4, 0] and set(jan["month_posts"]) == {10}
    assert jan.loc[2, "share"] == 0.0
    shares = trends.monthly_proportions(table, 3)
    assert np.allclose(counts["share"], shares["share"]), "counts and proportions disagree"


def test_pp_change_is_in_percentage_points():
    counts = changes.monthly_counts(_posts_table({"2024-01": [5, 5], "2024-02": [8, 2]}), 2)
    change = changes.pp_change(counts, "2024-01", "2024-02").set_index("cluster")
    assert change.loc[0, "change_pp"] == pytest.approx(30.0)  # 50% -> 80%
    assert change.loc[1, "change_pp"] == pytest.approx(-30.0)
    assert change.loc[0, ["previous_posts", "last_posts"]].tolist() == [5, 8]


def test_movers_rank_by_change_and_skip_small_months():
    counts = changes.monthly_counts(_posts_table({
        "2024-01": [10, 10, 10],   # 30 posts
        "2024-02": [15, 10, 0],    # 25 posts; cluster 2 has none this month
        "2024-03": [0, 0, 5],      # 5 posts: below min_month_posts, left out
    }), 3)
    mv = changes.movers(counts, min_month_posts=20)
    assert (mv.previous, mv.last, mv.skipped) == ("2024-01", "2024-02", ["2024-03"])
    assert mv.table["cluster"].tolist() == [0, 1, 2], mv.table
    got = dict(zip(mv.table["cluster"], mv.table["change_pp"]))
    assert got[0] == pytest.approx(100 * (15 / 25 - 1 / 3))
    assert got[1] == pytest.approx(100 * (10 / 25 - 1 / 3))
    assert got[2] == pytest.approx(-100 / 3), "a cluster with zero posts falls by its whole share"
    assert mv.table.loc[mv.table["cluster"] == 2, "last_posts"].item() == 0
    # with every month counted, the small last month is the one compared
    assert changes.movers(counts, min_month_posts=1).last == "2024-03"


def test_movers_ties_go_to_the_lower_cluster_id():
    counts = changes.monthly_counts(_posts_table({"2024-01": [2, 2, 4], "2024-02": [3, 3, 2]}), 3)
    assert changes.movers(counts, 1).table["cluster"].tolist() == [0, 1, 2]


def test_movers_need_two_counted_months():
    one = changes.monthly_counts(_posts_table({"2024-05": [3, 2]}), 2)
    mv = changes.movers(one, 1)
    assert (mv.previous, mv.last) == (None, "2024-05") and mv.table.empty
    small = changes.monthly_counts(_posts_table({"2024-01": [3, 2], "2024-02": [1, 4]}), 2)
    mv = changes.movers(small, min_month_posts=20)
    assert (mv.previous, mv.last) == (None, None) and mv.table.empty
    assert list(mv.table.columns) == ["cluster", "previous_share", "last_share",
                                      "previous_posts", "last_posts", "change_pp"]


def test_cluster_trends_peak_change_and_edge_cases():
    counts = changes.monthly_counts(_posts_table({
        "2024-01": [10, 10, 0],
        "2024-02": [5, 15, 0],
        "2024-03": [1, 1, 8],      # 10 posts: too small at min_month_posts 20
        "2024-04": [10, 10, 0],
    }), 3)
    t = changes.cluster_trends(counts, min_month_posts=20).set_index("cluster")
    assert t.loc[0, "months"] == ["2024-01", "2024-02", "2024-04"]
    assert t.loc[0, "peak_month"] == "2024-01", "ties: the earliest month"
    assert t.loc[1, "peak_month"] == "2024-02" and t.loc[1, "peak_share"] == pytest.approx(0.75)
    assert t.loc[1, "change_pp"] == pytest.approx(-25.0)  # 75% -> 50%, 2024-03 skipped
    assert t.loc[2, "peak_month"] is None and t.loc[2, "peak_share"] == 0.0, \
        "a cluster only in a small month has no peak among the counted months"
    assert t.loc[2, "shares"] == [0.0, 0.0, 0.0]
    single = changes.cluster_trends(changes.monthly_counts(_posts_table({"2024-05": [3, 1]}), 2), 20)
    assert single["months"].iloc[0] == ["2024-05"], "no month counts: fall back to all months"
    assert single["change_pp"].isna().all() and single["peak_month"].tolist() == ["2024-05"] * 2


def test_build_returns_the_summary_pieces(built):
    inputs, rep = built
    assert "small_multiples.png" in rep.figures
    k = rep.clusters["n_clusters"]
    names = sorted(rep.thumbs)
    assert names and all(n.endswith(".jpg") for n in names)
    for c in range(k):  # up to 4 per cluster, numbered from 1
        mine = sorted(n for n in names if n.startswith(f"c{c}_"))
        assert mine == [f"c{c}_{i}.jpg" for i in range(1, len(mine) + 1)] and len(mine) <= 4
        assert all(f'src="thumbs/{n}"' in rep.html for n in mine)
    img = rep.thumbs[names[0]]
    assert img.dtype == np.uint8 and img.ndim == 3 and max(img.shape[:2]) <= 240
    assert 'id="summary"' in rep.html
    assert rep.html.index('id="summary"') < rep.html.index('id="selection"') \
        < rep.html.index('id="metrics"') < rep.html.index('id="params"'), \
        "the summary band opens the page; metrics and params close it"
