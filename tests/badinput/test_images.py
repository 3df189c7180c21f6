"""Bad images: each decodes upright as 8-bit RGB within max_side, or is dropped with its reason.

Every case writes its raw folder inside the sentinel tree and proves it byte-identical afterwards.
The table of cases is `README.md` (## Images) beside this file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from tests.harness import run_stage
from stylecluster import catalog
from stylecluster import config
from stylecluster.pipeline import embed
from stylecluster import storage
from stylecluster import segmenters
from stylecluster.pipeline import segment
from stylecluster.errors import ConfigError, DataError, ImageTooLargeError

ROOT = Path(__file__).resolve().parents[2]
JPEG_TOLERANCE = 6.0  # mean absolute difference (0..255) of a q95 JPEG of a smooth image
BOMB_SIDE = 9500  # 9500^2 = 90.25M pixels: over Pillow's default limit (89.5M), under twice it


def photo(w: int = 64, h: int = 48) -> Image.Image:
    """A smooth, asymmetric RGB image: every rotation or flip of it looks different."""
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([255 * x / (w - 1), 255 * y / (h - 1), np.full((h, w), 60.0)], axis=2)
    arr[: h // 3, : w // 3] = [250, 250, 30]  # a yellow block in the top-left corner
    return Image.fromarray(arr.round().astype(np.uint8))


def save_jpeg(img: Image.Image, path: Path, orientation: int | None = None) -> Path:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=95, exif=exif)
    return path


def truncated_jpeg(path: Path) -> Path:
    save_jpeg(photo(256, 192), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def bomb_png(path: Path, side: tuple[int, int] = (BOMB_SIDE, BOMB_SIDE)) -> Path:
    """A 1-bit PNG over Pillow's pixel limit: a few KB on disk, never decoded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("1", side).save(path)
    return path


def stored(path: Path) -> tuple[tuple[int, int], str]:
    """Size and mode of an image file, as written."""
    with Image.open(path) as img:
        return img.size, img.mode


def grey(img: Image.Image) -> np.ndarray:
    arr = np.asarray(img)
    assert img.mode == "RGB" and arr.dtype == np.uint8 and arr.shape[2] == 3
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    return arr[..., 0]


@pytest.fixture()
def raw(sentinel):
    """The raw image folder of a case, inside the sentinel tree."""
    folder = sentinel.root / "raw" / "images"
    folder.mkdir(parents=True)
    return folder


def read_untouched(sentinel, path: Path, **kwargs) -> Image.Image:
    """read_image(path) after a snapshot; the raw folder (all of the tree) must not change."""
    sentinel.snapshot()
    img = storage.read_image(path, **kwargs)
    sentinel.assert_unchanged()
    return img


# ---- decoded right ---------------------------------------------------------------------------

@pytest.mark.parametrize("orientation,stored_as", [(6, Image.Transpose.ROTATE_90),
                                                   (8, Image.Transpose.ROTATE_270)])
def test_exif_rotated_jpeg_decodes_upright(sentinel, raw, orientation, stored_as):
    upright = photo()
    path = save_jpeg(upright.transpose(stored_as), raw / "rotated.jpg", orientation)
    got = read_untouched(sentinel, path)
    assert got.size == upright.size, f"orientation {orientation}: {got.size} is not upright"
    diff = np.abs(np.asarray(got, dtype=float) - np.asarray(upright, dtype=float)).mean()
    wrong = np.abs(np.asarray(got.transpose(Image.Transpose.ROTATE_180), dtype=float)
                   - np.asarray(upright, dtype=float)).mean()
    assert diff < JPEG_TOLERANCE < wrong, \
        f"mean |upright - decoded| = {diff:.2f} (turned 180°: {wrong:.2f})"


