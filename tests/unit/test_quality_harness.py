"""The pure helpers of benchmarks/quality.py: how a variant's params are merged, listed and named."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import quality  # noqa: E402


def test_merge_writes_nested_keys_over_a_copy():
    base = {"reduce": {"method": "umap", "n_components": 10}, "cluster": {"algorithm": "kmeans"}}
    out = quality.merge(base, {"reduce": {"n_components": 5}, "cluster": {"n_clusters": 10}})
    assert out == {"reduce": {"method": "umap", "n_components": 5},
                   "cluster": {"algorithm": "kmeans", "n_clusters": 10}}
    assert base["reduce"]["n_components"] == 10 and "n_clusters" not in base["cluster"]


def test_flat_diff_names_changed_keys_and_skips_paths_and_runtime():
    base = {"reduce": {"modality": "image", "method": "umap"}, "paths": {"raw": "a"},
            "runtime": {"workers": 1}}
    params = {"reduce": {"modality": "text", "method": "umap"}, "paths": {"raw": "b"},
              "runtime": {"workers": 2}, "cluster": {"n_clusters": 10}}
    assert quality.flat_diff(base, params) == {"reduce.modality": "text",
                                               "cluster": {"n_clusters": 10}}


def test_choice_rule_names_a_fixed_k_then_the_fallback_then_the_rule():
    peak = {"rule": "prominence", "fallback": None}
    no_peak = {"rule": "prominence", "fallback": "stability"}
    assert quality.choice_rule({"cluster": {"n_clusters": 10}}, no_peak) == "cluster.n_clusters"
    assert quality.choice_rule({"cluster": {"n_clusters": None}}, no_peak) == "stability"
    assert quality.choice_rule({}, peak) == "prominence"
