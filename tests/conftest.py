"""Shared fixtures: a tiny canonical raw folder built from seeded random data."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # before numpy/sklearn load OpenMP
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stylecluster import catalog

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def write_raw(raw_dir: Path, n: int = 12, seed: int = 0) -> pd.DataFrame:
    """Write `n` posts with small random images in the canonical raw layout; return the table."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rel = f"images/p{i:03d}.png"
        (raw_dir / "images").mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 255, size=(32, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(raw_dir / rel)
        month = 1 + i % 3
        rows.append({
            "post_id": f"p{i:03d}",
            "content": f"今天的穿搭{i} 连衣裙",
            "tags": "#每日穿搭 #连衣裙",
            "posted_at": f"2024-{month:02d}-{1 + i % 27:02d} 12:00:00",
            "image_path": rel,
            "label": "连衣裙" if i % 2 else "大衣",
        })
    table = pd.DataFrame(rows)
    table.to_parquet(raw_dir / catalog.RAW_POSTS, index=False)
    return table


@pytest.fixture()
def raw_dir(tmp_path: Path) -> Path:
    d = tmp_path / "raw"
    write_raw(d)
    return d
