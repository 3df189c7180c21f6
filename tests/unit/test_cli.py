"""The command line's own surface: --version and check-params (in-process, no subprocess)."""

from importlib import metadata

import pytest
import yaml

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
