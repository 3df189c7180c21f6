"""segment: clothing masks from mediapipe (real bundled models) on drawn figures and real photos,
auto's alpha path for cut-out images, the share threshold, the pose gate, per-method options,
unreadable images and the manifest/summary (the stage script: tests/integration)."""

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import cbook
from PIL import Image, ImageDraw

from stylecluster import config, schemas
from stylecluster.report import figures
from stylecluster import segmenters
from stylecluster.pipeline import segment
from stylecluster.segmenters import mediapipe as mediapipe_segmenter
from stylecluster.errors import BackendError, ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]
W, H = 384, 512
SKIN = (224, 180, 150)
DEFAULT = config.load_section({}, "segment")


def draw_person(garment=(40, 70, 160), pants=(50, 50, 60), bg=(235, 232, 225)) -> Image.Image:
    """A front-facing figure: skin head with hair and a face, sleeved top, trousers, shoes."""
    img = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(img)
    cx = W // 2
    d.rectangle([cx - 45, 300, cx - 8, 480], fill=pants)
    d.rectangle([cx + 8, 300, cx + 45, 480], fill=pants)
    d.ellipse([cx - 55, 470, cx - 5, 495], fill=(20, 20, 20))
    d.ellipse([cx + 5, 470, cx + 55, 495], fill=(20, 20, 20))
    d.rounded_rectangle([cx - 60, 130, cx + 60, 310], radius=20, fill=garment)
    d.rectangle([cx - 90, 135, cx - 60, 260], fill=garment)
    d.rectangle([cx + 60, 135, cx + 90, 260], fill=garment)
    d.ellipse([cx - 92, 255, cx - 58, 290], fill=SKIN)
    d.ellipse([cx + 58, 255, cx + 92, 290], fill=SKIN)
    d.rectangle([cx - 12, 105, cx + 12, 135], fill=SKIN)
    d.ellipse([cx - 45, 20, cx + 45, 115], fill=(40, 30, 25))
    d.ellipse([cx - 38, 32, cx + 38, 115], fill=SKIN)
    d.ellipse([cx - 20, 60, cx - 10, 70], fill=(30, 30, 30))
    d.ellipse([cx + 10, 60, cx + 20, 70], fill=(30, 30, 30))
    d.arc([cx - 15, 80, cx + 15, 100], 20, 160, fill=(150, 50, 50), width=3)
    return img


def draw_scenery() -> Image.Image:
    """Sky gradient over a green field."""
    t = np.linspace(0, 1, H)[:, None, None]
    sky = np.array([120, 170, 230]) * (1 - t) + np.array([250, 250, 255]) * t
    arr = np.broadcast_to(sky, (H, W, 3)).copy()
    arr[int(H * 0.65):] = [70, 140, 60]
    return Image.fromarray(arr.astype(np.uint8))


def draw_food() -> Image.Image:
    """A plate with food on a wooden table."""
    img = Image.new("RGB", (W, H), (150, 100, 60))
    d = ImageDraw.Draw(img)
    d.ellipse([40, 110, 344, 414], fill=(245, 245, 245))
    d.ellipse([110, 180, 274, 344], fill=(200, 80, 40))
    d.ellipse([150, 200, 200, 250], fill=(90, 160, 60))
    return img


def real_photo(name: str) -> np.ndarray:
    """Real photographs shipped in installed packages (no network)."""
    if name == "grace_hopper.jpg":
        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            return np.asarray(Image.open(fh).convert("RGB"))
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)


@pytest.fixture(scope="module")
def seg():
    with segmenters.make_segmenter(DEFAULT) as s:
        yield s


@pytest.fixture(scope="module")
def person_result(seg):
    return segment.segment_image(np.asarray(draw_person()), DEFAULT, seg)


