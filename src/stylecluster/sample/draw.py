"""Drawn outfit figures for the synthetic sample: a posed person wearing one of eight styles.

A figure is a skeleton (head, shoulders, arms, hips, legs) with pose and scale jitter; each style dresses
it with its own silhouette and pattern (flared floral dress, slit qipao with brocade, pleated 马面裙,
knee-length coat with lapels, suit and tie, hoodie and jeans, quilted down jacket, striped track suit);
this module holds the skeleton, the drawing primitives and the textures, `sample_outfit` the styles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from stylecluster.sample.scene import SS, H, W, Color, Layers, Shape, ellipse, mix, pick, polygon, shade

Point = tuple[float, float]
Texture = Callable[[int, int], Image.Image]  # (w, h) -> RGB patch


@dataclass(frozen=True)
class Body:
    """Skeleton of one posed figure, in supersampled pixels; `u` is the head height."""

    u: float
    cx: float
    top: float
    sw: float                      # shoulder half-width
    arms: tuple[tuple[Point, Point, Point], tuple[Point, Point, Point]]  # (shoulder, elbow, wrist) L, R
    legs: tuple[tuple[Point, Point, Point], tuple[Point, Point, Point]]  # (hip, knee, ankle) L, R

    def y(self, k: float) -> float:
        """The y coordinate `k` head heights below the top of the head."""
        return self.top + k * self.u


def skeleton(rng: np.random.Generator) -> Body:
    """A standing figure with random scale, position, arm pose and stance."""
    fh = H * rng.uniform(0.8, 0.93)
    u = fh / 7.5
    top = (H - fh) * rng.uniform(0.25, 0.75)
    cx = W / 2 + rng.uniform(-0.1, 0.1) * W
    sw = u * rng.uniform(0.84, 0.96)
    arms = []
    for s in (-1, 1):
        pose = pick(rng, ("down", "down", "out", "hip", "up"))
        # (upper-arm, forearm) angles from straight down, in degrees; positive points outwards.
        a, f = {"down": (rng.uniform(6, 14), rng.uniform(4, 18)),
                "out": (rng.uniform(18, 30), rng.uniform(8, 26)),
                "hip": (rng.uniform(38, 50), -rng.uniform(35, 60)),
                "up": (rng.uniform(14, 28), -rng.uniform(150, 165))}[pose]
        sh = (cx + s * (sw - 0.16 * u), top + 1.55 * u)
        el = (sh[0] + s * 1.35 * u * math.sin(math.radians(a)), sh[1] + 1.35 * u * math.cos(math.radians(a)))
        wr = (el[0] + s * 1.2 * u * math.sin(math.radians(f)), el[1] + 1.2 * u * math.cos(math.radians(f)))
        arms.append((sh, el, wr))
    legs = []
    for s in (-1, 1):
        hip = (cx + s * 0.36 * u, top + 3.75 * u)
        ankle = (hip[0] + s * rng.uniform(-0.08, 0.3) * u, top + 7.15 * u + rng.uniform(-0.06, 0.06) * u)
        knee = ((hip[0] + ankle[0]) / 2 - s * rng.uniform(0.0, 0.1) * u, top + 5.45 * u)
        legs.append((hip, knee, ankle))
    return Body(u, cx, top, sw, (arms[0], arms[1]), (legs[0], legs[1]))


def limb(points: Sequence[Point], widths: Sequence[float]) -> Shape:
    """A tapered polyline with rounded joints (arm, leg, sleeve, trouser leg)."""
    def shape(d: ImageDraw.ImageDraw, fill: object) -> None:
        for (p0, p1, w0, w1) in zip(points, points[1:], widths, widths[1:]):
            dx, dy = p1[0] - p0[0], p1[1] - p0[1]
            n = math.hypot(dx, dy) or 1.0
            nx, ny = -dy / n / 2, dx / n / 2
            d.polygon([(p0[0] + nx * w0, p0[1] + ny * w0), (p1[0] + nx * w1, p1[1] + ny * w1),
                       (p1[0] - nx * w1, p1[1] - ny * w1), (p0[0] - nx * w0, p0[1] - ny * w0)], fill=fill)
        for (x, y), w in zip(points, widths):
            d.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=fill)
    return shape


def along(points: Sequence[Point], widths: Sequence[float], frac: float) -> tuple[list[Point], list[float]]:
    """The first `frac` of a polyline's length, with widths interpolated."""
    seg = [math.dist(a, b) for a, b in zip(points, points[1:])]
    left = frac * sum(seg)
    pts, ws = [points[0]], [widths[0]]
    for i, length in enumerate(seg):
        t = min(1.0, left / length) if length else 1.0
        p0, p1 = points[i], points[i + 1]
        pts.append((p0[0] + (p1[0] - p0[0]) * t, p0[1] + (p1[1] - p0[1]) * t))
        ws.append(widths[i] + (widths[i + 1] - widths[i]) * t)
        left -= length
        if left <= 0:
            break
    return pts, ws


