"""Typed JSON records round-trip through the files stages write, and a broken one names its key."""

import json

import pytest

from stylecluster import catalog, records, storage
from stylecluster.errors import SchemaError


def _run(**over):
    base = dict(encoder="e5-small", n=3, cache_hits=1, encoded=2, loaded=2, batch_size=32,
                encode_seconds=0.5, wall_seconds=0.9, items_per_s=4.0)
    return records.ModalityRun(**{**base, **over})


def test_embed_run_record_round_trips_through_json(tmp_path):
    rec = records.EmbedRunRecord(image=_run(encoder="efficientnet-lite0", items_per_s=None),
                                 text=_run(), device="cpu", cache={"corrupt_entries": 0})
    storage.write_json(rec.to_json(), tmp_path / "embed.json")
    back = records.EmbedRunRecord.from_json(storage.read_json(tmp_path / "embed.json"), "embed.json")
    assert back == rec
    assert (back.n_cached, back.n_encoded) == (2, 4)


def test_a_missing_or_mistyped_key_names_the_file_and_key():
    data = records.EmbedRunRecord(image=_run(), text=_run(), device="cpu", cache={}).to_json()
    del data["text"]["encoded"]
    with pytest.raises(SchemaError, match=r"logs/embed.json \[text\]: key 'encoded' is missing"):
        records.EmbedRunRecord.from_json(data, "logs/embed.json")
    data = json.loads(json.dumps(records.EmbedRunRecord(image=_run(), text=_run(), device="cpu",
                                                        cache={}).to_json()))
    data["image"]["n"] = "3"
    with pytest.raises(SchemaError, match=r"\[image\] \[n\]: expected int, got '3'"):
        records.EmbedRunRecord.from_json(data, "x")


def test_run_record_goes_to_the_parent_project_inside_a_queued_experiment(tmp_path):
    work, parent = tmp_path / "tmp-exp", tmp_path / "project"
    env = {"DVC_EXP_NAME": "image-umap", "DVC_ROOT": str(parent)}
    got = records.run_record_paths("logs/embed.json", env, work)
    assert got[0].as_posix() == "logs/embed.json"
    assert got[1] == parent / "logs" / "exps" / "image-umap" / "embed.json"
    assert records.run_record_paths("logs/embed.json", env, parent) == [got[0]], "a plain repro"
    assert records.run_record_paths("logs/embed.json", {}, work) == [got[0]]


def test_embed_summary_omits_unset_optional_fields_and_reads_them_back(tmp_path):
    image = records.VectorsSummary(encoder="efficientnet-lite0", cache_key="k1", dim=1280, n=4)
    text = records.VectorsSummary(encoder="e5-small", cache_key="k2", dim=384, n=3,
                                  max_tokens=512, truncated=1)
    rec = records.EmbedSummary(image=image, text=text, dropped={"segment": 1, "preprocess": 2},
                               n_dropped=3, without_image=1, without_text=2)
    path = catalog.EMBED_SUMMARY.path(tmp_path)
    storage.write_json(rec.to_json(), path)
    data = storage.read_artifact(catalog.EMBED_SUMMARY, tmp_path)
    assert sorted(data["image"]) == ["cache_key", "dim", "encoder", "n"]  # no nulls for images
    assert data["text"]["truncated"] == 1
    assert records.EmbedSummary.from_json(data, str(path)) == rec
    del data["text"]["dim"]
    with pytest.raises(SchemaError, match=r"summary.json \[text\].*'dim' is missing"):
        records.EmbedSummary.from_json(data, str(path))


def _segment_summary(**over):
    base = dict(method="auto", min_clothing_share=0.1, pose_gate=False, n_images=3, n_kept=1,
                n_dropped=2,
                dropped_by_reason={"low_clothing_share": 1, "no_pose": 0, "no_image": 0,
                                   "missing": 0, "unreadable": 1, "too_large": 0},
                mask_source={"alpha": 1, "mediapipe": 1, "none": 0},
                kept_by_mask_source={"alpha": 1, "mediapipe": 0, "none": 0},
                clothing_share_mean=0.25,
                clothing_share_quantiles={"min": 0.05, "median": 0.25, "max": 0.45},
                unreadable_post_ids=["p2"])
    return records.SegmentSummary(**{**base, **over})


