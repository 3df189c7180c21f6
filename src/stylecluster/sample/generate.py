"""Deterministic synthetic sample: outfit posts with photos, Chinese captions, hashtags and dates.

`iter_sample` yields about 100 posts a month over consecutive months. Each outfit post shows a drawn
person in one of eight styles (`sample_text.STYLES`) whose monthly popularity follows a season
(down jackets and coats in winter, dresses and qipao in summer, 马面裙 in spring and rising), so the
monthly proportions carry a true signal. The failure modes the research met are mixed in at fixed
rates (`IMAGE_FAILURE_RATES`, `CAPTION_FAILURE_RATES`): images with almost no clothing (scenery, food,
face close-ups), missing captions (None, the string 'nan', ''), long off-topic captions, exact
duplicate captions and tag-only posts. Ordinary outfit captions are realistic too (`sample_text`): about
half name no garment at all (shared diary chatter, generic hashtags), and their lengths are heavy-tailed
(many of 5-30 characters, about a sixth rambling on for 200-800), so text clusters come out imbalanced
and only partly aligned with the styles, as the research found on real posts.

Determinism: one plan is drawn from `default_rng(seed)` (kinds, months); each post then uses its own
generators `default_rng([seed, i, 0])` (text, time) and `default_rng([seed, i, 1])` (pixels). No global
RNG, clock or set ordering is involved, so the same arguments give identical strings and pixels.

`cutout=True` (`stylecluster sample --cutout`) writes the same posts as RGBA PNGs the way exports
of background-removed photos look: outfits and face close-ups with alpha 0 outside the drawn figure
(the same colour pixels and captions as the default sample), scenery and food fully opaque (a
background remover finds no subject there), so `segment.method: auto` meets both kinds.

Modules: `sample_text` (vocabularies, captions, tags), `sample_scene` (canvas, backgrounds, heads,
scenery, food, face close-ups), `sample_draw` (skeleton, primitives, textures), `sample_outfit` (styles).
"""

from __future__ import annotations

import calendar
import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from PIL import Image

from stylecluster.sample import text
from stylecluster.errors import ConfigError
from stylecluster.sample.outfit import draw_outfit
from stylecluster.sample.scene import draw_face_closeup, draw_food, draw_scenery

logger = logging.getLogger(__name__)

STYLES = text.STYLES
# Share of all posts per failure mode. The counts are exact: round(rate * n_posts) posts each.
IMAGE_FAILURE_RATES: dict[str, float] = {"scenery": 0.025, "food": 0.025, "face": 0.025}
CAPTION_FAILURE_RATES: dict[str, float] = {
    "caption_none": 0.02,       # content and tags None (NaN in the export)
    "caption_nan": 0.015,       # content and tags the literal string 'nan'
    "caption_empty": 0.015,     # content and tags ''
    "long_caption": 0.03,       # several hundred characters of unrelated daily-life chatter
    "duplicate_caption": 0.03,  # exact copy of another outfit post's caption
    "tag_only": 0.03,           # no caption (None or ''), hashtags present
}
KINDS: tuple[str, ...] = ("outfit", *IMAGE_FAILURE_RATES, *CAPTION_FAILURE_RATES)
PLATFORM_TAIL_RATE = 0.3  # captions ending in ' - 小红书,,MM-DD,,'
# Seasonality per style: weight = exp(amplitude * cos(2 pi (month - peak) / 12)) * exp(trend * index).
SEASONS: dict[str, tuple[int, float, float]] = {  # style: (peak month, amplitude, trend per month)
    "连衣裙": (7, 1.2, 0.0), "旗袍": (6, 0.8, 0.0), "马面裙": (4, 0.8, 0.06), "大衣": (12, 1.1, 0.0),
    "西装": (9, 0.4, 0.0), "卫衣+牛仔裤": (10, 0.5, 0.0), "羽绒服": (1, 1.6, 0.0), "运动套装": (5, 0.4, 0.0),
}
# Posting hour weights: quiet at night, peaks at lunch and in the evening.
_HOUR_WEIGHTS = np.array([3, 2, 1, 1, 1, 1, 1, 2, 4, 5, 5, 5, 8, 8, 5, 5, 5, 5, 6, 9, 10, 10, 9, 6], float)
_MISSING = {"caption_none": None, "caption_nan": "nan", "caption_empty": ""}