def union(*shapes: Shape) -> Shape:
    """Several shapes drawn as one (one mask, one continuous pattern)."""
    def shape(d: ImageDraw.ImageDraw, fill: object) -> None:
        for s in shapes:
            s(d, fill)
    return shape


def sym(cx: float, rows: Sequence[tuple[float, float]]) -> Shape:
    """A left-right symmetric polygon from (y, half-width) rows, top to bottom."""
    return polygon([(cx - h, y) for y, h in rows] + [(cx + h, y) for y, h in reversed(rows)])


# --- textures: (w, h) -> RGB patch, drawn with PIL (10x faster than numpy here) ---------------------

def solid(color: Color) -> Texture:
    return lambda w, h: Image.new("RGB", (w, h), color)


def _drawn(base: Color, paint: Callable[[ImageDraw.ImageDraw, int, int], None]) -> Texture:
    def tex(w: int, h: int) -> Image.Image:
        img = Image.new("RGB", (w, h), base)
        paint(ImageDraw.Draw(img), w, h)
        return img
    return tex


def _stretched(line: np.ndarray, w: int, h: int) -> Image.Image:
    """A (1, w, 3) row or (h, 1, 3) column of uint8 colours repeated over (w, h)."""
    return Image.fromarray(np.ascontiguousarray(line), "RGB").resize((w, h), Image.NEAREST)


