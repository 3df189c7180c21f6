"""Stage-script test (integration tier) for segment; pure tests live in tests/unit/test_segment.py."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from stylecluster import catalog
from stylecluster import storage
from tests.harness import run_stage
from tests.unit.test_segment import BG, H, W, draw_person, draw_scenery


def test_stage_end_to_end(tmp_path):
    raw = tmp_path / "raw"
    (raw / "images").mkdir(parents=True)
    draw_person().save(raw / "images" / "p1.png")
    draw_person(garment=(200, 40, 40), bg=(180, 200, 220)).save(raw / "images" / "p2.png")
    draw_scenery().save(raw / "images" / "p3.png")
    (raw / "images" / "p4.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    # A pre-cut photo: RGBA, alpha 0 on the background (its colour left as it was).
    person = np.asarray(draw_person())
    alpha = np.where((person == np.array(BG, np.uint8)).all(axis=2), 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([person, alpha]), "RGBA").save(raw / "images" / "p5.png")
    ids = ["p1", "p2", "p3", "p4", "p5"]
    posts = pd.DataFrame({
        "post_id": ids, "content": ["c"] * 5, "tags": ["t"] * 5,
        "posted_at": pd.to_datetime(["2024-01-05"] * 5, utc=True), "month": ["2024-01"] * 5,
        "image_path": [f"images/{i}.png" for i in ids]})
    storage.write_table(posts, tmp_path / catalog.POSTS.name, "posts")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"runtime": {"progress": False}, "segment": {"min_clothing_share": 0.05}}))
    out = tmp_path / "out"
    (out / "masks").mkdir(parents=True)
    (out / "masks" / "stale.png").write_bytes(b"old run")
    proc = run_stage("segment", "--posts", tmp_path / catalog.POSTS.name, "--raw", raw, "--out", out,
                     params=tmp_path / "params.yaml", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kept 3 of 5 images" in proc.stderr
    m = storage.read_table(out / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    assert m["kept"].tolist() == [True, True, False, False, True]
    assert m["mask_source"].tolist() == ["mediapipe", "mediapipe", "mediapipe", "", "alpha"]
    assert m.loc[4, "person_share"] == pytest.approx((alpha > 0).mean()), "the alpha is the person"
    assert m.loc[2, "reason"].startswith("clothing_share 0.0")
    assert m.loc[3, "reason"].startswith("unreadable image: ") and "p4.png" in m.loc[3, "reason"]
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["p1.png", "p2.png", "p5.png"]
    for rel, digest in zip(m["mask_path"], m["mask_sha256"]):  # the manifest fingerprints masks
        assert digest == (storage.file_sha256(out / rel) if rel else "")
    mask = np.asarray(storage.read_image(out / m.loc[0, "mask_path"]))
    assert mask.shape == (H, W, 3) and mask[5, 5].tolist() == [0, 0, 0]
    assert mask.any(axis=2).mean() == pytest.approx(m.loc[0, "clothing_share"], abs=0.005)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dropped_by_reason"] == {"low_clothing_share": 1, "no_pose": 0, "no_image": 0,
                                            "missing": 0, "unreadable": 1, "too_large": 0}
    assert summary["unreadable_post_ids"] == ["p4"]
    assert summary["mask_source"] == {"alpha": 1, "mediapipe": 3, "none": 0}
    assert summary["kept_by_mask_source"] == {"alpha": 1, "mediapipe": 2, "none": 0}
    cut = np.asarray(storage.read_image(out / "masks/p5.png"))
    assert cut.shape == (H, W, 3) and not cut[alpha == 0].any(), "black outside the cut-out"
    assert cut.any(axis=2).mean() == pytest.approx(m.loc[4, "clothing_share"], abs=0.005)
    assert Image.open(out / catalog.SEGMENT_HIST.name).size == (700, 400)
