"""Canvas, backgrounds, heads and the non-outfit images (scenery, food, face close-up) of the sample.

Everything is drawn at `SS` times the output size and box-reduced at the end, which anti-aliases
edges. Every function takes an explicit `numpy.random.Generator`; nothing touches global state, so the
same generator state always gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

WIDTH, HEIGHT = 384, 512
SS = 2  # supersampling factor
W, H = WIDTH * SS, HEIGHT * SS

Color = tuple[int, int, int]
Shape = Callable[[ImageDraw.ImageDraw, Any], None]  # draws one shape with the given fill

SKIN_TONES: tuple[Color, ...] = (
    (243, 208, 184), (236, 196, 166), (228, 184, 152), (214, 166, 132), (192, 144, 108),
)
HAIR_COLORS: tuple[Color, ...] = ((22, 18, 18), (38, 28, 24), (62, 42, 30), (92, 62, 40), (128, 86, 52))
HAIR_STYLES = ("long", "long", "bob", "bun", "ponytail", "short")
NOISE_STD = (0.3, 1.5)  # range of the grain's standard deviation, in grey levels
BACKGROUNDS = ("plain", "wall_floor", "stripes", "bokeh", "vignette")


def pick(rng: np.random.Generator, seq: Sequence[Any]) -> Any:
    """One element of `seq`, chosen by `rng`."""
    return seq[int(rng.integers(len(seq)))]


def _byte(v: float) -> int:
    return 0 if v < 0 else 255 if v > 255 else int(v)


def jitter(rng: np.random.Generator, color: Color, amount: int) -> Color:
    """`color` with each channel moved by up to `amount`."""
    deltas = rng.integers(-amount, amount + 1, size=3)
    return (_byte(color[0] + deltas[0]), _byte(color[1] + deltas[1]), _byte(color[2] + deltas[2]))


def mix(a: Color, b: Color, t: float) -> Color:
    """Linear blend, `t` = 0 gives `a`."""
    return (_byte(a[0] + (b[0] - a[0]) * t), _byte(a[1] + (b[1] - a[1]) * t), _byte(a[2] + (b[2] - a[2]) * t))


def shade(color: Color, factor: float) -> Color:
    """`color` scaled by `factor` (darker below 1)."""
    return (_byte(color[0] * factor), _byte(color[1] * factor), _byte(color[2] * factor))


def ellipse(cx: float, cy: float, rx: float, ry: float) -> Shape:
    """Filled ellipse centred at (cx, cy)."""
    return lambda d, f: d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=f)


def polygon(points: Sequence[tuple[float, float]]) -> Shape:
    """Filled polygon."""
    pts = [(float(x), float(y)) for x, y in points]
    return lambda d, f: d.polygon(pts, fill=f)


@dataclass
class Layers:
    """An image being drawn plus its ground-truth clothing mask (255 where a garment is worn).

    For a cut-out (`stylecluster sample --cutout`) `mark_ground` keeps a copy of the backdrop once it
    is drawn; every pixel drawn over it afterwards is the figure, and `finish` makes the rest
    transparent. Without it nothing changes (no copy, no random draw), so the default sample stays
    byte-identical.
    """

    img: Image.Image
    cloth: Image.Image = field(init=False)
    ground: Image.Image | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.cloth = Image.new("L", self.img.size, 0)
        self.draw = ImageDraw.Draw(self.img)
        self._cdraw = ImageDraw.Draw(self.cloth)

    def mark_ground(self) -> None:
        """Everything drawn so far is background: a cut-out makes it transparent."""
        self.ground = self.img.copy()

    def figure(self) -> Image.Image:
        """Mode L, 255 where the image differs from the marked backdrop (the figure), else 0."""
        if self.ground is None:
            raise ValueError("Layers.figure needs mark_ground() first")
        drawn = np.any(np.asarray(self.img) != np.asarray(self.ground), axis=2)  # (H, W) bool
        return Image.fromarray(drawn.astype(np.uint8) * 255, "L")

    def paint(self, shape: Shape, fill: Color, worn: bool = False) -> None:
        """Draw `shape` in a flat colour; it counts as clothing when `worn`."""
        shape(self.draw, fill)
        shape(self._cdraw, 255 if worn else 0)

    def paint_texture(self, shape: Shape, texture: Callable[[int, int], Image.Image],
                      worn: bool = True, roundness: float = 0.22) -> None:
        """Fill `shape` with `texture(w, h) -> RGB patch`, shaded like a cylinder; clothing when `worn`."""
        mask = Image.new("L", self.img.size, 0)
        shape(ImageDraw.Draw(mask), 255)
        box = mask.getbbox()
        if box is None:
            return
        x0, y0, x1, y1 = box
        patch = texture(x1 - x0, y1 - y0)
        if roundness:
            xs = np.linspace(-1.0, 1.0, x1 - x0)
            row = np.round(255 * (1.0 - roundness * xs**2)).astype(np.uint8)  # (w,)
            patch = ImageChops.multiply(patch, _row_image(row, patch.size))
        cut = mask.crop(box)
        self.img.paste(patch, (x0, y0), cut)
        self.cloth.paste(255 if worn else 0, (x0, y0), cut)


def _row_image(row: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """An RGB image of `size` whose every row is the grey ramp `row` (uint8, (width,))."""
    return Image.fromarray(np.repeat(row[None, :, None], 3, axis=2), "RGB").resize(size, Image.NEAREST)


def _smooth_field(rng: np.random.Generator, colors: Sequence[Color], grid: tuple[int, int],
                  size: tuple[int, int] = (W, H)) -> Image.Image:
    """A soft colour field: random colours on a coarse grid, bicubically enlarged to `size`."""
    gw, gh = grid
    idx = rng.integers(len(colors), size=(gh, gw))
    small = np.asarray(colors, dtype=np.uint8)[idx]  # (gh, gw, 3)
    return Image.fromarray(small, "RGB").resize(size, Image.BICUBIC)


def background(rng: np.random.Generator, floor_y: float) -> Image.Image:
    """A plain or lightly textured backdrop of size (W, H); `floor_y` is where the feet stand."""
    kind = pick(rng, BACKGROUNDS)
    base = jitter(rng, pick(rng, (
        (236, 230, 220), (222, 226, 230), (240, 226, 226), (214, 224, 214), (200, 200, 204),
        (246, 242, 236), (186, 196, 210), (120, 124, 130), (228, 214, 196), (60, 64, 72),
    )), 10)
    # Gradient (and vignette) on a coarse grid, enlarged: smooth and cheap.
    gh, gw = H // 16, W // 16
    t = np.linspace(0.0, 1.0, gh, dtype=np.float32)[:, None, None]
    top, bottom = np.array(shade(base, 1.04), np.float32), np.array(shade(base, 0.9), np.float32)
    small = np.broadcast_to(top + (bottom - top) * t, (gh, gw, 3)).copy()  # (gh, gw, 3)
    if kind == "vignette":
        yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        r2 = ((xx - gw / 2) / gw) ** 2 + ((yy - gh * 0.45) / gh) ** 2
        small *= np.clip(1.08 - 0.9 * r2, 0.6, 1.1)[:, :, None]
    small_img = Image.fromarray(np.clip(small, 0, 255).astype(np.uint8), "RGB")
    img = small_img.resize((WIDTH, HEIGHT), Image.BILINEAR)
    draw = ImageDraw.Draw(img)  # drawn at output size, then pixel-doubled: reduce(SS) undoes it exactly
    if kind == "wall_floor":
        fy = (floor_y - rng.uniform(0.03, 0.12) * H) / SS
        draw.rectangle((0, fy, WIDTH, HEIGHT), fill=jitter(rng, shade(base, 0.78), 12))
        draw.rectangle((0, fy - 6, WIDTH, fy), fill=shade(base, 1.08))
    elif kind == "stripes":
        step = int(rng.integers(18, 40))
        for x in range(int(rng.integers(step)), WIDTH, step):
            draw.rectangle((x, 0, x + step // 3, HEIGHT), fill=shade(base, 0.95))
    elif kind == "bokeh":
        blobs = _smooth_field(rng, [shade(base, f) for f in (0.8, 0.95, 1.05, 1.12)], (6, 8), (WIDTH, HEIGHT))
        img = Image.blend(img, blobs, 0.55)
    return img.resize((W, H), Image.NEAREST)


def finish(layers: Layers, rng: np.random.Generator) -> tuple[Image.Image, float]:
    """Reduce to the output size, add side light and sensor noise.

    Returns:
        The RGB image (WIDTH x HEIGHT) and the share of its pixels covered by clothing; RGBA, alpha
        0 outside the figure (anti-aliased by the same reduction), after `layers.mark_ground()`.
    """
    small = layers.img.reduce(SS)
    cloth = np.asarray(layers.cloth.reduce(SS)) > 127
    # Side light times exposure: gain * slope(x), with slope <= 1 applied by a multiply and the gain by a
    # lookup table (PIL ops on uint8: several times faster than the same maths in float numpy).
    slope = 1.0 + rng.uniform(-0.12, 0.12) * np.linspace(-1.0, 1.0, WIDTH)
    gain = rng.uniform(0.9, 1.08) * slope.max()
    row = np.round(255 * slope / slope.max()).astype(np.uint8)  # (WIDTH,)
    light = _row_image(row, (WIDTH, HEIGHT))
    out = ImageChops.multiply(small.point([min(255, int(v * gain + 0.5)) for v in range(256)] * 3), light)
    # Low-frequency luminance grain: per-pixel noise would triple the PNG size and encode time.
    grain = rng.standard_normal((HEIGHT // 8, WIDTH // 8)) * rng.uniform(*NOISE_STD) + 128  # centred on 128
    g = Image.fromarray(np.clip(np.round(grain), 0, 255).astype(np.uint8), "L")
    g = g.resize((WIDTH, HEIGHT), Image.BILINEAR)
    out = ImageChops.add(out, Image.merge("RGB", (g, g, g)), scale=1.0, offset=-128)
    if layers.ground is not None:
        out.putalpha(layers.figure().reduce(SS))  # RGB -> RGBA
    return out, float(cloth.mean())


def hair_back(layers: Layers, cx: float, cy: float, rx: float, ry: float, hair: Color, style: str) -> None:
    """Hair that falls behind the head and shoulders; drawn before the body."""
    if style == "long":
        layers.draw.rounded_rectangle((cx - 1.3 * rx, cy - 1.05 * ry, cx + 1.3 * rx, cy + 2.5 * ry),
                                      radius=rx, fill=hair)
    elif style == "bob":
        layers.draw.rounded_rectangle((cx - 1.28 * rx, cy - 1.05 * ry, cx + 1.28 * rx, cy + 0.95 * ry),
                                      radius=rx * 0.8, fill=hair)
    elif style == "ponytail":
        layers.draw.ellipse((cx + 0.5 * rx, cy - 0.4 * ry, cx + 1.4 * rx, cy + 1.6 * ry), fill=hair)
    elif style == "bun":
        layers.draw.ellipse((cx - 0.55 * rx, cy - 1.55 * ry, cx + 0.55 * rx, cy - 0.65 * ry), fill=hair)


def face(layers: Layers, rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float,
         skin: Color, hair: Color) -> None:
    """Ears, face, eyes, brows, nose, mouth, blush and the hair on top of the head."""
    d = layers.draw
    for s in (-1, 1):
        d.ellipse((cx + s * rx - 0.18 * rx, cy - 0.12 * ry, cx + s * rx + 0.18 * rx, cy + 0.22 * ry),
                  fill=shade(skin, 0.93))
    d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=skin)
    ex, ey = 0.4 * rx, cy + 0.04 * ry
    for s in (-1, 1):
        x = cx + s * ex
        d.ellipse((x - 0.2 * rx, ey - 0.09 * ry, x + 0.2 * rx, ey + 0.09 * ry), fill=(245, 242, 240))
        d.ellipse((x - 0.1 * rx, ey - 0.09 * ry, x + 0.1 * rx, ey + 0.09 * ry), fill=(40, 30, 28))
        d.line((x - 0.22 * rx, ey - 0.27 * ry, x + 0.2 * rx, ey - 0.3 * ry), fill=shade(hair, 1.2),
               width=max(1, int(0.07 * ry)))
        blush = mix(skin, (235, 120, 130), 0.25)
        d.ellipse((x - 0.2 * rx, ey + 0.2 * ry, x + 0.2 * rx, ey + 0.32 * ry), fill=blush)
    d.line((cx, cy + 0.15 * ry, cx - 0.06 * rx, cy + 0.35 * ry), fill=shade(skin, 0.8),
           width=max(1, int(0.04 * ry)))  # nose
    lips = jitter(rng, (196, 74, 84), 20)
    d.ellipse((cx - 0.22 * rx, cy + 0.5 * ry, cx + 0.22 * rx, cy + 0.62 * ry), fill=lips)
    # Hair cap over the forehead, with a side part.
    part = rng.uniform(-0.4, 0.4) * rx
    d.chord((cx - 1.12 * rx, cy - 1.14 * ry, cx + 1.12 * rx, cy + 0.1 * ry), 180, 360, fill=hair)
    d.polygon([(cx - 1.08 * rx, cy - 0.5 * ry), (cx + part, cy - 0.95 * ry), (cx + 1.08 * rx, cy - 0.5 * ry),
               (cx + 1.05 * rx, cy + 0.1 * ry), (cx + 0.7 * rx, cy - 0.45 * ry), (cx - 0.7 * rx, cy - 0.42 * ry),
               (cx - 1.05 * rx, cy + 0.1 * ry)], fill=hair)


def draw_face_closeup(rng: np.random.Generator, cutout: bool = False) -> tuple[Image.Image, float]:
    """A face filling the frame: skin and hair, shoulders, at most a thin strap of clothing.

    With `cutout` the image is RGBA, the backdrop transparent (the same pixels otherwise).
    """
    layers = Layers(background(rng, H))
    if cutout:
        layers.mark_ground()
    skin, hair = jitter(rng, pick(rng, SKIN_TONES), 6), pick(rng, HAIR_COLORS)
    cx, cy = W / 2 + rng.uniform(-0.06, 0.06) * W, H * rng.uniform(0.38, 0.46)
    rx, ry = W * rng.uniform(0.3, 0.36), H * rng.uniform(0.29, 0.33)
    hair_back(layers, cx, cy, rx, ry, hair, pick(rng, ("long", "bob", "short", "ponytail")))
    neck_w = 0.45 * rx
    layers.paint(polygon([(cx - neck_w, cy + 0.6 * ry), (cx + neck_w, cy + 0.6 * ry),
                          (cx + neck_w * 1.1, cy + 1.5 * ry), (cx - neck_w * 1.1, cy + 1.5 * ry)]),
                 shade(skin, 0.95))
    sy = cy + 1.45 * ry
    layers.paint(ellipse(cx, sy + 0.9 * ry, 2.4 * rx, 0.95 * ry), skin)
    if rng.random() < 0.6:  # thin straps or a neckline, well under 5% of the frame
        strap = jitter(rng, pick(rng, ((30, 30, 34), (240, 240, 236), (180, 40, 60))), 10)
        for s in (-1, 1):
            x = cx + s * 1.1 * rx
            layers.paint(polygon([(x - 6 * SS, sy), (x + 6 * SS, sy), (x + 6 * SS, H), (x - 6 * SS, H)]),
                         strap, worn=True)
    face(layers, rng, cx, cy, rx, ry, skin, hair)
    return finish(layers, rng)


def draw_scenery(rng: np.random.Generator) -> tuple[Image.Image, float]:
    """Sky, clouds, then mountains, sea or a city skyline; no people."""
    sky_top = jitter(rng, pick(rng, ((90, 150, 220), (120, 170, 230), (250, 170, 120), (70, 100, 170))), 15)
    sky_bottom = mix(sky_top, (245, 240, 230), rng.uniform(0.4, 0.8))
    t = np.linspace(0.0, 1.0, H, dtype=np.float32)[:, None, None]
    top, bottom = np.array(sky_top, np.float32), np.array(sky_bottom, np.float32)
    arr = top + (bottom - top) * t  # (H, 1, 3)
    layers = Layers(Image.fromarray(np.broadcast_to(arr, (H, W, 3)).astype(np.uint8), "RGB"))
    d = layers.draw
    if rng.random() < 0.5:
        sx, sy, r = rng.uniform(0.1, 0.9) * W, rng.uniform(0.08, 0.3) * H, rng.uniform(20, 45) * SS
        d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(255, 244, 214))
    for _ in range(int(rng.integers(2, 6))):
        x, y, r = rng.uniform(0, W), rng.uniform(0.05, 0.35) * H, rng.uniform(15, 35) * SS
        for k in range(4):
            d.ellipse((x + k * r * 0.7 - r, y - r * (0.6 + 0.3 * (k % 2)), x + k * r * 0.7 + r, y + r * 0.4),
                      fill=(250, 250, 252))
    kind = pick(rng, ("mountains", "sea", "city"))
    horizon = rng.uniform(0.45, 0.65) * H
    if kind == "mountains":
        for layer in range(3):
            col = mix((120, 140, 170), (60, 110, 70), layer / 2 + rng.uniform(-0.1, 0.1))
            xs = np.linspace(-0.1 * W, 1.1 * W, 9)
            ys = horizon + layer * 0.12 * H - rng.uniform(0.05, 0.3, size=9) * H
            d.polygon([*zip(xs, ys), (W * 1.1, H), (-0.1 * W, H)], fill=col)
    elif kind == "sea":
        sea = jitter(rng, (40, 110, 160), 20)
        d.rectangle((0, horizon, W, H), fill=sea)
        for y in np.arange(horizon + 10 * SS, H, rng.uniform(14, 26) * SS):
            x0 = rng.uniform(-0.2, 0.5) * W
            d.line((x0, y, x0 + rng.uniform(0.2, 0.6) * W, y), fill=shade(sea, 1.3), width=2 * SS)
        d.rectangle((0, 0.88 * H, W, H), fill=jitter(rng, (226, 206, 164), 10))
    else:
        x = 0.0
        while x < W:
            bw, bh = rng.uniform(30, 80) * SS, rng.uniform(0.15, 0.45) * H
            col = jitter(rng, (70, 76, 96), 20)
            d.rectangle((x, horizon - bh, x + bw, H), fill=col)
            for wy in np.arange(horizon - bh + 10 * SS, H - 10 * SS, 18 * SS):
                d.line((x + 6 * SS, wy, x + bw - 6 * SS, wy), fill=(240, 214, 140), width=3 * SS)
            x += bw + rng.uniform(0, 10) * SS
    return finish(layers, rng)


def draw_food(rng: np.random.Generator) -> tuple[Image.Image, float]:
    """Plates and bowls of food on a table against a wall, seen from the side; no people.

    Plates are light (white, cream, celadon) and the table untextured: dark plates and wood-grain
    lines made the selfie segmenter call a plate a person in tests, which real food photos rarely do.
    """
    wall = jitter(rng, pick(rng, ((236, 230, 220), (200, 210, 220), (120, 110, 100), (60, 64, 72),
                                  (214, 224, 214))), 10)
    table = jitter(rng, pick(rng, ((150, 104, 66), (188, 150, 110), (236, 232, 224), (90, 62, 44),
                                   (200, 60, 50))), 12)
    layers = Layers(_smooth_field(rng, [wall, shade(wall, 0.94), shade(wall, 1.04)], (3, 4)))
    d = layers.draw
    ty = rng.uniform(0.25, 0.45) * H
    d.rectangle((0, ty, W, H), fill=table)
    d.rectangle((0, ty, W, ty + 4 * SS), fill=shade(table, 1.1))
    for _ in range(int(rng.integers(1, 5))):
        rx = rng.uniform(0.16, 0.3) * W
        ry = rx * rng.uniform(0.25, 0.4)
        cx, cy = rng.uniform(rx, W - rx), ty + ry + rng.uniform(0, 1) * (0.92 * H - 2 * ry - ty)
        dish = jitter(rng, pick(rng, ((248, 248, 246), (230, 236, 240), (200, 222, 210), (236, 226, 206))), 6)
        food = pick(rng, ((236, 200, 110), (250, 248, 240), (90, 150, 70), (200, 60, 40), (240, 160, 180),
                          (120, 70, 40)))
        if rng.random() < 0.4:  # a bowl: body below the rim, food heaped above it
            d.chord((cx - 0.8 * rx, cy - 1.6 * ry, cx + 0.8 * rx, cy + 1.4 * ry), 0, 180, fill=shade(dish, 0.9))
            d.chord((cx - 0.75 * rx, cy - 1.3 * ry, cx + 0.75 * rx, cy + 0.5 * ry), 180, 360, fill=food)
        else:
            d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=shade(dish, 0.85))
            d.ellipse((cx - 0.9 * rx, cy - 0.9 * ry, cx + 0.9 * rx, cy + 0.8 * ry), fill=dish)
        for _ in range(int(rng.integers(10, 30))):
            fx, fy = cx + rng.uniform(-0.6, 0.6) * rx, cy - rng.uniform(0, 0.9) * ry
            fr = rng.uniform(0.05, 0.12) * rx
            d.ellipse((fx - fr, fy - fr * 0.6, fx + fr, fy + fr * 0.6), fill=jitter(rng, food, 25))
    if rng.random() < 0.6:
        x0, y0 = rng.uniform(0.05, 0.4) * W, rng.uniform(0.75, 0.95) * H
        for k in range(2):
            d.line((x0, y0 + k * 6 * SS, x0 + 0.5 * W, y0 + k * 6 * SS - 8 * SS), fill=(60, 40, 30),
                   width=3 * SS)  # chopsticks
    return finish(layers, rng)
