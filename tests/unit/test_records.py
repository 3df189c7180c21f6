"""Typed JSON records round-trip through the files stages write, and a broken one names its key."""

import json

import pytest

from stylecluster import records, storage
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
    storage.write_json(rec.to_json(), tmp_path / "summary.json")
    data = storage.read_json(tmp_path / "summary.json")
    assert sorted(data["image"]) == ["cache_key", "dim", "encoder", "n"]  # no nulls for images
    assert data["text"]["truncated"] == 1
    assert records.EmbedSummary.from_json(data, "summary.json") == rec
    del data["text"]["dim"]
    with pytest.raises(SchemaError, match=r"summary.json \[text\].*'dim' is missing"):
        records.EmbedSummary.from_json(data, "summary.json")