def test_segment_summary_round_trips_and_a_missing_key_is_named(tmp_path):
    rec = _segment_summary()
    storage.write_artifact(rec.to_json(), catalog.SEGMENT_SUMMARY, tmp_path)
    data = storage.read_artifact(catalog.SEGMENT_SUMMARY, tmp_path)
    where = str(catalog.SEGMENT_SUMMARY.path(tmp_path))
    assert records.SegmentSummary.from_json(data, where) == rec
    assert records.SegmentSummary.from_json(data, where).to_json() == data  # what the report gets
    empty = _segment_summary(n_images=0, n_kept=0, n_dropped=0, clothing_share_mean=None,
                             clothing_share_quantiles={"median": None}, unreadable_post_ids=[])
    assert records.SegmentSummary.from_json(empty.to_json(), where) == empty  # nulls stay written
    assert "clothing_share_mean" in empty.to_json()
    del data["mask_source"]
    with pytest.raises(SchemaError, match=r"/summary.json: key 'mask_source' is missing"):
        records.SegmentSummary.from_json(data, where)
    data = _segment_summary().to_json()
    data["n_kept"] = 1.0
    with pytest.raises(SchemaError, match=r"\[n_kept\]: expected int, got 1.0"):
        records.SegmentSummary.from_json(data, where)


_RESULT = {"expectation": "expect_column_values_to_not_be_null", "column": "post_id",
           "success": True, "blocking": True, "unexpected_count": 0, "examples": [], "fix": "x"}


def test_validation_summary_round_trips_each_shape_the_stage_writes(tmp_path):
    full = records.ValidationSummary(
        n_rows=12, required_columns=["post_id", "content"], success=True, results=[_RESULT],
        n_blocking_failures=0, n_soft_failures=0, n_missing_content=1, n_undated=0,
        n_text_only=2, n_long_captions=0, image_problems=[], n_control_char_cells=0,
        extra_columns=["likes"], n_undated_dropped=0, months={"2024-01": 12},
        source="data/raw/posts.csv")
    path = tmp_path / "reports" / catalog.VALIDATION.name
    storage.write_json(full.to_json(), path)
    data = storage.read_json(path)
    assert records.ValidationSummary.from_json(data, str(path)) == full
    assert "min_posts_failure" not in data  # unset optional fields are not written
    # a required column missing: only the row count, the columns, success and results
    short = records.ValidationSummary(n_rows=3, required_columns=["post_id"], success=False,
                                      results=[{**_RESULT, "success": False}])
    assert sorted(short.to_json()) == ["n_rows", "required_columns", "results", "success"]
    assert records.ValidationSummary.from_json(short.to_json(), str(path)) == short


def test_validation_summary_names_a_missing_or_mistyped_key():
    data = records.ValidationSummary(n_rows=3, required_columns=[], success=True,
                                     results=[]).to_json()
    del data["success"]
    with pytest.raises(SchemaError, match=r"reports/validation.json: key 'success' is missing"):
        records.ValidationSummary.from_json(data, "reports/validation.json")
    data["success"] = "yes"
    with pytest.raises(SchemaError, match=r"\[success\]: expected bool, got 'yes'"):
        records.ValidationSummary.from_json(data, "reports/validation.json")


def test_select_k_record_nullable_fields_are_null_or_typed():
    """hdbscan writes best_k null; a k-means record's best_k is still checked as an int."""
    from stylecluster.config import SelectKParams
    from stylecluster.pipeline.select_k import skipped

    data = skipped(50, SelectKParams(algorithm="hdbscan"), 0).summary
    rec = records.SelectKRecord.from_json(json.loads(json.dumps(data)), "select_k.json")
    assert rec.best_k is None and rec.min_cluster_size == 5 and rec.min_samples is None  # 2% of 50, at least 5
    assert "min_samples" not in rec.to_json()  # unset optional fields are omitted
    with pytest.raises(SchemaError, match=r"select_k.json \[best_k\]: expected int, got '3'"):
        records.SelectKRecord.from_json({**data, "best_k": "3"}, "select_k.json")