def dots(rng: np.random.Generator, base: Color, dot: Color) -> Texture:
    step, r = rng.uniform(18, 34) * SS, rng.uniform(3, 7) * SS

    def paint(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        for j, y in enumerate(np.arange(0, h + step, step)):
            for x in np.arange((j % 2) * step / 2, w + step, step):
                d.ellipse((x - r, y - r, x + r, y + r), fill=dot)
    return _drawn(base, paint)


def florals(rng: np.random.Generator, base: Color, petal: Color) -> Texture:
    n, r = int(rng.integers(25, 60)), rng.uniform(5, 10) * SS
    centre, leaf = (240, 200, 60), mix((70, 130, 60), base, 0.3)

    def paint(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        for _ in range(int(n * w * h / (250 * 250 * SS * SS)) + 4):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            d.ellipse((x + r * 0.6, y, x + r * 1.8, y + r * 0.6), fill=leaf)
            for k in range(5):
                a = 2 * math.pi * k / 5
                px, py = x + r * 0.7 * math.cos(a), y + r * 0.7 * math.sin(a)
                d.ellipse((px - r * 0.55, py - r * 0.55, px + r * 0.55, py + r * 0.55), fill=petal)
            d.ellipse((x - r * 0.3, y - r * 0.3, x + r * 0.3, y + r * 0.3), fill=centre)
    return _drawn(base, paint)


def brocade(rng: np.random.Generator, base: Color, gold: Color) -> Texture:
    step = rng.uniform(22, 34) * SS

    def paint(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        for j, y in enumerate(np.arange(0, h + step, step)):
            for x in np.arange((j % 2) * step / 2, w + step, step):
                s = step * 0.32
                d.polygon([(x, y - s), (x + s, y), (x, y + s), (x - s, y)], outline=gold, width=2 * SS)
                d.ellipse((x - s / 3, y - s / 3, x + s / 3, y + s / 3), fill=gold)
    return _drawn(base, paint)


def plaid(rng: np.random.Generator, base: Color, line: Color) -> Texture:
    step = int(rng.uniform(24, 44) * SS)
    lw = max(2, step // 8)

    def tex(w: int, h: int) -> Image.Image:
        img = Image.new("RGB", (w, h), base)
        d = ImageDraw.Draw(img)
        for x in range(0, w, step):
            d.rectangle((x, 0, x + lw - 1, h), fill=mix(base, line, 0.6))
        for y in range(0, h, step):
            d.rectangle((0, y, w, y + lw - 1), fill=mix(base, line, 0.6))
        return img
    return tex


def pleats(base: Color, step: float) -> Texture:
    def tex(w: int, h: int) -> Image.Image:
        f = 0.82 + 0.25 * np.sin(math.pi * (np.arange(w) % step) / step)  # (w,)
        row = np.clip(np.array(base, np.float32)[None, None, :] * f[None, :, None], 0, 255).astype(np.uint8)
        return _stretched(row, w, h)
    return tex


def quilted(base: Color, band: float) -> Texture:
    def tex(w: int, h: int) -> Image.Image:
        f = 0.68 + 0.42 * np.sin(math.pi * (np.arange(h) % band) / band)  # (h,)
        col = np.clip(np.array(base, np.float32)[None, None, :] * f[:, None, None], 0, 255).astype(np.uint8)
        return _stretched(col, w, h)
    return tex


def denim(rng: np.random.Generator) -> Texture:
    base = np.array(pick(rng, ((60, 90, 140), (90, 120, 170), (40, 56, 90), (120, 150, 190))), np.float32)
    lut = np.clip(base[None, :] * (1.0 + 0.07 * np.sin(np.arange(5) * 1.3 * 5 / 5))[:, None], 0, 255)
    lut = lut.astype(np.uint8)  # (5, 3): one colour per diagonal of the twill weave

    def tex(w: int, h: int) -> Image.Image:
        idx = np.add.outer(np.arange(h), np.arange(w)) % 5  # (h, w)
        return Image.fromarray(lut[idx], "RGB")
    return tex


# --- body parts -------------------------------------------------------------------------------------

def arm_widths(b: Body, scale: float = 1.0, extra: float = 0.0) -> list[float]:
    return [(0.27 * scale + extra) * b.u, (0.2 * scale + extra) * b.u, (0.16 * scale + extra) * b.u]


def leg_widths(b: Body, scale: float = 1.0, extra: float = 0.0) -> list[float]:
    return [(0.6 * scale + extra) * b.u, (0.36 * scale + extra) * b.u, (0.24 * scale + extra) * b.u]


def bare_arms(L: Layers, b: Body, skin: Color) -> None:
    for arm in b.arms:
        L.paint(limb(arm, arm_widths(b)), skin)
        L.paint(ellipse(arm[2][0], arm[2][1] + 0.08 * b.u, 0.12 * b.u, 0.17 * b.u), skin)


def sleeves(L: Layers, b: Body, tex: Texture, frac: float, scale: float = 1.3, extra: float = 0.04) -> None:
    for arm in b.arms:
        pts, ws = along(arm, arm_widths(b, scale, extra), frac)
        L.paint_texture(limb(pts, ws), tex, roundness=0.3)


def legs(L: Layers, b: Body, fill: Color | Texture, scale: float = 1.0, extra: float = 0.0,
         to: float = 1.0) -> None:
    """Both legs (bare when `fill` is a colour, trousers when a texture), plus the crotch."""
    shapes = [limb(*along(leg, leg_widths(b, scale, extra), to)) for leg in b.legs]
    if callable(fill):
        hips = sym(b.cx, [(b.y(3.0), 0.5 * b.u), (b.y(3.75), 0.72 * b.u), (b.y(4.1), 0.3 * b.u)])
        L.paint_texture(union(hips, *shapes), fill, roundness=0.15)
    else:
        for shape in shapes:
            L.paint(shape, fill)


def shoes(L: Layers, b: Body, color: Color, boots: bool = False) -> None:
    for s, (_, _, ankle) in zip((-1, 1), b.legs):
        x, y = ankle[0] + s * 0.06 * b.u, b.y(7.42)
        L.paint(ellipse(x, y, 0.24 * b.u, 0.11 * b.u), color, worn=True)
        if boots:
            L.paint(limb([(ankle[0], b.y(6.3)), (ankle[0], y)], [0.34 * b.u, 0.3 * b.u]), color, worn=True)


def neck(L: Layers, b: Body, skin: Color) -> None:
    L.paint(polygon([(b.cx - 0.13 * b.u, b.y(0.8)), (b.cx + 0.13 * b.u, b.y(0.8)),
                     (b.cx + 0.16 * b.u, b.y(1.45)), (b.cx - 0.16 * b.u, b.y(1.45))]), shade(skin, 0.94))


def torso(b: Body, hem: float, hem_half: float, loose: float = 0.0, neckline: float = 0.2) -> Shape:
    """Shoulders to `hem` (in head heights), symmetric, `loose` widens it (in head heights)."""
    u, lo = b.u, loose * b.u
    rows = [(b.y(1.38), neckline * u), (b.y(1.42), 0.7 * u + lo), (b.y(1.6), b.sw + lo),
            (b.y(2.3), 0.64 * u + lo), (b.y(2.95), 0.48 * u + lo)]
    if hem > 3.6:
        rows.append((b.y(3.6), 0.74 * u + lo))
    rows.append((b.y(hem), hem_half * u + lo))
    return sym(b.cx, rows)


def lapels(L: Layers, b: Body, inner: Color, edge: Color, depth: float, half: float = 0.24) -> None:
    """A V opening `2 * half` head heights wide showing `inner` down to `depth`, with lapel edges."""
    u = b.u
    L.paint(polygon([(b.cx - half * u, b.y(1.38)), (b.cx + half * u, b.y(1.38)), (b.cx, b.y(depth))]),
            inner, True)
    for s in (-1, 1):
        L.paint(polygon([(b.cx + s * half * u, b.y(1.38)), (b.cx + s * (half + 0.26) * u, b.y(1.5)),
                         (b.cx + s * (half + 0.08) * u, b.y(2.0)), (b.cx + s * 0.06 * u, b.y(depth))]),
                edge, True)


def buttons(L: Layers, b: Body, ys: Sequence[float], color: Color, dx: float = 0.0) -> None:
    for y in ys:
        for x in ((b.cx - dx * b.u, b.cx + dx * b.u) if dx else (b.cx,)):
            L.paint(ellipse(x, b.y(y), 0.05 * b.u, 0.05 * b.u), color, worn=True)
