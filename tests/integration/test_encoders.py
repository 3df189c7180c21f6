"""Stage-script tests (integration tier) for encoders; pure tests live in tests/unit/test_encoders.py."""

import os
import subprocess
import sys

import numpy as np
import pytest

from stylecluster import encoders
from stylecluster.config import EmbedParams

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
from tests.unit.test_encoders import images  # noqa: F401 (fixtures too)


@pytest.mark.slow
def test_onnx_export_is_kept_in_the_model_cache_and_redone_when_damaged(tmp_path, monkeypatch,
                                                                          images):
    from stylecluster.encoders import efficientnet as lite0

    first = encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(), tmp_path)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert len(kept) == 2 and kept[0].endswith(".onnx") and kept[1].endswith(".probe.npy"), kept
    expected = first.encode(images)

    def no_export(model):
        raise AssertionError("exported again although the cached export is intact")

    with monkeypatch.context() as m:
        m.setattr(lite0, "export_onnx", no_export)
        again = encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(), tmp_path)
        assert again._model is None, "the cached export should not need the PyTorch model"
        assert np.array_equal(again.encode(images), expected)
        probs = again.classify(images[:1])  # loads the PyTorch model on demand
        assert probs.shape == (1, 1000) and abs(float(probs.sum()) - 1.0) < 1e-4

    # A later embed run with the export kept never imports torch (about 2 s and 170 MB of RSS).
    script = ("import sys; import numpy as np; from PIL import Image; "
              "from pathlib import Path; from stylecluster import encoders; "
              "from stylecluster.config import EmbedParams; "
              f"enc = encoders.get_encoder('efficientnet-lite0', 'image', EmbedParams(), "
              f"Path({str(tmp_path)!r})); "
              "enc.encode([Image.fromarray(np.zeros((64, 32, 3), np.uint8))]); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:3])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"torch was imported: {done.stdout}"

    onnx_file = next(tmp_path.glob("*.onnx"))
    onnx_file.write_bytes(b"not an onnx model")
    redone = encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(), tmp_path)
    assert np.abs(redone.encode(images) - expected).max() < 1e-6
    assert onnx_file.read_bytes()[:4] != b"not ", "the damaged export was not replaced"