@dataclass(frozen=True)
class SamplePost:
    """One synthetic post: the table row plus its image and the failure mode it shows."""

    post_id: str            # "p000001"...
    content: str | None     # caption; None, 'nan' or '' for the missing-caption modes
    tags: str | None        # "#每日穿搭 #气质连衣裙"
    posted_at: str          # "%Y-%m-%d %H:%M:%S", naive local time (Asia/Shanghai)
    image_path: str         # "images/p000001.png", relative to the raw folder
    label: str              # true style, or 风景 / 美食 / 自拍特写 for non-outfit images
    kind: str               # "outfit" or the failure mode, one of KINDS
    image: Image.Image      # RGB, 384 x 512 (RGBA with cutout)


def month_weights(month: int, index: int = 0) -> dict[str, float]:
    """Style probabilities in calendar `month` (1-12), `index` months after the sample's start."""
    raw = {s: math.exp(a * math.cos(2 * math.pi * (month - peak) / 12) + trend * index)
           for s, (peak, a, trend) in SEASONS.items()}
    total = sum(raw.values())
    return {s: raw[s] / total for s in STYLES}


def _months(start_month: str, n_months: int) -> list[tuple[int, int]]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", start_month)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ConfigError(f"sample: start_month={start_month!r} is not allowed: expected 'YYYY-MM' "
                          "with a month 01-12, e.g. '2024-01'. Fix the --start-month option.")
    year, month = int(m.group(1)), int(m.group(2)) - 1
    return [(year + (month + k) // 12, (month + k) % 12 + 1) for k in range(n_months)]


def _check_args(n_posts: int, seed: int, n_months: int) -> None:
    for name, value, low in (("n_posts", n_posts, 1), ("n_months", n_months, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"sample: {name}={value!r} is not allowed: expected an integer >= {low}. "
                              f"Fix the --{name.replace('_', '-')} option.")


def _kinds(master: np.random.Generator, n_posts: int) -> list[str]:
    """Exactly round(rate * n_posts) posts per failure mode, the rest outfits, in shuffled order."""
    kinds: list[str] = []
    for kind, rate in {**IMAGE_FAILURE_RATES, **CAPTION_FAILURE_RATES}.items():
        kinds += [kind] * int(round(rate * n_posts))
    kinds = kinds[:n_posts] + ["outfit"] * max(0, n_posts - len(kinds))
    return [kinds[i] for i in master.permutation(n_posts)]


@dataclass(frozen=True)
class PostPlan:
    """A post without its pixels: what `iter_sample` will draw and write."""

    post_id: str
    kind: str
    label: str
    content: str | None
    tags: str | None
    posted_at: str


def _timestamp(rng: np.random.Generator, year: int, month: int) -> str:
    day = int(rng.integers(1, calendar.monthrange(year, month)[1] + 1))
    hour = int(rng.choice(24, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()))
    minute, second = int(rng.integers(60)), int(rng.integers(60))
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"


def _plan_post(seed: int, i: int, kind: str, year: int, month: int, index: int) -> PostPlan:
    """Text, label and time of post `i`, from its own generator."""
    rng = np.random.default_rng([seed, i, 0])
    posted_at = _timestamp(rng, year, month)
    tail = posted_at[5:10] if rng.random() < PLATFORM_TAIL_RATE else None
    post_id = f"p{i + 1:06d}"
    if kind in IMAGE_FAILURE_RATES:
        caption = text.non_outfit_caption(rng, kind, tail)
        return PostPlan(post_id, kind, text.NON_OUTFIT_LABELS[kind], caption, text.style_tags(rng, None, kind),
                        posted_at)
    weights = month_weights(month, index)
    style = STYLES[int(rng.choice(len(STYLES), p=[weights[s] for s in STYLES]))]
    u = rng.random()  # generic chatter (with generic-only or one style hashtag), or the style named
    mention = u >= text.GENERIC_CAPTION_RATE
    own = "some" if mention else ("none" if u < text.GENERIC_CAPTION_RATE * text.GENERIC_TAGS_RATE else "one")
    content: str | None = text.style_caption(rng, style, tail, mention)
    tags: str | None = text.style_tags(rng, style, own=own)
    if kind in _MISSING:  # an export that lost all text: content and tags alike
        content = tags = _MISSING[kind]
    elif kind == "long_caption":
        content = text.long_caption(rng)
    elif kind == "tag_only":
        content = None if rng.random() < 0.5 else ""
    return PostPlan(post_id, kind, style, content, tags, posted_at)


def plan_sample(n_posts: int = 1200, seed: int = 42, start_month: str = "2024-01",
                n_months: int = 12) -> list[PostPlan]:
    """Everything about every post but its pixels (cheap: about 0.5 s for 1,200 posts).

    Args:
        n_posts, seed, start_month, n_months: As for `iter_sample`.

    Returns:
        One PostPlan per post, in post_id order. A duplicate_caption post copies the caption of an
        outfit post of the same month (so its style, and the seasonal signal, stay plausible).

    Raises:
        ConfigError: If an argument is out of range.
    """
    _check_args(n_posts, seed, n_months)
    months = _months(start_month, n_months)
    master = np.random.default_rng(seed)
    kinds = _kinds(master, n_posts)
    plans = []
    for i, kind in enumerate(kinds):
        index = i * n_months // n_posts  # contiguous, balanced blocks of posts per month
        year, month = months[index]
        plans.append(_plan_post(seed, i, kind, year, month, index))
    for i, plan in enumerate(plans):
        if plan.kind != "duplicate_caption":
            continue
        same_month = [p for p in plans if p.kind == "outfit" and p.posted_at[:7] == plan.posted_at[:7]]
        sources = same_month or [p for p in plans if p.kind == "outfit"]
        if sources:
            src = sources[int(master.integers(len(sources)))]
            tags = text.style_tags(np.random.default_rng([seed, i, 2]), src.label)
            plans[i] = PostPlan(plan.post_id, plan.kind, src.label, src.content, tags, plan.posted_at)
    logger.debug("planned %d posts: %s", n_posts, dict(sorted(Counter(p.kind for p in plans).items())))
    return plans


def iter_sample(n_posts: int = 1200, seed: int = 42, start_month: str = "2024-01",
                n_months: int = 12, cutout: bool = False) -> Iterator[SamplePost]:
    """Generate the sample post by post.

    Args:
        n_posts: Number of posts (>= 1), split evenly over the months.
        seed: Seed (>= 0); the same arguments always give identical posts and pixels.
        start_month: First month, 'YYYY-MM'.
        n_months: Number of consecutive months (>= 1).
        cutout: RGBA images, the backdrop of outfits and face close-ups transparent (see the
            module docstring); False: RGB.

    Yields:
        SamplePost, in post_id order.

    Raises:
        ConfigError: If an argument is out of range.
    """
    plans = plan_sample(n_posts, seed, start_month, n_months)
    draw = {"scenery": draw_scenery, "food": draw_food}
    for i, plan in enumerate(plans):
        rng = np.random.default_rng([seed, i, 1])
        if plan.kind in draw:
            image, _ = draw[plan.kind](rng)
            if cutout:
                image = image.convert("RGBA")  # opaque: nothing to cut out
        elif plan.kind == "face":
            image, _ = draw_face_closeup(rng, cutout)
        else:
            image, _ = draw_outfit(rng, plan.label, cutout)
        yield SamplePost(plan.post_id, plan.content, plan.tags, plan.posted_at,
                         f"images/{plan.post_id}.png", plan.label, plan.kind, image)


def sample_table(posts: Iterable[SamplePost]) -> pd.DataFrame:
    """The posts table: post_id, content, tags, posted_at, image_path, label.

    All columns hold str (object dtype); content and tags may be None; `kind` and `image` stay out.
    """
    cols = ("post_id", "content", "tags", "posted_at", "image_path", "label")
    rows = [{c: getattr(p, c) for c in cols} for p in posts]
    return pd.DataFrame(rows, columns=list(cols), dtype=object)
