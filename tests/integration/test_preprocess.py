"""Stage-script tests (integration tier) for preprocess; pure tests live in tests/unit/test_preprocess.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from stylecluster import catalog
from stylecluster import storage
from stylecluster.records import PreprocessSummary
from tests.harness import run_stage
from tests.unit.test_preprocess import EXAMPLE_CONTENT, EXAMPLE_TAGS, REAL_EXPORT, STOPWORDS_FILE  # noqa: F401 (fixtures too)


def _write_project(tmp: Path, user_dict: str | None) -> Path:
    n = 7
    posts = pd.DataFrame({
        "post_id": [f"p{i}" for i in range(n)],
        "content": [EXAMPLE_CONTENT, None, "nan", "白色衬衫😍 #通勤穿搭", "", "今天穿新中式马面裙",
                    REAL_EXPORT + " :not_an_emoji_xyz:"],
        "tags": [EXAMPLE_TAGS, "#每日穿搭", None, None, None, "", None],
        "posted_at": pd.date_range("2023-05-01", periods=n, freq="D", tz="UTC"),
        "month": ["2023-05"] * n,
        "image_path": [f"images/p{i}.png" for i in range(n)],
    })
    posts.to_parquet(tmp / catalog.POSTS.name)
    (tmp / "dict.txt").write_text("新中式马面裙\n", encoding="utf-8")
    params = {"base": {"seed": 1}, "runtime": {"progress": False},
              "preprocess": {"fields": "both", "embed_text": "keywords", "user_dict": user_dict,
                             "max_keywords": 10}}
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return tmp


def _stage(tmp: Path) -> subprocess.CompletedProcess:
    return run_stage("preprocess", "--posts", catalog.POSTS.name, "--stopwords", STOPWORDS_FILE,
                     "--jieba-cache", "data/cache/jieba", "--out", "out",
                     params=tmp / "params.yaml", cwd=tmp, timeout=120)


def test_stage_script_writes_texts_and_summary(tmp_path):
    tmp = _write_project(tmp_path, "dict.txt")
    proc = _stage(tmp)
    assert proc.returncode == 0, proc.stderr
    texts = storage.read_table(tmp / "out" / catalog.TEXTS.name, "texts")  # checks the schema
    assert texts["post_id"].tolist() == [f"p{i}" for i in range(7)]
    assert texts["has_text"].tolist() == [True, True, False, True, False, True, True]
    assert texts["n_chars"].tolist() == texts["text"].str.len().tolist()
    assert "显瘦连衣裙" in list(texts["keywords"].iloc[0]), texts["keywords"].iloc[0]
    assert "新中式马面裙" in list(texts["tokens"].iloc[5]), texts["tokens"].iloc[5]
    assert texts["embed_input"].iloc[0] == " ".join(texts["keywords"].iloc[0])
    assert "nan" not in texts["text"].iloc[6] and "not_an_emoji" not in texts["text"].iloc[6]
    summary = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["n_posts"] == 7 and summary["has_text_false"] == 2, summary
    assert summary["content"]["nan_literal"] == 1 and summary["tag_only_posts"] == 1, summary
    assert summary["cleaning"] == {"nan_token_posts": 1, "nan_tokens_removed": 2,
                                   "emoji_code_posts": 1, "emoji_codes_converted": 2,
                                   "unknown_code_posts": 1, "unknown_codes_dropped": 1}, summary
    PreprocessSummary.from_json(summary, "summary.json")  # the typed record reads it back
    # the one-line summary names the cleaning counts
    assert "nan tokens removed in 1" in proc.stderr and "unknown codes dropped in 1" in proc.stderr, \
        proc.stderr
    # jieba's cache lands in the project (data/cache/jieba, made by storage), not the system temp
    assert (tmp / "data" / "cache" / "jieba" / "jieba.cache").is_file()


def test_stage_script_missing_user_dict_names_the_param(tmp_path):
    proc = _stage(_write_project(tmp_path, "no_such_dict.txt"))
    assert proc.returncode == 1, proc.stderr
    assert "preprocess.user_dict" in proc.stderr and "no_such_dict.txt" in proc.stderr, proc.stderr
    assert not (tmp_path / "out" / catalog.TEXTS.name).exists()