@pytest.mark.parametrize("name,make", [
    ("grey16.png", lambda: Image.fromarray(np.full((8, 8), 32768, np.uint16))),  # mode I;16
    ("grey16be.tif", lambda: Image.frombytes("I;16B", (8, 8),
                                             np.full(64, 32768, ">u2").tobytes())),
    ("grey32.tif", lambda: Image.fromarray(np.full((8, 8), 32768, np.int32))),  # mode I
    ("float.tif", lambda: Image.fromarray(np.full((8, 8), 0.5, np.float32))),  # mode F, 0..1
])
def test_high_bit_depth_mid_grey_stays_mid_grey(sentinel, raw, name, make):
    make().save(raw / name)
    values = np.unique(grey(read_untouched(sentinel, raw / name)))
    assert values.tolist() == [128], \
        f"{name}: mid-grey decoded as {values.tolist()} (255 = clipped)"


def test_16_bit_gradient_scales_instead_of_clipping(sentinel, raw):
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)[None, :].repeat(4, axis=0)
    Image.fromarray(ramp).save(raw / "ramp16.png")
    got = grey(read_untouched(sentinel, raw / "ramp16.png"))[0]
    assert got.tolist() == list(range(256)), f"16-bit ramp decoded as {got[:8].tolist()}..."


def test_rgba_cutout_gets_a_black_background(sentinel, raw):
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., :3] = (230, 220, 210)  # a pre-cut export: colour kept under the transparent pixels
    arr[5:15, 5:15] = (200, 40, 40, 255)  # the garment, opaque
    arr[0, 0, 3] = 128  # one half-transparent edge pixel
    Image.fromarray(arr, "RGBA").save(raw / "cutout.png")
    got = np.asarray(read_untouched(sentinel, raw / "cutout.png"))
    assert got[10, 10].tolist() == [200, 40, 40]
    assert got[19, 19].tolist() == [0, 0, 0], "transparent pixels must be black, not their colour"
    assert got[0, 0].tolist() == [115, 110, 105]  # colour x 128/255


@pytest.mark.parametrize("name,mode", [("alpha.png", "LA"), ("alpha.tif", "PA")])
def test_grey_and_palette_alpha_composite_over_black(sentinel, raw, name, mode):
    cutout = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    cutout.paste((180, 180, 180, 255), (0, 0, 5, 10))
    (cutout.convert("LA") if mode == "LA" else cutout.convert("P").convert("PA")).save(raw / name)
    assert stored(raw / name)[1] == mode, "premise: the file holds this mode"
    got = np.asarray(read_untouched(sentinel, raw / name))
    assert got[:, :5].min() > 150 and got[:, 5:].max() == 0, f"{mode}: {got[0].tolist()}"


def test_tiff_with_premultiplied_alpha_is_not_darkened_twice(sentinel, raw):
    arr = np.zeros((10, 10, 4), np.uint8)
    arr[:, :5] = (200, 100, 50, 255)
    arr[9, 9] = (100, 50, 25, 128)  # premultiplied: (200, 100, 50) at half alpha
    Image.fromarray(arr, "RGBA").save(raw / "straight.tif")
    unassociated = b"\x52\x01\x03\x00\x01\x00\x00\x00\x02\x00"  # ExtraSamples = 2
    data = (raw / "straight.tif").read_bytes()
    assert data.count(unassociated) == 1
    (raw / "premultiplied.tif").write_bytes(data.replace(unassociated,
                                                         unassociated[:-2] + b"\x01\x00"))
    got = np.asarray(read_untouched(sentinel, raw / "premultiplied.tif"))
    assert got[0, 0].tolist() == [200, 100, 50] and got[0, 9].tolist() == [0, 0, 0]
    assert np.abs(got[9, 9].astype(int) - [100, 50, 25]).max() <= 1, got[9, 9].tolist()


def test_premultiplied_modes_are_their_own_composite_over_black():
    la = Image.fromarray(np.array([[[90, 128], [0, 0]]], np.uint8), "LA").convert("La")
    rgba = Image.fromarray(np.array([[[200, 100, 50, 128]]], np.uint8), "RGBA").convert("RGBa")
    assert np.asarray(storage._to_rgb(la)).tolist() == [[[45, 45, 45], [0, 0, 0]]]
    assert np.asarray(storage._to_rgb(rgba)).tolist() == [[[100, 50, 25]]]


