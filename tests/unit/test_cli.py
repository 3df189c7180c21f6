"""The command line's own surface: --version and check-params (in-process, no subprocess)."""

from importlib import metadata

import pytest
import yaml

from stylecluster import catalog
from stylecluster import cli


def test_version_is_the_installed_distribution(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"stylecluster {metadata.version('stylecluster')}"


def test_check_params_names_the_file_it_read(tmp_path, caplog):
    bad = tmp_path / "exp-params.yaml"
    bad.write_text(yaml.safe_dump({"reduce": {"method": "tsne"}}), encoding="utf-8")
    assert cli.main(["check-params", "--params", str(bad)]) == 1
    message = caplog.text
    assert f"{bad} [reduce.method] = 'tsne'" in message
    assert "params.yaml [" not in message.replace(str(bad), "")


def test_check_params_has_help(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["check-params", "--help"])
    out = capsys.readouterr().out
    assert "--write-defaults" in out and "the params file to check" in out


def test_check_params_names_a_misspelt_segment_option(tmp_path, caplog):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"segment": {"options": {"mediapipe": {"pose_gat": True}}}}),
                   encoding="utf-8")
    assert cli.main(["check-params", "--params", str(bad)]) == 1
    assert "segment.options.mediapipe.pose_gat" in caplog.text


def test_sample_cutout_writes_rgba_pngs_with_a_transparent_background(tmp_path):
    import numpy as np
    import pandas as pd
    from PIL import Image

    assert cli.main(["sample", "--out", str(tmp_path / "cut"), "--n-posts", "12", "--n-months",
                     "1", "--cutout", "--quiet"]) == 0
    posts = pd.read_parquet(tmp_path / "cut" / catalog.RAW_POSTS)
    modes, cut = set(), 0
    for rel in posts["image_path"]:
        with Image.open(tmp_path / "cut" / rel) as img:
            modes.add(img.mode)
            alpha = np.asarray(img)[..., 3]
        assert alpha[0, 0] == 0 or (alpha == 255).all(), f"{rel}: background not transparent"
        cut += int(alpha[0, 0] == 0)
    assert modes == {"RGBA"} and cut >= 10, (modes, cut)
