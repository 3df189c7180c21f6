"""Tests for the deterministic synthetic sample (stylecluster.sample.generate and its drawing modules)."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stylecluster.sample import generate as sample
from stylecluster.errors import ConfigError
from stylecluster.sample.generate import (
    CAPTION_FAILURE_RATES, IMAGE_FAILURE_RATES, KINDS, STYLES, iter_sample, month_weights, plan_sample,
    sample_table,
)
from stylecluster.sample.outfit import DRESSERS, PALETTES, draw_outfit
from stylecluster.sample.scene import HEIGHT, WIDTH, draw_face_closeup, draw_food, draw_scenery
from stylecluster.sample.text import (
    GENERIC_CAPTION_RATE, GENERIC_TAGS, GENERIC_TAGS_RATE, NOISE_TAGS, STYLE_WORDS,
)

N_RATES = 600  # posts for the rate checks (plans only: no pixels, fast)


@pytest.fixture(scope="module")
def small() -> list[sample.SamplePost]:
    return list(iter_sample(n_posts=24, seed=7, n_months=3))


@pytest.fixture(scope="module")
def plans() -> list[sample.PostPlan]:
    return plan_sample(n_posts=N_RATES, seed=3)


@pytest.fixture(scope="module")
def year() -> pd.DataFrame:
    """The default 1,200-post plan as a table, with kind and month."""
    df = pd.DataFrame([p.__dict__ for p in plan_sample()])
    df["month"] = df["posted_at"].str[:7]
    return df


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_same_seed_gives_identical_table_and_image_bytes(small):
    again = list(iter_sample(n_posts=24, seed=7, n_months=3))
    pd.testing.assert_frame_equal(sample_table(small), sample_table(again))
    differing = [a.post_id for a, b in zip(small, again) if _png(a.image) != _png(b.image)]
    assert not differing, f"PNG bytes differ between two runs for {differing}"


def test_different_seed_gives_different_posts(small):
    other = list(iter_sample(n_posts=24, seed=8, n_months=3))
    same_captions = sum(a.content == b.content for a, b in zip(small, other))
    same_pixels = sum(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(small, other))
    assert same_captions < 4, f"{same_captions} of 24 captions equal across seeds 7 and 8"
    assert same_pixels == 0, f"{same_pixels} of 24 images identical across seeds 7 and 8"


def test_images_are_rgb_384x512_and_paths_relative(small):
    for post in small:
        assert post.image.mode == "RGB" and post.image.size == (WIDTH, HEIGHT) == (384, 512), \
            f"{post.post_id}: {post.image.mode} {post.image.size}"
        assert post.image_path == f"images/{post.post_id}.png"
        assert not post.image_path.startswith("/") and ".." not in post.image_path


def test_post_ids_unique_and_numbered(year):
    assert year["post_id"].is_unique
    assert year["post_id"].iloc[0] == "p000001" and year["post_id"].iloc[-1] == "p001200"
    assert year["post_id"].str.fullmatch(r"p\d{6}").all()


def test_sample_table_columns_and_types(small):
    table = sample_table(small)
    assert list(table.columns) == ["post_id", "content", "tags", "posted_at", "image_path", "label"]
    assert len(table) == 24 and all(table[c].dtype == object for c in table.columns)
    assert table["post_id"].tolist() == [p.post_id for p in small]


def test_iter_sample_follows_the_plan(small):
    plans = plan_sample(n_posts=24, seed=7, n_months=3)
    got = [(p.post_id, p.kind, p.label, p.content, p.tags, p.posted_at) for p in small]
    assert got == [(p.post_id, p.kind, p.label, p.content, p.tags, p.posted_at) for p in plans]


def test_every_style_has_a_palette_a_dresser_and_vocabulary(year):
    assert set(PALETTES) == set(DRESSERS) == set(STYLE_WORDS) == set(STYLES) == set(sample.SEASONS)
    assert len(STYLES) >= 8
    counts = year.loc[year["kind"] == "outfit", "label"].value_counts()
    assert set(counts.index) == set(STYLES), f"styles in the default sample: {counts.to_dict()}"
    assert counts.min() >= 40, f"rarest style has {counts.min()} outfit posts: {counts.to_dict()}"


@pytest.mark.parametrize("style", STYLES)
def test_each_style_draws_a_dressed_figure(style):
    img, share = draw_outfit(np.random.default_rng([5, STYLES.index(style)]), style)
    assert img.size == (384, 512) and img.mode == "RGB"
    assert 0.08 < share < 0.4, f"{style}: clothing covers {share:.3f} of the image"


@pytest.mark.parametrize("draw", [draw_scenery, draw_food, draw_face_closeup])
def test_non_outfit_images_show_under_5_percent_clothing(draw):
    shares = [draw(np.random.default_rng([11, k]))[1] for k in range(4)]
    assert max(shares) < 0.05, f"{draw.__name__}: clothing shares {np.round(shares, 3)}"


def test_within_style_images_vary():
    imgs = [np.asarray(draw_outfit(np.random.default_rng([9, k]), "大衣")[0], np.float32) for k in range(3)]
    diffs = [np.abs(imgs[i] - imgs[j]).mean() for i, j in ((0, 1), (0, 2), (1, 2))]
    assert min(diffs) > 10, f"mean absolute pixel difference between coats only {np.round(diffs, 1)}"


def test_failure_modes_at_their_rates(plans):
    counts = Counter(p.kind for p in plans)
    for kind, rate in {**IMAGE_FAILURE_RATES, **CAPTION_FAILURE_RATES}.items():
        expected = round(rate * N_RATES)
        assert expected >= 5 and abs(counts[kind] - expected) <= 1, \
            f"{kind}: {counts[kind]} of {N_RATES} posts, expected {expected} (rate {rate})"
    assert set(counts) <= set(KINDS)
    assert counts["outfit"] > 0.75 * N_RATES, f"only {counts['outfit']} plain outfit posts"


def test_failure_modes_look_like_their_kind(plans):
    by_kind: dict[str, list[sample.PostPlan]] = {}
    for p in plans:
        by_kind.setdefault(p.kind, []).append(p)
    assert all(p.content is None and p.tags is None for p in by_kind["caption_none"])
    assert all(p.content == "nan" for p in by_kind["caption_nan"])
    assert all(p.content == "" for p in by_kind["caption_empty"])
    assert all(p.content in (None, "") and p.tags and p.tags.startswith("#") for p in by_kind["tag_only"])
    lengths = [len(p.content) for p in by_kind["long_caption"]]
    assert min(lengths) >= 300, f"long captions of {sorted(lengths)[:5]}... characters"
    outfit_captions = {(p.content, p.posted_at[:7], p.label) for p in by_kind["outfit"]}
    copied = [p.post_id for p in by_kind["duplicate_caption"]
              if (p.content, p.posted_at[:7], p.label) not in outfit_captions]
    assert not copied, f"duplicate_caption posts copying no same-month outfit post: {copied}"
    labels = {k: {p.label for p in by_kind[k]} for k in IMAGE_FAILURE_RATES}
    assert labels == {"scenery": {"风景"}, "food": {"美食"}, "face": {"自拍特写"}}


def test_outfit_captions_are_chinese_with_emoji_tags_and_platform_tails(plans):
    outfits = [p for p in plans if p.kind == "outfit"]
    assert all(re.search(r"[\u4e00-\u9fff]", p.content) for p in outfits)
    with_emoji = np.mean([bool(re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", p.content)) for p in outfits])
    assert with_emoji > 0.9, f"only {with_emoji:.2f} of outfit captions carry an emoji"
    tails = [p for p in outfits if p.content.endswith(",,")]
    assert 0.2 < len(tails) / len(outfits) < 0.4, f"{len(tails)} of {len(outfits)} captions carry a tail"
    assert all(re.search(r" - 小红书,,\d{2}-\d{2},,$", p.content) and p.content[-7:-2] == p.posted_at[5:10]
               for p in tails)
    assert all(all(t.startswith("#") for t in p.tags.split()) for p in outfits)
    naming = [p for p in outfits if _names_garment(p.content)]
    own = sum(any(t in STYLE_WORDS[p.label]["tags"] for t in p.tags.split()) for p in naming)
    assert own == len(naming), f"{len(naming) - own} outfit posts naming their style lack a tag of it"


def _names_garment(caption: str) -> bool:
    return any(name in caption for words in STYLE_WORDS.values() for name in words["name"])


def test_about_half_the_outfit_captions_name_no_garment(plans):
    outfits = [p for p in plans if p.kind == "outfit"]
    generic = [p for p in outfits if not _names_garment(p.content)]
    share = len(generic) / len(outfits)
    assert abs(share - GENERIC_CAPTION_RATE) < 0.07, \
        f"{len(generic)} of {len(outfits)} outfit captions ({share:.2f}) name no garment"
    wrong = [p.post_id for p in outfits if _names_garment(p.content)
             and not any(n in p.content for n in STYLE_WORDS[p.label]["name"])]
    assert not wrong, f"captions naming a garment but not one of their own style: {wrong}"
    no_own = [p for p in generic if not any(t in STYLE_WORDS[p.label]["tags"] for t in p.tags.split())]
    expected = GENERIC_CAPTION_RATE * GENERIC_TAGS_RATE * len(outfits)
    assert abs(len(no_own) - expected) < 0.07 * len(outfits), \
        f"{len(no_own)} outfit posts carry no word of their style at all, expected about {expected:.0f}"
    assert all(set(p.tags.split()) <= set(GENERIC_TAGS) | set(NOISE_TAGS) for p in no_own)
    # The generic chatter is shared: the same sentences appear under several styles.
    styles_per_sentence: dict[str, set[str]] = {}
    for p in generic:
        for sentence in re.split(r"[，。]", p.content):
            styles_per_sentence.setdefault(sentence, set()).add(p.label)
    shared = sum(len(v) >= 3 for v in styles_per_sentence.values())
    assert shared >= 20, f"only {shared} generic sentences occur under 3 or more styles"


def test_caption_lengths_are_heavy_tailed(year):
    outfits = year[year["kind"] == "outfit"]
    lengths = outfits["content"].str.len().to_numpy()
    median, p90 = np.median(lengths), np.percentile(lengths, 90)
    assert p90 > 3 * median, f"90th percentile {p90:.0f} characters, median {median:.0f}"
    long_share, short_share = np.mean(lengths >= 200), np.mean(lengths <= 30)
    assert 0.12 < long_share < 0.25, f"{long_share:.3f} of outfit captions have 200+ characters"
    assert short_share > 0.12, f"only {short_share:.3f} of outfit captions have 30 characters or fewer"
    assert lengths.max() <= 900, f"longest outfit caption {lengths.max()} characters"
    # Rambles are mostly generic chatter: most long captions name no garment.
    long_generic = np.mean([not _names_garment(c) for c in outfits["content"][lengths >= 200]])
    assert long_generic > 0.75, f"only {long_generic:.2f} of the long captions name no garment"


def test_months_consecutive_and_balanced(year):
    counts = year["month"].value_counts().sort_index()
    assert counts.index.tolist() == [f"2024-{m:02d}" for m in range(1, 13)]
    assert counts.min() == counts.max() == 100, f"posts per month: {counts.to_dict()}"


def test_months_cross_the_year_and_timestamps_parse():
    plans = plan_sample(n_posts=50, seed=1, start_month="2024-11", n_months=4)
    months = sorted({p.posted_at[:7] for p in plans})
    assert months == ["2024-11", "2024-12", "2025-01", "2025-02"]
    for p in plans:
        datetime.strptime(p.posted_at, "%Y-%m-%d %H:%M:%S")  # raises on a bad date such as 02-30


def test_seasonal_signal(year):
    outfits = year[~year["kind"].isin(list(IMAGE_FAILURE_RATES))]  # every post showing an outfit
    share = pd.crosstab(outfits["month"], outfits["label"], normalize="index")
    winter = share.loc[["2024-01", "2024-02", "2024-12"], ["羽绒服", "大衣"]].sum(axis=1).mean()
    summer = share.loc[["2024-06", "2024-07", "2024-08"], ["羽绒服", "大衣"]].sum(axis=1).mean()
    assert winter > 0.35 and summer < 0.15, f"羽绒服+大衣 share: winter {winter:.2f}, summer {summer:.2f}"
    dress_summer = share.loc[["2024-06", "2024-07", "2024-08"], "连衣裙"].mean()
    dress_winter = share.loc[["2024-01", "2024-02", "2024-12"], "连衣裙"].mean()
    assert dress_summer > 3 * dress_winter, f"连衣裙 share: summer {dress_summer:.2f}, winter {dress_winter:.2f}"


def test_month_weights_are_probabilities():
    for m in range(1, 13):
        w = month_weights(m, m - 1)
        assert list(w) == list(STYLES) and abs(sum(w.values()) - 1) < 1e-9 and min(w.values()) > 0


@pytest.mark.parametrize("kwargs, match", [
    ({"n_posts": 0}, r"n_posts=0 .* integer >= 1"),
    ({"n_months": 0}, r"n_months=0 .* integer >= 1"),
    ({"seed": -1}, r"seed=-1 .* integer >= 0"),
    ({"n_posts": 2.5}, r"n_posts=2.5"),
    ({"start_month": "2024-13"}, r"start_month='2024-13' .* 'YYYY-MM'"),
    ({"start_month": "Jan 2024"}, r"start_month='Jan 2024'"),
])
def test_bad_arguments_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        next(iter_sample(**kwargs))


@pytest.mark.slow
def test_mediapipe_finds_people_in_outfits_and_none_in_scenery_or_food():
    mp = pytest.importorskip("mediapipe")
    images = {style: draw_outfit(np.random.default_rng([0, k]), style)[0] for k, style in enumerate(STYLES)}
    images["scenery"] = draw_scenery(np.random.default_rng([0, 100]))[0]
    images["food"] = draw_food(np.random.default_rng([0, 101]))[0]
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        cover = {k: float((seg.process(np.asarray(im)).segmentation_mask > 0.5).mean()) for k, im in images.items()}
    rounded = {k: round(v, 3) for k, v in cover.items()}
    assert all(cover[s] > 0.10 for s in STYLES), f"person-mask coverage: {rounded}"
    assert cover["scenery"] < 0.05 and cover["food"] < 0.05, f"person-mask coverage: {rounded}"


# Pixels of iter_sample(n_posts=24, seed=7, n_months=3) as drawn before `cutout` existed (sha256 of
# the concatenated RGB arrays): the default sample, pinned in data/raw.dvc, must not change.
DEFAULT_SMALL_PIXELS_SHA256 = "cdae6c584c1f509d12fd18cdbc69ff99b645986edae80e57ffb1a8e82ec1b006"


def test_default_sample_pixels_are_unchanged(small):
    import hashlib

    digest = hashlib.sha256()
    for post in small:
        digest.update(np.ascontiguousarray(np.asarray(post.image)).tobytes())
    assert digest.hexdigest() == DEFAULT_SMALL_PIXELS_SHA256, \
        "the default sample's pixels changed (data/raw.dvc pins them)"


def test_cutout_sample_is_the_same_posts_as_rgba_with_a_transparent_background(small):
    cut = list(iter_sample(n_posts=24, seed=7, n_months=3, cutout=True))
    pd.testing.assert_frame_equal(sample_table(small), sample_table(cut))
    kinds = Counter()
    for plain, post in zip(small, cut):
        assert post.image.mode == "RGBA" and post.image.size == plain.image.size, post.post_id
        assert np.array_equal(np.asarray(post.image.convert("RGB")), np.asarray(plain.image)), \
            f"{post.post_id}: the colour pixels differ from the default sample's"
        alpha = np.asarray(post.image)[..., 3]  # (H, W) uint8
        transparent = float((alpha == 0).mean())
        if post.kind in ("scenery", "food"):
            assert (alpha == 255).all(), f"{post.post_id} ({post.kind}): no subject, opaque"
        else:
            kinds[post.kind] += 1
            assert 0.3 < transparent < 0.95, f"{post.post_id}: {transparent:.2f} transparent"
            assert alpha[0, 0] == alpha[0, -1] == 0, f"{post.post_id}: a corner is not transparent"
            assert (alpha == 255).mean() > 0.04, f"{post.post_id}: no opaque figure"
            assert set(np.unique(alpha)) - {0, 255}, "edges are anti-aliased by the reduction"
    assert kinds["outfit"] >= 10, kinds


def test_cutout_figure_covers_the_clothing():
    rng = np.random.default_rng([5, 0])
    img, share = draw_outfit(rng, STYLES[0], cutout=True)
    opaque = float((np.asarray(img)[..., 3] >= 128).mean())
    assert share < opaque < 0.6, f"figure {opaque:.3f} vs clothing {share:.3f}"
