"""Typed params: params.yaml is rendered from the defaults, bad keys/types/ranges fail with the key
(and the file) named."""

from pathlib import Path

import pytest
import yaml

from stylecluster import config, defaults, encoders, segmenters
from stylecluster import storage
from stylecluster.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_yaml_is_valid():
    sections = config.load_all(storage.read_params(ROOT / "params.yaml"))
    assert sections["base"].seed == 42
    assert sections["reduce"].modality in ("image", "text", "concat")


def test_params_yaml_is_the_rendered_defaults():
    """Defaults are written once, in config.py (and each backend's options class)."""
    rendered = defaults.render_params()
    assert (ROOT / "params.yaml").read_text(encoding="utf-8") == rendered, (
        "params.yaml differs from the defaults in src/stylecluster/config.py: change the default "
        "there and run `stylecluster check-params --write-defaults params.yaml`")
    loaded = yaml.safe_load(rendered)
    assert list(loaded) == list(config.SECTIONS)
    options = loaded["embed"].pop("options")  # expanded from the registry: each backend's defaults
    segment_options = loaded["segment"].pop("options")  # likewise, from the segmenter registry
    for name, cls in config.SECTIONS.items():
        assert config.load_section(loaded, name) == config.load_section({}, name) == cls(), name
    assert options == config.as_plain(
        encoders.check_options(config.EmbedParams()))
    assert segment_options == config.as_plain(
        segmenters.check_options(config.SegmentParams()))
    assert list(segment_options) == ["auto", "mediapipe", "none"]


def test_render_quotes_strings_yaml_would_read_as_something_else():
    for value in ("2010-01-01", "%Y-%m-%d %H:%M:%S", "null", "yes", "a: b", "x # y", "12", "é"):
        assert yaml.safe_load(f"k: {defaults._value(value)}")["k"] == value, value


def test_where_names_the_file_read():
    with pytest.raises(ConfigError, match=r"^mine\.yaml \[reduce\.n_neighbors\] = 1 .*in mine\.yaml"):
        config.load_section({"reduce": {"n_neighbors": 1}}, "reduce", "mine.yaml")
    with pytest.raises(ConfigError, match=r"^mine\.yaml \[paths\] has unknown key\(s\) \['rw'\]"):
        config.load_section({"paths": {"rw": "data/raw"}}, "paths", "mine.yaml")
    with pytest.raises(ConfigError, match=r"^mine\.yaml \[validate\.timezone\].*in mine\.yaml"):
        config.load_section({"validate": {"timezone": "Mars/Base"}}, "validate", "mine.yaml")
    with pytest.raises(ConfigError, match=r"^mine\.yaml has unknown section\(s\) 'runtim' "
                       r"\(did you mean 'runtime'\?\)"):
        config.load_all({"runtim": {}}, "mine.yaml")


def test_a_moved_key_says_where_it_went():
    with pytest.raises(ConfigError, match=r"\['torch_threads'\].*torch_threads moved to "
                       r"runtime\.torch_threads"):
        config.load_section({"embed": {"torch_threads": 2}}, "embed")


def test_embed_accepts_every_efficientnet_lite_size():
    for name in ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"):
        p = config.load_section({"embed": {"image_encoder": name,
                                           "options": {name: {"runtime": "torch"}}}}, "embed")
        encoders.check_params(p)
        assert encoders.backend_config(name, p).options.runtime == "torch"
    with pytest.raises(ConfigError, match=r"\[embed\.image_encoder\] = 'efficientnet-lite3' is not "
                       r"a registered encoder.*'efficientnet-lite1', 'efficientnet-lite2'"):
        encoders.check_params(config.EmbedParams(image_encoder="efficientnet-lite3"))


def test_backend_options_are_checked_against_the_registry():
    with pytest.raises(ConfigError, match=r"x\.yaml \[embed\.options\] names 'open-clip', which "
                       r"is not a registered backend; backends with options: \['efficientnet-lite0'"):
        encoders.check_options(config.EmbedParams(options={"open-clip": {}}), "x.yaml")
    with pytest.raises(ConfigError, match=r"\[embed\.options\.imagebind\] has unknown key\(s\) "
                       r"\['path'\]; allowed keys: \['checkpoint'\]"):
        encoders.check_options(config.EmbedParams(options={"imagebind": {"path": "x"}}))
    with pytest.raises(ConfigError, match=r"\[embed\.options\.efficientnet-lite0\.runtime\] = "
                       r"'tensorrt'.*'auto', 'onnxruntime', 'torch'"):
        encoders.check_options(config.EmbedParams(
            options={"efficientnet-lite0": {"runtime": "tensorrt"}}))
    with pytest.raises(ConfigError, match=r"\[embed\.options\.use-multilingual\].*takes no "
                       r"options"):
        encoders.check_options(config.EmbedParams(options={"use-multilingual": {"x": 1}}))
    with pytest.raises(ConfigError, match=r"\[embed\.options\.e5-small\] has unknown key"):
        encoders.check_options(config.EmbedParams(options={"e5-small": {"x": 1}}))
    with pytest.raises(ConfigError, match=r"\[embed\.image_encoder\] = 'open-clip' is not a "
                       r"registered encoder"):
        encoders.check_params(config.EmbedParams(image_encoder="open-clip"))
    assert encoders.backend_config("imagebind", config.EmbedParams(
        options={"imagebind": {"checkpoint": "w.pth"}})).options.checkpoint == "w.pth"


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


def test_text_debias_params_are_named():
    p = config.load_section({"reduce": {"text_debias": "both", "text_top_pcs": 4}}, "reduce")
    assert (p.text_debias, p.text_top_pcs) == ("both", 4)
    with pytest.raises(ConfigError, match=r"reduce.text_debias\] = 'pcs'.*'none', 'top_pcs', "
                                          r"'length', 'both'"):
        config.load_section({"reduce": {"text_debias": "pcs"}}, "reduce")
    with pytest.raises(ConfigError, match=r"reduce.text_top_pcs\] = 0 .*\[1, 64\]"):
        config.load_section({"reduce": {"text_top_pcs": 0}}, "reduce")
    with pytest.raises(ConfigError, match=r"reduce.text_top_pcs\] = 2.5.*an integer"):
        config.load_section({"reduce": {"text_top_pcs": 2.5}}, "reduce")


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
