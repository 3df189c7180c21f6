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