def test_palette_png_with_a_transparent_index(sentinel, raw):
    img = Image.new("P", (10, 10), 0)
    img.putpalette([255, 255, 255, 30, 90, 200] + [0] * 762)  # index 0 white, 1 blue
    img.paste(1, (0, 0, 10, 5))
    img.save(raw / "palette.png", transparency=0)  # white (index 0) is transparent
    got = np.asarray(read_untouched(sentinel, raw / "palette.png"))
    assert got[0, 0].tolist() == [30, 90, 200] and got[9, 9].tolist() == [0, 0, 0]


def test_cmyk_jpeg_decodes_to_rgb(sentinel, raw):
    img = Image.new("CMYK", (16, 16), (0, 0, 0, 0))  # no ink: white
    img.paste((255, 0, 0, 0), (0, 0, 8, 16))  # full cyan
    img.save(raw / "cmyk.jpg", quality=95)
    got = np.asarray(read_untouched(sentinel, raw / "cmyk.jpg"), dtype=int)
    assert np.abs(got[8, 2] - [0, 255, 255]).max() <= 8, got[8, 2].tolist()
    assert np.abs(got[8, 13] - [255, 255, 255]).max() <= 8, got[8, 13].tolist()


def test_one_bit_image_is_black_and_white(sentinel, raw):
    img = Image.new("1", (8, 8), 0)
    img.paste(1, (0, 0, 4, 8))
    img.save(raw / "bw.png")
    got = grey(read_untouched(sentinel, raw / "bw.png"))
    assert got[:, :4].min() == 255 and got[:, 4:].max() == 0


def test_rgb_within_max_side_keeps_its_exact_pixels(sentinel, raw):
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(raw / "rgb.png")
    got = read_untouched(sentinel, raw / "rgb.png", max_side=64)
    assert got.mode == "RGB" and np.array_equal(np.asarray(got), pixels)


def test_larger_png_is_shrunk_keeping_its_aspect(sentinel, raw):
    photo(300, 100).save(raw / "wide.png")
    got = read_untouched(sentinel, raw / "wide.png", max_side=64)
    assert got.mode == "RGB" and got.size in ((64, 21), (64, 22)), got.size


GENERATE = """
import sys
from PIL import Image
g = Image.linear_gradient("L").resize((12000, 12000))
bands = (g, g.transpose(Image.Transpose.ROTATE_90), g.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
Image.merge("RGB", bands).save(sys.argv[1], quality=80)
"""
DECODE = r"""
import json, re, sys, warnings
warnings.simplefilter("error")  # any DecompressionBombWarning would fail the decode
from stylecluster import storage
img = storage.read_image(sys.argv[1], max_side=2048)
# VmHWM is this process image's peak; ru_maxrss would carry over the peak of the (large) pytest
# process that forked this one, since Linux keeps it across execve.
hwm_kb = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1))
print(json.dumps({"size": img.size, "mode": img.mode, "peak_mb": hwm_kb / 1024}))
"""


def test_12000px_jpeg_is_drafted_and_shrunk_in_bounded_memory(sentinel, raw):
    path = raw / "huge.jpg"
    # Built in its own process, so this one never holds the 432 MB of pixels.
    subprocess.run([sys.executable, "-c", GENERATE, str(path)], check=True, timeout=60)
    sentinel.snapshot()
    proc = subprocess.run([sys.executable, "-c", DECODE, str(path)], capture_output=True,
                          text=True, timeout=60)
    sentinel.assert_unchanged()
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    assert got["size"] == [2048, 2048] and got["mode"] == "RGB", got
    # A full decode holds 12000 x 12000 x 3 = 432 MB (decode + thumbnail peaks near 780 MB).
    assert got["peak_mb"] < 600, f"peak RSS {got['peak_mb']:.0f} MB decoding a 12000x12000 JPEG"


# ---- dropped or refused, with the reason ------------------------------------------------------

def test_pixel_bomb_is_too_large_with_pillows_default_limit(sentinel, raw):
    path = bomb_png(raw / "bomb.png")
    sentinel.snapshot()
    with pytest.raises(ImageTooLargeError,
                       match=r"bomb\.png: too many pixels.*9500x9500 = 90250000 pixels.*"
                             r"MAX_IMAGE_PIXELS.*shrink the file .* or remove it"):
        storage.read_image(path)
    sentinel.assert_unchanged()