def test_drawn_person_is_kept_with_a_sensible_share(person_result):
    r = person_result
    assert r.kept and r.reason == "kept", r.reason
    # The figure's garments cover ~22% of the frame; its whole silhouette ~27%.
    assert 0.15 < r.clothing_share < 0.35, f"clothing share {r.clothing_share:.3f}"
    assert 0.20 < r.person_share < 0.40, f"person share {r.person_share:.3f}"
    assert r.clothing_mask.shape == (H, W) and r.clothing_mask.dtype == bool
    # Torso centre is clothing; face centre, a hand and the background corner are not.
    assert r.clothing_mask[220, W // 2]
    assert not r.clothing_mask[75, W // 2] and not r.clothing_mask[272, W // 2 - 75]
    assert not r.clothing_mask[5, 5]


def test_skin_and_head_removal_reduce_the_share(person_result):
    with segmenters.make_segmenter(dataclasses.replace(DEFAULT, remove_skin=False,
                                                    remove_head=False)) as bare:
        whole = segment.segment_image(np.asarray(draw_person()), bare.params, bare)
    assert whole.clothing_share == pytest.approx(whole.person_share)
    drop = whole.clothing_share - person_result.clothing_share
    # Head (~2.9% of the frame), neck and hands (~0.9%) come off.
    assert drop > 0.03, f"person {whole.clothing_share:.3f} -> clothing " \
                        f"{person_result.clothing_share:.3f}"
    assert whole.clothing_mask[75, W // 2], "without head removal the face is in the mask"


@pytest.mark.parametrize("name,draw", [("scenery", draw_scenery), ("food", draw_food)])
def test_non_person_images_are_dropped_with_the_share_in_the_reason(seg, name, draw):
    r = segment.segment_image(np.asarray(draw()), DEFAULT, seg)
    assert not r.kept and r.kind == segment.LOW_SHARE
    assert r.clothing_share < 0.01, f"{name}: share {r.clothing_share:.3f}"
    assert r.reason == f"clothing_share {r.clothing_share:.3f} < 0.05"


def test_real_photo_person_loses_face_and_skin(seg):
    img = real_photo("grace_hopper.jpg")  # 600x512 portrait in uniform
    r = segment.segment_image(img, DEFAULT, seg)
    assert r.kept, r.reason
    assert r.person_share > 0.45, f"person share {r.person_share:.3f}"
    assert 0.2 < r.clothing_share < r.person_share - 0.15, \
        f"clothing {r.clothing_share:.3f} vs person {r.person_share:.3f}"
    assert r.clothing_mask[480, 300] and not r.clothing_mask[170, 300]  # jacket yes, face no


def test_threshold_param_is_respected(seg, person_result):
    share = person_result.clothing_share
    img = np.asarray(draw_person())
    above = dataclasses.replace(DEFAULT, min_clothing_share=round(share + 0.01, 3))
    below = dataclasses.replace(DEFAULT, min_clothing_share=round(share - 0.01, 3))
    r_above = segment.segment_image(img, above, seg)
    assert not r_above.kept and r_above.reason.startswith(f"clothing_share {share:.3f} < ")
    assert segment.segment_image(img, below, seg).kept


def test_pose_gate_rejects_a_foreground_without_a_body(seg):
    flower = real_photo("flower.jpg")  # the selfie model sees a "person" in the flower head
    gated = dataclasses.replace(DEFAULT, options={"mediapipe": {"pose_gate": True}})
    ungated = segment.segment_image(flower, DEFAULT, seg)
    assert ungated.kept, f"premise: flower passes on share alone ({ungated.clothing_share:.3f})"
    with segmenters.make_segmenter(gated) as s:
        assert s.pose_gate
        r = segment.segment_image(flower, gated, s)
        assert not r.kept and r.reason == "no pose detected" and r.kind == segment.NO_POSE
        assert segment.segment_image(np.asarray(draw_person()), gated, s).kept


def _run_none(options):
    params = config.load_section({"segment": {"method": "none", "options": options}}, "segment")
    written = {}
    with segmenters.make_segmenter(params) as s:
        out = segment.segment_posts(
            [("a", draw_scenery()), ("b", np.asarray(draw_food()))], params, s,
            on_kept=lambda pid, rel, img: written.__setitem__(pid, (rel, img)))
    return out, written


def test_method_none_keeps_every_image_and_writes_it_at_the_encoders_size():
    out, written = _run_none({})
    assert out.manifest["clothing_share"].tolist() == [1.0, 1.0]
    assert out.manifest["kept"].all() and out.manifest["mask_source"].tolist() == ["none"] * 2
    assert out.summary.mask_source == {"alpha": 0, "mediapipe": 0, "none": 2}
    assert written["b"][0] == "masks/b.png"
    # 384x512 -> short side 224, aspect kept: what every bundled encoder resizes to anyway.
    small = written["a"][1]
    assert small.shape == (299, 224, 3) and small.dtype == np.uint8, small.shape
    expected = np.asarray(draw_scenery().resize((224, 299), Image.BOX), np.float32)
    assert np.abs(small.astype(np.float32) - expected).mean() < 1.0
    full, written = _run_none({"none": {"mask_short_side": None}})
    assert np.array_equal(written["a"][1], np.asarray(draw_scenery())), "null: full size"


def test_pose_gate_needs_a_pose_model():
    params = config.load_section({"segment": {"method": "none", "options": {
        "mediapipe": {"pose_gate": True}}}}, "segment")
    with pytest.raises(ConfigError, match=r"segment.options.mediapipe.pose_gate\] = True.*"
                                          r"method is 'none'"):
        segmenters.make_segmenter(params)


def test_unknown_option_key_names_its_full_key_and_the_fix():
    params = config.load_section({"segment": {"options": {
        "mediapipe": {"person_treshold": 0.4}}}}, "segment")
    with pytest.raises(ConfigError, match=r"\[segment\.options\.mediapipe\] has unknown key.*"
                                          r"allowed keys: \['person_threshold'.*Remove or rename "
                                          r"segment\.options\.mediapipe\.person_treshold "):
        segmenters.check_params(params)
    with pytest.raises(ConfigError, match=r"segment\.options\.mediapipe\.person_treshold"):
        segmenters.make_segmenter(params)
    bad_method = config.load_section({"segment": {"options": {"mediapip": {}}}}, "segment")
    with pytest.raises(ConfigError, match=r"\[segment.options\] names 'mediapip'.*'mediapipe'"):
        segmenters.check_params(bad_method)
    with pytest.raises(ConfigError, match=r"segment.options.auto\] has unknown.*"
                                          r"segment\.options\.auto\.alpha"):
        segmenters.check_params(config.load_section(
            {"segment": {"options": {"auto": {"alpha": 100}}}}, "segment"))


def test_out_of_range_option_names_it():
    params = config.load_section({"segment": {"options": {
        "mediapipe": {"person_threshold": 1.5}}}}, "segment")
    with pytest.raises(ConfigError, match=r"\[segment.options.mediapipe.person_threshold\] = 1.5"):
        segmenters.check_params(params)


def test_flat_mediapipe_keys_of_an_old_params_file_name_their_new_place():
    with pytest.raises(ConfigError, match=r"person_threshold moved to "
                                          r"segment\.options\.mediapipe\.person_threshold"):
        config.load_section({"segment": {"person_threshold": 0.4}}, "segment")


def cutout(img: Image.Image, bg) -> np.ndarray:
    """`img` as a cut-out: (H, W, 4) premultiplied (colour over black) with alpha 0 where it shows
    the plain background `bg`, 255 elsewhere; the array `storage.read_image(keep_alpha=True)`
    gives for such an RGBA PNG."""
    rgb = np.asarray(img)
    alpha = np.where((rgb == np.array(bg, np.uint8)).all(axis=2), 0, 255).astype(np.uint8)
    return np.dstack([rgb * (alpha[..., None] // 255), alpha])  # (H, W, 4) uint8


BG = (235, 232, 225)


def test_cutout_takes_the_alpha_as_person_mask_minus_skin_and_head(seg):
    rgba = cutout(draw_person(), BG)
    opaque = rgba[..., 3] >= 128
    r = segment.segment_image(rgba, DEFAULT, seg)
    assert r.mask_source == "alpha" and r.kept, r.reason
    assert r.person_share == pytest.approx(opaque.mean())
    rgb = rgba[..., :3]
    assert not (r.clothing_mask & ~opaque).any(), "clothing outside the alpha"
    assert not (r.clothing_mask & mediapipe_segmenter.skin_mask(rgb)).any(), "skin left in"
    assert r.clothing_mask[220, W // 2] and not r.clothing_mask[75, W // 2], "torso yes, face no"
    # The head box comes off too: hair (not skin-coloured) above the face is gone.
    assert opaque[28, W // 2] and not r.clothing_mask[28, W // 2]

    bare = dataclasses.replace(DEFAULT, remove_skin=False, remove_head=False)
    with segmenters.make_segmenter(bare) as s:
        whole = segment.segment_image(rgba, bare, s)
    assert whole.mask_source == "alpha"
    assert np.array_equal(whole.clothing_mask, opaque), "no removal: the mask is the opaque region"
    skin_only = dataclasses.replace(DEFAULT, remove_head=False)
    with segmenters.make_segmenter(skin_only) as s:
        r = segment.segment_image(rgba, skin_only, s)
    assert np.array_equal(r.clothing_mask, opaque & ~mediapipe_segmenter.skin_mask(rgb))


def test_opaque_images_go_to_mediapipe_exactly_as_method_mediapipe(seg, person_result):
    assert person_result.mask_source == "mediapipe", "an RGB image under auto"
    params = dataclasses.replace(DEFAULT, method="mediapipe")
    with segmenters.make_segmenter(params) as mp:
        r = segment.segment_image(np.asarray(draw_person()), params, mp)
    assert r.mask_source == "mediapipe"
    assert np.array_equal(r.clothing_mask, person_result.clothing_mask)
    # An alpha channel that is nearly all opaque (rounded corners: < 5% transparent) is no cut-out.
    rgba = np.dstack([np.asarray(draw_person()), np.full((H, W), 255, np.uint8)])
    rgba[:20, :20, 3] = rgba[:20, -20:, 3] = 0  # 0.4% of the frame
    rgba[..., :3] *= (rgba[..., 3:] // 255)
    r = segment.segment_image(rgba, DEFAULT, seg)
    assert r.mask_source == "mediapipe" and r.kept, r.reason


def test_cutout_rule_is_the_transparent_share(seg):
    from stylecluster.segmenters.auto import AutoOptions, is_cutout

    alpha = np.full((100, 100), 255, np.uint8)
    alpha.flat[:499] = 127  # 4.99% below 128
    assert not is_cutout(alpha, AutoOptions())
    alpha.flat[499] = 0  # 5%
    assert is_cutout(alpha, AutoOptions())
    assert not is_cutout(alpha, AutoOptions(alpha_threshold=100)), "127 is opaque at threshold 100"


def test_segment_posts_streams_records_unreadable_and_builds_the_manifest(seg):
    written = {}
    items = [("p1", draw_person()), ("p2", DataError("x.png: image does not decode")),
             ("p3", draw_scenery())]
    out = segment.segment_posts(iter(items), DEFAULT, seg,
                                on_kept=lambda pid, rel, img: written.setdefault(pid, (rel, img))
                                and f"digest-of-{pid}")
    m = out.manifest
    schemas.check(m, "segment_manifest", "test")
    assert list(m.columns) == ["post_id", "clothing_share", "person_share", "kept", "reason",
                               "mask_path", "mask_source", "mask_sha256"]
    assert m["mask_source"].tolist() == ["mediapipe", "", "mediapipe"]
    assert m["mask_sha256"].tolist() == ["digest-of-p1", "", ""], "on_kept's digest, per mask"
    assert m["post_id"].tolist() == ["p1", "p2", "p3"]
    assert m["kept"].tolist() == [True, False, False]
    assert m["mask_path"].tolist() == ["masks/p1.png", "", ""]
    assert m.loc[1, "reason"] == "unreadable image: x.png: image does not decode"
    assert math.isnan(m.loc[1, "clothing_share"])
    assert set(written) == {"p1"}
    masked = written["p1"][1]
    nonblack = masked.any(axis=2).mean()
    assert nonblack == pytest.approx(m.loc[0, "clothing_share"], abs=0.005), \
        f"non-black share {nonblack:.3f} vs clothing share {m.loc[0, 'clothing_share']:.3f}"
    s = out.summary
    assert (s.n_images, s.n_kept, s.n_dropped) == (3, 1, 2)
    assert s.dropped_by_reason == {"low_clothing_share": 1, "no_pose": 0, "no_image": 0,
                                      "missing": 0, "unreadable": 1, "too_large": 0}
    assert s.unreadable_post_ids == ["p2"]
    assert s.mask_source == {"alpha": 0, "mediapipe": 2, "none": 0}
    assert s.kept_by_mask_source == {"alpha": 0, "mediapipe": 1, "none": 0}
    assert s.clothing_share_quantiles["max"] == pytest.approx(m.loc[0, "clothing_share"])
    json.dumps(s.to_json())


def test_manifest_and_summary_count_each_mask_source(seg):
    written = {}
    items = [("cut", cutout(draw_person(), BG)), ("photo", draw_person()), ("text", None),
             ("cutscene", cutout(draw_scenery(), (0, 0, 0)))]
    out = segment.segment_posts(iter(items), DEFAULT, seg,
                                on_kept=lambda pid, rel, img: (written.__setitem__(pid, img), "d")[1])
    m = out.manifest
    schemas.check(m, "segment_manifest", "test")
    # draw_scenery has no pure-black pixel: its "cut-out" is all opaque, so it goes to mediapipe.
    assert m["mask_source"].tolist() == ["alpha", "mediapipe", "", "mediapipe"]
    assert out.summary.mask_source == {"alpha": 1, "mediapipe": 2, "none": 0}
    assert out.summary.kept_by_mask_source == {"alpha": 1, "mediapipe": 1, "none": 0}
    masked = written["cut"]
    assert masked.shape == (H, W, 3), "written as RGB, full size"
    assert masked.any(axis=2).mean() == pytest.approx(m.loc[0, "clothing_share"], abs=0.005)
    assert not masked[cutout(draw_person(), BG)[..., 3] == 0].any(), "black outside the figure"


def test_empty_input_gives_an_empty_manifest_with_the_schema(seg):
    out = segment.segment_posts([], DEFAULT, seg)
    schemas.check(out.manifest, "segment_manifest", "test")
    assert len(out.manifest) == 0 and out.summary.clothing_share_quantiles["median"] is None


def test_bad_inputs_are_named(seg):
    with pytest.raises(DataError, match=r"post_id 'a' appears twice"):
        segment.segment_posts([("a", draw_food()), ("a", draw_food())], DEFAULT, seg)
    with pytest.raises(DataError,
                       match=r"post 'g': image must be .*uint8 RGB.*float64 \(4, 4, 3\)"):
        segment.segment_posts([("g", np.zeros((4, 4, 3)))], DEFAULT, seg)


def test_missing_mediapipe_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # makes `import mediapipe` fail
    with pytest.raises(BackendError, match=r"segment.method = 'auto' needs the mediapipe .*"
                                           r"pip install --no-deps mediapipe==0\.10\.21.*method: none"):
        segmenters.make_segmenter(DEFAULT)


def test_skin_mask_covers_skin_tones_not_garment_colours():
    skin = [(255, 224, 196), (224, 180, 150), (198, 134, 66), (141, 85, 36), (92, 51, 23)]
    cloth = [(40, 70, 160), (200, 40, 40), (20, 20, 20), (250, 250, 250), (60, 140, 70),
             (50, 50, 60), (230, 200, 40)]
    arr = np.array([skin + cloth], dtype=np.uint8)  # (1, 12, 3)
    got = mediapipe_segmenter.skin_mask(arr)[0].tolist()
    assert got == [True] * len(skin) + [False] * len(cloth), got


def test_head_mask_widens_and_clips_the_face_box():
    m = mediapipe_segmenter.head_mask((100, 200), [(0.4, 0.2, 0.2, 0.2), (0.95, -0.1, 0.1, 0.2)])
    ys, xs = np.nonzero(m[:60, :150])
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (8, 42, 70, 129)
    assert m[0, 199] and m.shape == (100, 200)


def test_mask_paths_stay_inside_the_masks_folder():
    assert segment.mask_relpath("p000001") == "masks/p000001.png"
    for bad in ["../etc/passwd", "a/b", "笔记1", ".hidden", ""]:
        rel = segment.mask_relpath(bad)
        assert rel.startswith("masks/id-") and rel.count("/") == 1, rel
    assert segment.mask_relpath("a/b") != segment.mask_relpath("a_b")


def test_histogram_marks_the_threshold():
    m = pd.DataFrame({"clothing_share": [0.01, 0.2, 0.3, math.nan],
                      "kept": [False, True, True, False]})
    fig = figures.plot_clothing_share_hist(m, 0.05)
    ax = fig.axes[0]
    assert any(list(line.get_xdata()) == [0.05, 0.05] for line in ax.lines)
    assert "1 unreadable" in ax.get_title()
    figures.plot_clothing_share_hist(m.iloc[:0], 0.05)  # empty manifest still plots


def test_reader_gives_the_alpha_only_when_asked_and_the_same_colour(tmp_path):
    from stylecluster import storage

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (200, 300, 4), dtype=np.uint8)
    rgba[:, :100, 3] = 0  # a transparent third
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    for max_side in (2048, 128):  # as stored, and shrunk (the alpha shrunk like the colour)
        plain = storage.read_image(tmp_path / "cut.png", max_side=max_side)
        both = storage.read_image(tmp_path / "cut.png", max_side=max_side, keep_alpha=True)
        assert plain.mode == "RGB" and both.mode == "RGBa" and both.size == plain.size
        arr = np.asarray(both)  # (H, W, 4)
        assert np.array_equal(arr[..., :3], np.asarray(plain)), "colour = the RGB read as before"
    assert np.array_equal(np.asarray(storage.read_image(tmp_path / "cut.png", keep_alpha=True))
                          [..., 3], rgba[..., 3])
    assert (arr[:, :40, 3] == 0).all() and arr.shape == (85, 128, 4)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "photo.png")
    assert storage.read_image(tmp_path / "photo.png", keep_alpha=True).mode == "RGB"
    pal = Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pal.png", transparency=0)
    assert storage.read_image(tmp_path / "pal.png", keep_alpha=True).mode == "RGBa"
