"""Typed params: defaults match params.yaml, bad keys/types/ranges fail with the key named."""

from pathlib import Path

import pytest

from stylecluster import config
from stylecluster import storage
from stylecluster.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_yaml_is_valid():
    sections = config.load_all(storage.read_params(ROOT / "params.yaml"))
    assert sections["base"].seed == 42
    assert sections["reduce"].modality in ("image", "text", "concat")


def test_every_section_has_a_dataclass_and_back():
    params = storage.read_params(ROOT / "params.yaml")
    assert set(params) - {"paths"} == set(config.SECTIONS)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"\[segment\] has unknown key\(s\) \['min_clothing'\]"):
        config.load_section({"segment": {"min_clothing": 0.1}}, "segment")


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"select_k.k_min\] = 'two'.*an integer"):
        config.load_section({"select_k": {"k_min": "two"}}, "select_k")


def test_out_of_range_is_named():
    with pytest.raises(ConfigError, match=r"segment.min_clothing_share\] = 1.5"):
        config.load_section({"segment": {"min_clothing_share": 1.5}}, "segment")


def test_literal_lists_allowed_values():
    with pytest.raises(ConfigError, match=r"reduce.modality.*'image', 'text', 'concat'"):
        config.load_section({"reduce": {"modality": "video"}}, "reduce")


def test_bool_is_not_an_int():
    with pytest.raises(ConfigError, match="an integer"):
        config.load_section({"base": {"seed": True}}, "base")


def test_int_accepted_for_float_and_optional_none():
    p = config.load_section({"segment": {"min_clothing_share": 0}}, "segment")
    assert p.min_clothing_share == 0.0 and isinstance(p.min_clothing_share, float)
    assert config.load_section({"cluster": {"n_clusters": None}}, "cluster").n_clusters is None


def test_params_are_frozen():
    p = config.load_section({}, "base")
    with pytest.raises(AttributeError):
        p.seed = 1  # type: ignore[misc]


def test_list_becomes_tuple():
    p = config.load_section({"validate": {"labels": ["a", "b"]}}, "validate")
    assert p.labels == ("a", "b")