def test_bomb_warning_and_error_are_too_large_and_filters_stay_as_they_were(sentinel, raw,
                                                                            monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    photo(120, 100).save(raw / "warned.png")  # 12,000 px: Pillow only warns (1x..2x the limit)
    photo(200, 150).save(raw / "refused.png")  # 30,000 px: Pillow raises (over 2x)
    filters = list(warnings.filters)
    sentinel.snapshot()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        status = storage.image_status(raw.parent, pd.Series(["images/warned.png", "images/refused.png"]))
    sentinel.assert_unchanged()
    assert status[0].startswith("too_large: 120x100 = 12000 pixels"), status[0]
    assert status[1].startswith("too_large: Image size (30000 pixels) exceeds"), status[1]
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
    assert warnings.filters == filters, "read_image must not leave a warning filter behind"
    with pytest.raises(ImageTooLargeError, match=r"warned\.png: too many pixels"):
        storage.read_image(raw / "warned.png")


def test_jpeg_over_the_limit_decodes_when_its_draft_is_under_it(sentinel, raw, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 25_000)
    path = save_jpeg(photo(200, 200), raw / "draftable.jpg")  # 40,000 px in the file
    got = read_untouched(sentinel, path, max_side=64)  # drafted at 1/2: 10,000 px decoded
    assert got.size == (64, 64)


@pytest.mark.parametrize("name,write,why", [
    ("truncated.jpg", truncated_jpeg, r"image file is truncated"),
    ("empty.jpg", lambda p: p.write_bytes(b""), r"cannot identify image file"),
    ("notes.jpg", lambda p: p.write_text("这不是图片 not an image\n", encoding="utf-8"),
     r"cannot identify image file"),
])
def test_broken_files_are_unreadable_and_named(sentinel, raw, name, write, why):
    write(raw / name)
    sentinel.snapshot()
    with pytest.raises(DataError, match=rf"{name.replace('.', r'[.]')}: image does not decode "
                                        rf"\(.*{why}.*\); replace or remove the file"):
        storage.read_image(raw / name)
    status = storage.image_status(raw.parent, pd.Series([f"images/{name}"]))[0]
    sentinel.assert_unchanged()
    assert status.startswith("unreadable: ") and why.split()[0] in status, status


def test_missing_file_names_the_path(sentinel, raw):
    sentinel.snapshot()
    with pytest.raises(DataError, match=r"images/gone\.jpg: image file not found"):
        storage.read_image(raw / "gone.jpg")
    sentinel.assert_unchanged()


def test_image_status_gives_one_reason_per_row(sentinel, raw):
    photo().save(raw / "ok.png")
    (raw / "empty.jpg").write_bytes(b"")
    bomb_png(raw / "bomb.png")
    paths = pd.Series(["images/ok.png", None, np.nan, "", "../outside.png", "images/gone.png",
                       "images/empty.jpg", "images/bomb.png"], index=list("abcdefgh"))
    sentinel.snapshot()
    status = storage.image_status(raw.parent, paths)
    sentinel.assert_unchanged()
    assert status.index.tolist() == list("abcdefgh")
    assert status.tolist()[:6] == ["ok", "no image", "no image", "no image", "unsafe path",
                                   "missing"]
    assert status["g"].startswith("unreadable: ") and status["h"].startswith("too_large: "), status


def test_max_side_below_64_is_refused():
    with pytest.raises(ConfigError, match=r"\[segment\.max_side\] = 32 is not allowed: expected an "
                                          r"integer >= 64.*Fix the value in params\.yaml"):
        config.load_section({"segment": {"max_side": 32}}, "segment")


# ---- segment on a table that mixes them --------------------------------------------------------

def test_segment_counts_each_drop_and_embed_skips_them(sentinel, raw):
    photo().save(raw / "ok.png")
    save_jpeg(photo(), raw / "rotated.jpg", orientation=6)  # stored 64x48, upright 48x64
    photo(300, 200).save(raw / "large.png")
    truncated_jpeg(raw / "truncated.jpg")
    (raw / "empty.jpg").write_bytes(b"")
    bomb_png(raw / "bomb.png")
    bomb_png(raw / "bomb2.png", (14000, 13000))  # over twice the limit: Pillow's own error
    rows = {"ok": "images/ok.png", "rotated": "images/rotated.jpg", "text_only": None,
            "large": "images/large.png", "truncated": "images/truncated.jpg",
            "empty": "images/empty.jpg", "gone": "images/gone.png", "bomb": "images/bomb.png",
            "bomb2": "images/bomb2.png"}
    n = len(rows)
    project = sentinel.root / "project"
    posts = pd.DataFrame({
        "post_id": list(rows), "content": ["c"] * n, "tags": ["t"] * n,
        "posted_at": pd.to_datetime(["2024-01-05"] * n, utc=True), "month": ["2024-01"] * n,
        "image_path": pd.Series(list(rows.values()), dtype=object)})
    posts.to_parquet(project / catalog.POSTS.name, index=False)
    (project / "params.yaml").write_text(yaml.safe_dump(
        {"runtime": {"progress": False}, "segment": {"method": "none", "max_side": 128}}))
    out = project / "segment"
    sentinel.snapshot()
    proc = run_stage("segment", "--posts", project / catalog.POSTS.name, "--raw", raw.parent,
                     "--out", out, params=project / "params.yaml", timeout=120)
    sentinel.assert_unchanged(allowed=(out,))
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = storage.read_table(out / catalog.SEGMENT_MANIFEST.name, "segment_manifest")
    assert m["post_id"].tolist() == list(rows), "one manifest row per post, in input order"
    reason = dict(zip(m["post_id"], m["reason"]))
    assert m["kept"].tolist() == [True, True, False, True] + [False] * 5
    assert reason["text_only"] == "no image"
    for pid, prefix, detail in [("truncated", "unreadable image: ", "image file is truncated"),
                                ("empty", "unreadable image: ", "empty.jpg: image does not decode"),
                                ("gone", "image missing: ", "gone.png: image file not found"),
                                ("bomb", "image too large: ", "bomb.png: too many pixels"),
                                ("bomb2", "image too large: ", "bomb2.png: too many pixels")]:
        assert reason[pid].startswith(prefix) and detail in reason[pid], reason[pid]
    masks = {pid: stored(out / rel)[0] for pid, rel in zip(m["post_id"], m["mask_path"]) if rel}
    assert masks == {"ok": (64, 48), "rotated": (48, 64), "large": (128, 85)}, masks
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dropped_by_reason"] == {"low_clothing_share": 0, "no_pose": 0, "no_image": 1,
                                            "missing": 1, "unreadable": 2, "too_large": 2}, summary
    assert (summary["n_images"], summary["n_kept"], summary["n_dropped"]) == (9, 3, 6)
    assert summary["unreadable_post_ids"] == ["truncated", "empty"]

    texts = pd.DataFrame({"post_id": list(rows), "has_text": [True] * n, "embed_input": ["x"] * n})
    inputs = embed.select_inputs(m, texts)
    assert inputs.image_ids == ["ok", "rotated", "large"]
    dropped = dict(zip(inputs.dropped["post_id"], inputs.dropped["reason"]))
    assert dropped["text_only"] == "no image" and set(dropped) == set(rows) - set(inputs.image_ids)


def test_segment_core_reads_no_image_and_keeps_bad_paths_off_disk():
    params = config.load_section({"segment": {"method": "none"}}, "segment")
    asked = []

    def load(rel):
        asked.append(rel)
        if rel == "big.png":
            raise ImageTooLargeError("big.png: too many pixels")
        return photo(8, 8)

    images = segment.load_images(["a", "b", "c", "d", "e"],
                                 ["a.png", None, float("nan"), "../etc/x.png", "big.png"], load)
    with segmenters.make_segmenter(params) as s:
        out = segment.segment_posts(images, params, s)
    assert asked == ["a.png", "big.png"], "no image and unsafe paths are never handed to the loader"
    assert out.manifest["reason"].tolist()[1:] == [
        "no image", "no image",
        "unreadable image: unsafe image_path '../etc/x.png': it must be relative and stay inside "
        "the raw folder (validate rejects it)",
        "image too large: big.png: too many pixels"]
    assert out.summary.dropped_by_reason["no_image"] == 2
