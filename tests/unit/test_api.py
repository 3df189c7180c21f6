"""The notebook API: the README's example runs, params come as keywords or a dict and are checked
as a params file is, and every function wraps the stages' own cores."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from stylecluster import api, config
from stylecluster.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the Python API section should hold one python block"
    return blocks[0]


def test_readme_example_runs(capsys):
    code = _readme_example()
    assert len(code.strip().splitlines()) <= 12, "the README example should stay about ten lines"
    scope: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), scope)  # noqa: S102
    assert scope["sel"].summary["best_k"] == 3, scope["sel"].summary
    assert scope["res"].metrics["n_clusters"] == 3 and scope["res"].silhouette > 0.8
    assert set(scope["tr"].monthly.columns) == {"month", "cluster", "share"}
    assert scope["vec"].matrix.shape == (2, 64)
    assert "3 " in capsys.readouterr().out


@pytest.fixture(scope="module")
def X():
    return make_blobs([60, 40, 30], n_features=4, cluster_std=0.4, random_state=1)[0]


def test_params_as_a_dict_keywords_or_dataclass_agree(X):
    a = api.select_k(X, {"k_min": 2, "k_max": 6, "n_init": 2})
    b = api.select_k(X, k_min=2, k_max=6, n_init=2)
    c = api.select_k(X, config.SelectKParams(k_min=2, k_max=6, n_init=2))
    assert a.summary == b.summary == c.summary
    pd.testing.assert_frame_equal(a.curve, b.curve)
    assert api.make_params("select_k", {"k_max": 9}, k_max=7).k_max == 7  # keywords win


@pytest.mark.parametrize("kwargs, match", [
    ({"k_mn": 2}, r"\[select_k\] has unknown key\(s\) \['k_mn'\]; allowed keys: \['k_min'"),
    ({"k_max": 1}, r"\[select_k.k_max\] = 1 is not allowed: expected an integer > k_min"),
    ({"algorithm": "dbscan"}, r"\[select_k.algorithm\] = 'dbscan' is not allowed.*'hdbscan'"),
])
def test_bad_params_fail_as_in_a_params_file(X, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        api.select_k(X, kwargs)
    with pytest.raises(ConfigError, match=match):
        api.select_k(X, **kwargs)


def test_cluster_at_a_fixed_k_and_with_hdbscan(X):
    fixed = api.cluster(X, n_clusters=4, ids=[f"p{i}" for i in range(len(X))])
    assert fixed.metrics["n_clusters"] == 4 and fixed.selection["chosen_by"] == "n_clusters"
    assert fixed.labels["post_id"].iloc[0] == "p0" and fixed.centers.shape == (4, 4)
    rng = np.random.default_rng(0)
    noisy = np.vstack([X, rng.uniform(-30, 30, (8, 4))])
    hd = api.cluster(noisy, algorithm="hdbscan", min_cluster_size=8)
    assert hd.metrics["n_clusters"] == 3, hd.metrics
    assert hd.metrics["n_unassigned"] >= 8 and hd.selection["chosen_by"] == "hdbscan"
    assert (hd.labels["cluster"].iloc[-8:] == -1).all()
    with pytest.raises(ConfigError, match="cluster.n_clusters.*hdbscan"):
        api.cluster(X, algorithm="hdbscan", n_clusters=3)
    with pytest.raises(TypeError, match="not both"):
        api.cluster(X, api.select_k(X, k_max=5), k_max=6)


def test_trends_monthly_shares_and_top_n():
    labels = [0, 0, 1, 2, -1, 1, 1, 0]
    dates = ["2024-01-03", "2024-01-20", "2024-01-31 23:00", "2024-01-05", "2024-02-01",
             "2024-02-02", "2024-02-03", None]
    tr = api.trends(labels, dates, top_n=2, timezone="UTC")
    assert tr.n_undated == 1
    jan = tr.monthly[tr.monthly["month"] == "2024-01"].set_index("cluster")["share"]
    assert jan.to_dict() == {-1: 0.0, 0: 0.5, 1: 0.25, 2: 0.25}
    assert np.allclose(tr.monthly.groupby("month")["share"].sum(), 1.0)
    assert (tr.top["cluster"] >= 0).all() and tr.top.groupby("month").size().max() == 2
    feb = tr.top[tr.top["month"] == "2024-02"]
    assert feb["cluster"].tolist() == [1]  # the unassigned third of February is never ranked


def test_trends_months_are_in_the_given_zone():
    # 2024-01-31 20:00 UTC is already February in Shanghai (UTC+8)
    tr = api.trends([0, 1], pd.to_datetime(["2024-01-31 20:00", "2024-01-10 00:00"], utc=True),
                    timezone="Asia/Shanghai")
    assert sorted(tr.monthly["month"].unique()) == ["2024-01", "2024-02"]


def test_embed_with_a_named_encoder_or_a_model_path():
    texts = api.embed_texts(["羽绒服", "连衣裙", "羽绒服"], encoder="hash")
    assert texts.matrix.shape == (3, 64) and texts.matrix.dtype == np.float32
    assert np.allclose(texts.matrix[0], texts.matrix[2])
    images = api.embed_images([np.zeros((16, 16, 3), np.uint8)], encoder="hash")
    assert images.matrix.shape == (1, 64)
    with pytest.raises(ConfigError, match="'e5-small' takes no model path"):
        api.embed_texts(["a"], encoder="e5-small", model_path="/models/x")
    with pytest.raises(ConfigError, match="embed.text_encoder.*'nope'"):
        api.embed_texts(["a"], encoder="nope")
    with pytest.raises(Exception, match="sentence-transformers.path.*no such folder"):
        api.embed_texts(["a"], model_path=str(ROOT / "no-such-model"))
