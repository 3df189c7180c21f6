"""Stage-script tests (integration tier) for embed; pure tests live in tests/unit/test_embed.py."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from stylecluster import catalog
from stylecluster.pipeline import embed, text_pooling
from stylecluster import storage
from tests.harness import run_stage
from tests.unit.test_embed import CAPTIONS, HASH_DIM, ROOT, make_manifest, make_texts, synthetic_images  # noqa: F401 (fixtures too)


def write_fake_upstream(root: Path, n_images: int = 4) -> tuple[Path, Path]:
    """A segment folder (manifest + masked PNGs) and a texts.parquet for the five CAPTIONS posts."""
    seg = root / "segment"
    (seg / "masks").mkdir(parents=True)
    ids = list(CAPTIONS)
    kept = [i < n_images for i in range(len(ids))]
    paths = [f"masks/{pid}.png" if k else "" for pid, k in zip(ids, kept)]
    digests = [storage.write_image(img, seg / rel) if rel else ""
               for img, rel in zip(synthetic_images(len(ids), seed=3), paths)]
    reasons = ["" if k else "clothing share 0.010 < 0.05" for k in kept]
    storage.write_table(make_manifest(ids, kept, paths, reasons, digests), seg / catalog.SEGMENT_MANIFEST.name,
                   "segment_manifest")
    texts = root / "preprocess" / catalog.TEXTS.name
    storage.write_table(make_texts(CAPTIONS), texts, "texts")
    return seg, texts


def run_embed(root: Path, seg: Path, texts: Path, embed_params: dict) -> subprocess.CompletedProcess:
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["runtime"]["progress"] = False
    params["embed"].update(embed_params)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return run_stage("embed", "--segment", seg, "--texts", texts, "--cache", root / "cache",
                     "--out", root / "embed", "--run-log", root / "logs" / "embed.json",
                     params=root / "params.yaml")


def read_outputs(out: Path):
    image_ids = storage.read_table(out / catalog.IMAGE_IDS.name, "ids")
    text_ids = storage.read_table(out / catalog.TEXT_IDS.name, "ids")
    return (storage.read_matrix(out / catalog.IMAGE_MATRIX.name, image_ids), image_ids,
            storage.read_matrix(out / catalog.TEXT_MATRIX.name, text_ids), text_ids,
            storage.read_table(out / "dropped.parquet", "dropped"), storage.read_json(out / "summary.json"),
            storage.read_json(out.parent / "logs" / "embed.json"))


def test_stage_end_to_end_with_the_stand_in_and_a_warm_cache(tmp_path):
    seg, texts = write_fake_upstream(tmp_path)
    first = run_embed(tmp_path, seg, texts, {"image_encoder": "hash", "text_encoder": "hash",
                                             "batch_size": 2})
    assert first.returncode == 0, first.stderr
    image, image_ids, text, text_ids, dropped, summary, run = read_outputs(tmp_path / "embed")
    assert list(image_ids.post_id) == ["p1", "p2", "p3", "p4"] and image.shape == (4, HASH_DIM)
    assert list(text_ids.post_id) == ["p1", "p2", "p4", "p5"] and text.shape == (4, HASH_DIM)
    assert dropped.to_dict("records") == [
        {"post_id": "p5", "stage": "segment", "reason": "clothing share 0.010 < 0.05"},
        {"post_id": "p3", "stage": "preprocess", "reason": embed.NO_TEXT}]
    assert run["image"]["encoded"] == 4 and run["text"]["cache_hits"] == 0
    assert summary["image"]["dim"] == HASH_DIM and summary["dropped"] == {"preprocess": 1,
                                                                          "segment": 1}
    assert (summary["without_image"], summary["without_text"]) == (1, 1)
    assert "without an image vector 1 (segment dropped them), without a text vector 1" in first.stderr
    assert "4 encoded" in first.stderr

    second = run_embed(tmp_path, seg, texts, {"image_encoder": "hash", "text_encoder": "hash"})
    assert second.returncode == 0, second.stderr
    image2, _, text2, _, _, summary2, run2 = read_outputs(tmp_path / "embed")
    assert (run2["image"]["cache_hits"], run2["image"]["encoded"]) == (4, 0)
    assert run["image"]["loaded"] == 4 and run2["image"]["loaded"] == 0, "no mask decoded again"
    assert (run2["text"]["cache_hits"], run2["text"]["encoded"]) == (4, 0)
    assert np.array_equal(image, image2) and np.array_equal(text, text2)
    # a warm-cache run writes the same summary.json bytes: nothing in it depends on the history
    assert summary2 == summary and run2 != run
    assert "cache_hits" not in json.dumps(summary) and "seconds" not in json.dumps(summary)


def test_stage_with_a_stacked_image_encoder(tmp_path):
    """embed.image_encoder a+b through the stage: the blocks side by side, weighted, cached under
    the stack's own key (the parts' vectors alone are not reused)."""
    seg, texts = write_fake_upstream(tmp_path)
    stacked = {"image_encoder": "pixels+hash", "text_encoder": "hash", "stack_weights":
               {"hash": 0.5}, "options": {"pixels": {"size": 8}}}
    done = run_embed(tmp_path, seg, texts, stacked)
    assert done.returncode == 0, done.stderr
    image, image_ids, _, _, _, summary, _ = read_outputs(tmp_path / "embed")
    assert image.shape == (4, 64 + HASH_DIM) and summary["image"]["encoder"] == "pixels+hash"
    assert np.allclose((image[:, 64:] ** 2).sum(1), 0.25 / 1.25, atol=1e-5)
    assert summary["image"]["cache_key"].startswith("stack/1*pixels/8px")
    alone = run_embed(tmp_path, seg, texts, {**stacked, "image_encoder": "pixels"})
    assert alone.returncode == 0, alone.stderr
    pixels, *_ = read_outputs(tmp_path / "embed")
    assert pixels.shape == (4, 64)
    assert np.allclose(image[:, :64], pixels / np.sqrt(1.25), atol=1e-5)


def test_stage_with_tokens_pooling_lists_a_post_without_tokens(tmp_path):
    seg, texts = write_fake_upstream(tmp_path)
    table = storage.read_table(texts, "texts")
    table["tokens"] = [[] if pid == "p4" else list(t) for pid, t in zip(table.post_id, table.tokens)]
    storage.write_table(table, texts, "texts")
    done = run_embed(tmp_path, seg, texts, {"image_encoder": "hash", "text_encoder": "hash",
                                            "text_pooling": "tokens"})
    assert done.returncode == 0, done.stderr
    _, _, text, text_ids, dropped, summary, run = read_outputs(tmp_path / "embed")
    assert list(text_ids.post_id) == ["p1", "p2", "p5"] and text.shape == (3, HASH_DIM)
    assert {"post_id": "p4", "stage": "embed", "reason": text_pooling.NO_TOKENS} in \
        dropped.to_dict("records")
    assert summary["without_text"] == 2 and summary["dropped"]["embed"] == 1
    n_tokens = len({tok for pid, toks in zip(table.post_id, table.tokens) for tok in toks})
    assert run["text"]["encoded"] == n_tokens  # each distinct token once, not once per post


def test_stage_bad_inputs_fail_with_their_message(tmp_path):
    seg, texts = write_fake_upstream(tmp_path)
    bad = run_embed(tmp_path, seg, texts, {"image_encoder": "clip-vit", "text_encoder": "hash"})
    assert bad.returncode == 1
    assert "embed.image_encoder] = 'clip-vit' is not a registered encoder" in bad.stderr
    (seg / "masks" / "p2.png").write_bytes(b"not a png")
    edited = run_embed(tmp_path, seg, texts, {"image_encoder": "hash", "text_encoder": "hash"})
    assert edited.returncode == 1
    assert ("p2.png: the file differs from the one segment wrote" in edited.stderr
            and "re-run segment" in edited.stderr), edited.stderr[-2000:]
    manifest = storage.read_table(seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    manifest.loc[manifest.post_id == "p2", "mask_sha256"] = storage.file_sha256(seg / "masks/p2.png")
    storage.write_table(manifest, seg / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    corrupt = run_embed(tmp_path, seg, texts, {"image_encoder": "hash", "text_encoder": "hash"})
    assert corrupt.returncode == 1
    assert "p2.png: image does not decode" in corrupt.stderr, corrupt.stderr[-2000:]


@pytest.mark.slow
def test_stage_with_the_real_default_encoders(tmp_path):
    seg, texts = write_fake_upstream(tmp_path)
    done = run_embed(tmp_path, seg, texts, {"batch_size": 4})
    assert done.returncode == 0, done.stderr
    image, _, text, _, _, summary, run = read_outputs(tmp_path / "embed")
    assert image.shape == (4, 1280) and text.shape == (4, 384)
    for name, m in (("image", image), ("text", text)):
        norms = np.linalg.norm(m, axis=1)
        assert np.isfinite(m).all() and np.allclose(norms, 1.0, atol=1e-4), (name, norms)
    assert summary["image"]["encoder"] == "efficientnet-lite0"
    assert summary["text"]["encoder"] == "e5-small"
    assert run["image"]["items_per_s"] > 0 and run["text"]["items_per_s"] > 0
