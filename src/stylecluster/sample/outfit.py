"""The eight outfit styles of the synthetic sample, each dressing a `sample_draw.Body`.

Colours overlap across styles on purpose (black, navy, red, white appear in most of them), so a
style is told apart by silhouette and pattern, with genuine variation inside it: palettes, patterns,
sleeve and hem lengths, pose, framing, background, accessories.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from stylecluster.sample.draw import (
    Body, along, arm_widths, bare_arms, brocade, buttons, denim, dots, florals, lapels, legs,
    leg_widths, limb, neck, plaid, pleats, quilted, shoes, skeleton, sleeves, solid, sym, torso, union,
)
from stylecluster.sample.scene import (
    HAIR_COLORS, HAIR_STYLES, SKIN_TONES, Color, Layers, Shape, background, ellipse, face, finish, hair_back,
    jitter, pick, polygon, shade,
)

WHITE, BLACK, GOLD = (236, 240, 246), (28, 28, 32), (220, 180, 40)
NAVY, GREY, RED = (34, 44, 84), (150, 150, 156), (178, 34, 46)
PINK, SKY = (240, 168, 212), (120, 160, 212)
WINE, OLIVE = (140, 20, 40), (84, 104, 64)
# (main, accent) colour choices per style; several styles share main colours.
PALETTES: dict[str, tuple[tuple[Color, Color], ...]] = {
    "连衣裙": (((226, 92, 112), WHITE), (WHITE, (226, 92, 112)), (SKY, WHITE), (BLACK, (240, 200, 50)),
            ((250, 220, 80), (90, 140, 70)), ((150, 196, 160), WHITE), (RED, WHITE), (NAVY, WHITE)),
    "旗袍": ((RED, GOLD), ((22, 104, 84), GOLD), (NAVY, (200, 200, 210)), (BLACK, RED), (PINK, WHITE),
           ((226, 232, 240), (140, 30, 90)), ((108, 40, 92), GOLD)),
    "马面裙": ((RED, GOLD), (NAVY, GOLD), ((40, 92, 72), GOLD), ((84, 52, 112), (230, 200, 60)), (BLACK, RED),
            ((240, 200, 40), (170, 30, 30)), (SKY, WHITE)),
    "大衣": ((BLACK, GREY), ((72, 72, 78), BLACK), (NAVY, GREY), (WINE, BLACK), ((40, 70, 52), BLACK),
           ((170, 170, 176), (60, 60, 66)), ((214, 220, 228), (90, 90, 96))),
    "西装": ((BLACK, WHITE), (NAVY, WHITE), ((72, 72, 78), (170, 190, 220)), (GREY, WHITE), (WHITE, BLACK),
           ((170, 190, 220), WHITE), (OLIVE, WHITE)),
    "卫衣+牛仔裤": ((GREY, WHITE), (BLACK, WHITE), (WHITE, NAVY), (PINK, WHITE), (NAVY, WHITE),
               ((120, 150, 100), WHITE), ((240, 210, 50), BLACK), (RED, WHITE)),
    "羽绒服": ((BLACK, GREY), (WHITE, GREY), (RED, BLACK), (NAVY, GREY), ((190, 194, 200), BLACK),
            (OLIVE, BLACK), (PINK, WHITE), ((240, 110, 30), BLACK)),
    "运动套装": ((BLACK, WHITE), (NAVY, WHITE), (RED, WHITE), ((30, 110, 70), WHITE), (GREY, BLACK),
             ((96, 60, 140), WHITE), (WINE, WHITE), (SKY, NAVY)),
}
SHOE_COLORS: tuple[Color, ...] = (BLACK, WHITE, (110, 70, 44), (170, 24, 36), (190, 196, 204))
DARK_TROUSERS: tuple[Color, ...] = (BLACK, NAVY, (60, 62, 70), (52, 60, 70))

Dresser = Callable[[Layers, Body, np.random.Generator, Color, Color, Color], None]


def _skirt(b: Body, top: float, top_half: float, hem: float, hem_half: float, curve: float = 0.12) -> Shape:
    """A trapezoid skirt with a gently curved hem (all in head heights)."""
    xs = np.linspace(-hem_half, hem_half, 9)
    hem_pts = [(b.cx + x * b.u, b.y(hem + curve * (1 - (x / hem_half) ** 2))) for x in xs]
    return polygon([(b.cx - top_half * b.u, b.y(top)), (b.cx + top_half * b.u, b.y(top)), *reversed(hem_pts)])


def _dress(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, skin)
    shoes(L, b, pick(rng, SHOE_COLORS))
    r = rng.random()
    tex = florals(rng, main, accent) if r < 0.45 else dots(rng, main, accent) if r < 0.75 else solid(main)
    hem, flare = rng.uniform(4.9, 5.9), rng.uniform(1.0, 1.45)
    L.paint_texture(union(torso(b, 2.95, 0.48, neckline=rng.uniform(0.2, 0.34)),
                          _skirt(b, 2.9, 0.5, hem, flare)), tex)
    if rng.random() < 0.4:
        L.paint(polygon([(b.cx - 0.5 * b.u, b.y(2.85)), (b.cx + 0.5 * b.u, b.y(2.85)),
                         (b.cx + 0.52 * b.u, b.y(3.0)), (b.cx - 0.52 * b.u, b.y(3.0))]), accent, True)
    bare_arms(L, b, skin)
    frac = pick(rng, (0.0, 0.2, 0.3, 0.3, 1.0))
    if frac:
        sleeves(L, b, tex, frac, scale=1.5 if frac < 0.5 else 1.25)
    neck(L, b, skin)


def _qipao(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, skin)
    shoes(L, b, pick(rng, (BLACK, RED, (190, 196, 204), GOLD)))
    r = rng.random()
    tex = brocade(rng, main, accent) if r < 0.5 else florals(rng, main, accent) if r < 0.8 else solid(main)
    hem = rng.uniform(6.4, 7.0)
    L.paint_texture(torso(b, hem, 0.5, neckline=0.17), tex, roundness=0.3)
    s = pick(rng, (-1, 1))
    x0 = b.cx + s * 0.62 * b.u
    L.paint(polygon([(x0, b.y(5.0)), (x0 + s * 0.04 * b.u, b.y(hem)), (x0 - s * 0.28 * b.u, b.y(hem))]), skin)
    bare_arms(L, b, skin)
    frac = pick(rng, (0.0, 0.15, 0.3, 1.0))
    if frac:
        sleeves(L, b, tex, frac, scale=1.3)
    neck(L, b, skin)
    # Mandarin collar, diagonal opening and frog buttons.
    L.paint(polygon([(b.cx - 0.19 * b.u, b.y(1.0)), (b.cx + 0.19 * b.u, b.y(1.0)),
                     (b.cx + 0.21 * b.u, b.y(1.42)), (b.cx - 0.21 * b.u, b.y(1.42))]), main, True)
    L.draw.line((b.cx - 0.19 * b.u, b.y(1.0), b.cx + 0.19 * b.u, b.y(1.0)), fill=accent, width=int(0.05 * b.u))
    L.draw.line((b.cx, b.y(1.42), b.cx + 0.45 * b.u, b.y(1.75), b.cx + 0.6 * b.u, b.y(2.3)), fill=accent,
                width=int(0.05 * b.u))
    for y in (1.55, 1.8, 2.1):
        L.paint(ellipse(b.cx + 0.42 * b.u, b.y(y), 0.07 * b.u, 0.03 * b.u), accent, True)


def _mamian(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, skin)
    shoes(L, b, pick(rng, (BLACK, RED, WHITE, GOLD)))
    hem, flare = rng.uniform(6.9, 7.2), rng.uniform(1.15, 1.5)
    L.paint_texture(_skirt(b, 2.75, 0.52, hem, flare, 0.05), pleats(main, rng.uniform(0.12, 0.2) * b.u))
    panel = brocade(rng, main, accent) if rng.random() < 0.6 else solid(shade(main, 1.08))
    L.paint_texture(polygon([(b.cx - 0.26 * b.u, b.y(2.75)), (b.cx + 0.26 * b.u, b.y(2.75)),
                             (b.cx + 0.4 * b.u, b.y(hem)), (b.cx - 0.4 * b.u, b.y(hem))]), panel, roundness=0.0)
    band_top = hem - rng.uniform(0.35, 0.6)
    band_half = 0.52 + (flare - 0.52) * (band_top - 2.75) / (hem - 2.75)
    L.paint_texture(polygon([(b.cx - band_half * b.u, b.y(band_top)), (b.cx + band_half * b.u, b.y(band_top)),
                             (b.cx + flare * b.u, b.y(hem + 0.05)), (b.cx - flare * b.u, b.y(hem + 0.05))]),
                    brocade(rng, accent, main))
    top = jitter(rng, pick(rng, (WHITE, (228, 218, 240), (214, 228, 240), main)), 6)
    L.paint_texture(torso(b, 2.85, 0.52, loose=0.05, neckline=0.22), solid(top))
    L.paint(polygon([(b.cx - 0.53 * b.u, b.y(2.72)), (b.cx + 0.53 * b.u, b.y(2.72)),
                     (b.cx + 0.53 * b.u, b.y(2.9)), (b.cx - 0.53 * b.u, b.y(2.9))]), accent, True)
    bare_arms(L, b, skin)
    if rng.random() < 0.7:  # wide hanfu sleeves that open towards the wrist
        for arm in b.arms:
            L.paint_texture(limb(arm, [0.42 * b.u, 0.5 * b.u, 0.7 * b.u]), solid(top), roundness=0.25)
    else:
        sleeves(L, b, solid(top), 0.35)
    neck(L, b, skin)
    L.draw.line((b.cx - 0.22 * b.u, b.y(1.4), b.cx + 0.3 * b.u, b.y(2.3)), fill=accent, width=int(0.07 * b.u))


def _coat(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    if rng.random() < 0.6:
        legs(L, b, solid(pick(rng, DARK_TROUSERS)), extra=0.06)
        shoes(L, b, pick(rng, (BLACK, (110, 70, 44), WHITE)))
    else:
        legs(L, b, skin)
        shoes(L, b, pick(rng, (BLACK, (110, 70, 44))), boots=True)
    tex = plaid(rng, main, accent) if rng.random() < 0.25 else solid(main)
    hem = rng.uniform(5.4, 6.1)
    L.paint_texture(torso(b, hem, rng.uniform(0.95, 1.15), loose=0.08), tex)
    L.draw.line((b.cx, b.y(2.6), b.cx, b.y(hem)), fill=shade(main, 0.6), width=int(0.03 * b.u))
    buttons(L, b, (2.9, 3.4, 3.9), shade(accent, 0.8), dx=0.2)
    if rng.random() < 0.4:
        L.paint(polygon([(b.cx - 0.6 * b.u, b.y(2.85)), (b.cx + 0.6 * b.u, b.y(2.85)),
                         (b.cx + 0.62 * b.u, b.y(3.05)), (b.cx - 0.62 * b.u, b.y(3.05))]), shade(main, 0.8), True)
    bare_arms(L, b, skin)
    sleeves(L, b, tex, 0.97, scale=1.45, extra=0.05)
    neck(L, b, skin)
    lapels(L, b, pick(rng, (WHITE, BLACK, GREY, (150, 40, 50))), shade(main, 0.82), 2.6)


def _suit(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, solid(main), extra=rng.uniform(0.1, 0.2))  # straight or wide-leg trousers
    for _, knee, ankle in b.legs:  # pressed crease
        L.draw.line((knee[0], knee[1], ankle[0], ankle[1]), fill=shade(main, 0.75), width=int(0.025 * b.u))
    shoes(L, b, pick(rng, (BLACK, (110, 70, 44), WHITE)))
    L.paint_texture(torso(b, 4.0, 0.82, loose=0.05), solid(main))
    for s in (-1, 1):  # hip pocket flaps
        L.draw.line((b.cx + s * 0.3 * b.u, b.y(3.55), b.cx + s * 0.65 * b.u, b.y(3.55)), fill=shade(main, 0.7),
                    width=int(0.03 * b.u))
    bare_arms(L, b, skin)
    sleeves(L, b, solid(main), 0.96, scale=1.35, extra=0.04)
    neck(L, b, skin)
    lapels(L, b, accent, shade(main, 0.72), rng.uniform(2.7, 3.1), half=rng.uniform(0.26, 0.34))
    if rng.random() < 0.6:
        L.paint(polygon([(b.cx - 0.06 * b.u, b.y(1.42)), (b.cx + 0.06 * b.u, b.y(1.42)),
                         (b.cx + 0.09 * b.u, b.y(2.5)), (b.cx, b.y(2.65)), (b.cx - 0.09 * b.u, b.y(2.5))]),
                pick(rng, (RED, NAVY, BLACK, (120, 30, 60))), True)
    buttons(L, b, (3.0, 3.35), shade(main, 0.6))
    L.draw.line((b.cx + 0.35 * b.u, b.y(2.1), b.cx + 0.6 * b.u, b.y(2.1)), fill=shade(main, 0.7),
                width=int(0.03 * b.u))  # breast pocket


def _hoodie(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, denim(rng), extra=0.04)
    shoes(L, b, pick(rng, (WHITE, WHITE, BLACK, RED)))
    L.paint(ellipse(b.cx, b.y(1.45), 0.55 * b.u, 0.3 * b.u), shade(main, 0.8), True)  # hood on the back
    L.paint_texture(torso(b, 3.95, 0.8, loose=0.14, neckline=0.24), solid(main))
    L.paint(polygon([(b.cx - 0.8 * b.u, b.y(3.8)), (b.cx + 0.8 * b.u, b.y(3.8)),
                     (b.cx + 0.8 * b.u, b.y(3.98)), (b.cx - 0.8 * b.u, b.y(3.98))]), shade(main, 0.88), True)
    L.paint(polygon([(b.cx - 0.42 * b.u, b.y(3.15)), (b.cx + 0.42 * b.u, b.y(3.15)),
                     (b.cx + 0.56 * b.u, b.y(3.78)), (b.cx - 0.56 * b.u, b.y(3.78))]), shade(main, 0.9), True)
    if rng.random() < 0.5:  # chest print
        L.paint(polygon([(b.cx - 0.3 * b.u, b.y(2.0)), (b.cx + 0.3 * b.u, b.y(2.0)),
                         (b.cx + 0.3 * b.u, b.y(2.35)), (b.cx - 0.3 * b.u, b.y(2.35))]), accent, True)
    bare_arms(L, b, skin)
    sleeves(L, b, solid(main), 0.96, scale=1.5, extra=0.05)
    neck(L, b, skin)
    for s in (-1, 1):
        L.draw.line((b.cx + s * 0.1 * b.u, b.y(1.45), b.cx + s * 0.12 * b.u, b.y(2.2)), fill=accent,
                    width=int(0.035 * b.u))


def _down(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    legs(L, b, solid(pick(rng, DARK_TROUSERS)) if rng.random() < 0.7 else denim(rng), extra=0.04)
    shoes(L, b, pick(rng, (BLACK, WHITE, (110, 70, 44))), boots=rng.random() < 0.5)
    band, hem = rng.uniform(0.36, 0.5), pick(rng, (4.1, 4.3, 5.6, 6.0))
    # Puffy outline: the sides bulge out in the middle of every quilting band.
    rows = [(b.y(1.3), 0.3 * b.u), (b.y(1.4), 0.8 * b.u), (b.y(1.6), b.sw + 0.2 * b.u)]
    for k, y in enumerate(np.arange(1.9, hem, band / 2)):
        rows.append((b.y(y), (0.82 + 0.1 * (y / hem) + (0.09 if k % 2 else 0.0)) * b.u))
    rows.append((b.y(hem), 0.9 * b.u))
    L.paint_texture(sym(b.cx, rows), quilted(main, band * b.u), roundness=0.35)
    bare_arms(L, b, skin)
    sleeves(L, b, quilted(main, band * b.u), 0.96, scale=1.8, extra=0.08)
    neck(L, b, skin)
    L.paint_texture(polygon([(b.cx - 0.3 * b.u, b.y(1.05)), (b.cx + 0.3 * b.u, b.y(1.05)),
                             (b.cx + 0.34 * b.u, b.y(1.5)), (b.cx - 0.34 * b.u, b.y(1.5))]), solid(main))
    L.draw.line((b.cx, b.y(1.05), b.cx, b.y(hem)), fill=shade(main, 0.55), width=int(0.03 * b.u))


def _tracksuit(L: Layers, b: Body, rng: np.random.Generator, main: Color, accent: Color, skin: Color) -> None:
    n_stripes = pick(rng, (2, 3, 3))
    legs(L, b, solid(main), extra=0.07)
    for s, leg in zip((-1, 1), b.legs):
        w = leg_widths(b, extra=0.07)
        for k in range(n_stripes):  # side stripes down the outer seam
            inset = (0.06 + 0.08 * k) * b.u
            L.draw.line([(x + s * (wi / 2 - inset), y) for (x, y), wi in zip(leg, w)], fill=accent,
                        width=int(0.05 * b.u))
        ax, ay = leg[2]
        L.paint(ellipse(ax, ay - 0.05 * b.u, 0.17 * b.u, 0.12 * b.u), shade(main, 0.75), True)  # ankle cuff
    shoes(L, b, pick(rng, (WHITE, WHITE, BLACK, accent)))
    L.paint_texture(torso(b, 3.9, 0.78, loose=0.08), solid(main))
    L.paint(polygon([(b.cx - 0.84 * b.u, b.y(3.75)), (b.cx + 0.84 * b.u, b.y(3.75)),
                     (b.cx + 0.84 * b.u, b.y(3.92)), (b.cx - 0.84 * b.u, b.y(3.92))]), shade(main, 0.8), True)
    bare_arms(L, b, skin)
    sleeves(L, b, solid(main), 0.96, scale=1.35, extra=0.05)
    for s, arm in zip((-1, 1), b.arms):
        pts, ws = along(arm, arm_widths(b, 1.35, 0.05), 0.92)
        for k in range(n_stripes):
            inset = (0.05 + 0.07 * k) * b.u
            L.draw.line([(x + s * (wi / 2 - inset), y) for (x, y), wi in zip(pts, ws)], fill=accent,
                        width=int(0.045 * b.u))
    neck(L, b, skin)
    L.paint(polygon([(b.cx - 0.24 * b.u, b.y(1.15)), (b.cx + 0.24 * b.u, b.y(1.15)),
                     (b.cx + 0.26 * b.u, b.y(1.45)), (b.cx - 0.26 * b.u, b.y(1.45))]), main, True)
    L.draw.line((b.cx, b.y(1.15), b.cx, b.y(3.92)), fill=shade(main, 0.5), width=int(0.03 * b.u))


DRESSERS: dict[str, Dresser] = {
    "连衣裙": _dress, "旗袍": _qipao, "马面裙": _mamian, "大衣": _coat,
    "西装": _suit, "卫衣+牛仔裤": _hoodie, "羽绒服": _down, "运动套装": _tracksuit,
}


def _accessories(L: Layers, b: Body, rng: np.random.Generator) -> None:
    """An optional hat and an optional bag (crossbody or carried in the lower hand)."""
    u, colour = b.u, pick(rng, (BLACK, (120, 72, 44), WHITE, RED, (180, 186, 196), NAVY))
    if rng.random() < 0.18:
        kind = pick(rng, ("beret", "bucket", "cap"))
        if kind == "beret":
            L.paint(ellipse(b.cx + 0.1 * u, b.y(0.08), 0.5 * u, 0.18 * u), colour, True)
        elif kind == "bucket":
            L.paint(polygon([(b.cx - 0.34 * u, b.y(-0.08)), (b.cx + 0.34 * u, b.y(-0.08)),
                             (b.cx + 0.42 * u, b.y(0.25)), (b.cx - 0.42 * u, b.y(0.25))]), colour, True)
            L.paint(ellipse(b.cx, b.y(0.26), 0.6 * u, 0.08 * u), shade(colour, 0.85), True)
        else:
            L.paint(ellipse(b.cx, b.y(0.2), 0.4 * u, 0.28 * u), colour, True)
            L.paint(ellipse(b.cx + 0.3 * u, b.y(0.28), 0.32 * u, 0.07 * u), shade(colour, 0.85), True)
    if rng.random() < 0.3:
        bag = pick(rng, (BLACK, (120, 72, 44), WHITE, RED, (180, 186, 196)))
        if rng.random() < 0.5:
            s = pick(rng, (-1, 1))
            L.draw.line((b.cx - s * 0.45 * u, b.y(1.45), b.cx + s * 0.85 * u, b.y(3.45)), fill=shade(bag, 0.8),
                        width=int(0.05 * u))
            L.paint(polygon([(b.cx + s * 0.6 * u, b.y(3.3)), (b.cx + s * 1.15 * u, b.y(3.3)),
                             (b.cx + s * 1.15 * u, b.y(3.8)), (b.cx + s * 0.6 * u, b.y(3.8))]), bag, True)
        else:
            wx, wy = max((arm[2] for arm in b.arms), key=lambda p: p[1])
            L.draw.arc((wx - 0.2 * u, wy - 0.1 * u, wx + 0.2 * u, wy + 0.4 * u), 180, 360, fill=bag,
                       width=int(0.04 * u))
            L.paint(polygon([(wx - 0.35 * u, wy + 0.15 * u), (wx + 0.35 * u, wy + 0.15 * u),
                             (wx + 0.4 * u, wy + 0.75 * u), (wx - 0.4 * u, wy + 0.75 * u)]), bag, True)


def _vary(rng: np.random.Generator, color: Color) -> Color:
    """A nearby shade: brightness jitter plus a little hue jitter.

    Per-channel jitter is kept small because warm-shifted whites and greys fall into the YCrCb skin
    box the segmenter removes; the palettes avoid that box (no beige, ivory, tan or dusty pink).
    """
    return jitter(rng, shade(color, rng.uniform(0.85, 1.1)), 5)


def draw_outfit(rng: np.random.Generator, style: str,
                cutout: bool = False) -> tuple[Image.Image, float]:
    """A person wearing `style` on a plain or lightly textured backdrop.

    Args:
        rng: The post's own generator; the same state gives the same pixels.
        style: One of `PALETTES`.
        cutout: Return RGBA with the backdrop (and the floor shadow) transparent, as a
            background-removal tool exports it; the colour pixels are the same.

    Returns:
        The RGB (or RGBA) image (384 x 512) and the share of its pixels covered by clothing.
    """
    b = skeleton(rng)
    L = Layers(background(rng, b.y(7.45)))
    floor = L.img.getpixel((int(b.cx), min(int(b.y(7.45)), L.img.height - 1)))
    L.paint(ellipse(b.cx, b.y(7.45), 1.3 * b.u, 0.16 * b.u), shade(floor, 0.82))
    if cutout:
        L.mark_ground()
    skin, hair = jitter(rng, pick(rng, SKIN_TONES), 6), pick(rng, HAIR_COLORS)
    hx, hy, rx, ry = b.cx + rng.uniform(-0.05, 0.05) * b.u, b.y(0.5), 0.37 * b.u, 0.5 * b.u
    hair_back(L, hx, hy, rx, ry, hair, pick(rng, HAIR_STYLES))
    main, accent = pick(rng, PALETTES[style])
    DRESSERS[style](L, b, rng, _vary(rng, main), _vary(rng, accent), skin)
    face(L, rng, hx, hy, rx, ry, skin, hair)
    _accessories(L, b, rng)
    return finish(L, rng)
