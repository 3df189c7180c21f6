"""Stage-script tests (integration tier) for reduce; pure tests live in tests/unit/test_reduce.py."""

from stylecluster import catalog
import json

import numpy as np
import pandas as pd
import yaml

from tests.harness import run_stage
from tests.unit.test_reduce import N_IMAGE, OFFSET, embeddings  # noqa: F401 (fixtures too)


def _texts(post_ids, folder):
    """A texts.parquet (schema texts) for the given posts, lengths 5..500."""
    n = len(post_ids)
    lengths = np.random.default_rng(5).integers(5, 500, n)
    table = pd.DataFrame({"post_id": list(post_ids), "text": ["x" * int(k) for k in lengths],
                          "tokens": [["x"]] * n, "keywords": [["x"]] * n, "n_chars": lengths,
                          "has_text": True, "embed_input": "x"})
    path = folder / catalog.TEXTS.name
    table.to_parquet(path)
    return path


def test_stage_script(tmp_path, embeddings):
    emb = tmp_path / "embed"
    emb.mkdir()
    for name, (matrix, ids) in embeddings.items():
        np.save(emb / f"{name}.npy", matrix)
        ids.to_parquet(emb / f"{name}_ids.parquet")
    texts = _texts(embeddings["text"][1]["post_id"], tmp_path)
    params = {"base": {"seed": 1}, "reduce": {"modality": "concat", "method": "pca",
                                              "n_components": 3, "text_debias": "both"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "reduce"
    proc = run_stage("reduce", "--embed", emb, "--texts", texts, "--out", out,
                     params=tmp_path / "params.yaml")
    assert proc.returncode == 0, proc.stderr
    features = np.load(out / catalog.FEATURES.name)
    map2d = np.load(out / catalog.MAP2D.name)
    ids = pd.read_parquet(out / catalog.FEATURE_IDS.name)
    dropped = pd.read_parquet(out / "dropped.parquet")
    summary = json.loads((out / "summary.json").read_text())
    both = N_IMAGE - OFFSET
    assert features.shape == (both, 3) and map2d.shape == (both, 2) and len(ids) == both
    assert features.dtype == np.float32
    assert len(dropped) == summary["n_dropped"] == 30 and set(dropped["stage"]) == {"reduce"}
    assert summary["n_input"] == 160 and summary["weights"] == {"text": 1.0, "image": 1.0}
    assert summary["text_debias"] == "both" and "(text_debias both)" in proc.stderr
    assert "30 excluded for a missing modality" in proc.stderr
