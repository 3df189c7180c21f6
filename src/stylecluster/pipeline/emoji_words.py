"""Emoji to Chinese words, the way emoji.demojize(language="zh") names them, about 10x faster.

Emoji already written as codes (`:thumbs_up:`, `:teddy_bear:`, as some exports store them) go
through the same names: `emojize_codes` turns each code back into its emoji with
`emoji.emojize(language="alias")` (English CLDR names and GitHub/Slack aliases), and `demojize`
then names it in Chinese, so `:fallen_leaf:` and 🍂 both become 落叶. A code the package does not
know is tried once more with its words in any order (`:leaf_fallen:` -> the only emoji whose name
has the words {leaf, fallen}); a code that still names no single emoji is dropped, never kept as
English words.

`demojize(..., marked=True)` wraps every name in EMOJI_OPEN/EMOJI_CLOSE (private-use characters) so
that the caller can tell emoji words from the caption's own words.
"""

from __future__ import annotations

import functools
import re

import emoji

# Zero-width characters, variation selectors and the keycap mark: invisible, never words.
INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\ufe0e\ufe0f\u20e3]")
# Around an emoji's Chinese name with `marked=True`: Unicode private-use code points, which no
# caption, emoji name or jieba dictionary word contains.
EMOJI_OPEN, EMOJI_CLOSE = "\ue000", "\ue001"
MARKED = re.compile(f"{EMOJI_OPEN}[^{EMOJI_CLOSE}]*{EMOJI_CLOSE}")
# `:name:` candidates: no spaces, colons or CJK/full-width characters inside, at most 60 long.
# Unknown ones without an ASCII letter are left alone, so times and ratios (12:30:45, 3:7:) stay.
EMOJI_CODE = re.compile(":([^\\s:\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]{1,60}):")
_HAS_LETTER = re.compile("[A-Za-z]")
_CODE_WORDS = re.compile(r"[_\-\s]+")


@functools.lru_cache(maxsize=1)
def _emoji_table() -> tuple[dict[str, str], re.Pattern[str], int]:
    """Emoji -> Chinese name (emoji's zh data), a regex for runs of emoji, the longest sequence."""
    emoji.config.load_language("zh")
    names = {e: d["zh"].strip(":").replace("_", " ")  # 拇指向上_较浅肤色 -> 拇指向上 较浅肤色
             for e, d in emoji.EMOJI_DATA.items() if d.get("zh")}
    keycap_bases = set("#*0123456789")  # keycaps (1️⃣) start with ASCII: only with FE0F/20E3 after
    starts = _char_class({e[0] for e in names} - keycap_bases)
    parts = _char_class({c for e in names for c in e} - keycap_bases)
    keycap = "[#*0-9](?=[\ufe0f\u20e3])"
    run = re.compile(f"(?:{starts}|{keycap})(?:{parts}|{keycap})*")
    return names, run, max(map(len, names))


def _char_class(chars: set[str]) -> str:
    """A regex class of `chars` as ranges (sre tests a long list of astral chars one by one)."""
    ranges: list[list[int]] = []
    for code in sorted(map(ord, chars)):
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "")
                         for a, b in ranges) + "]"


def demojize(text: str, marked: bool = False) -> str:
    """Every emoji in `text` as its Chinese name between spaces; joiners and selectors dropped.

    Args:
        text: Any text.
        marked: Wrap each name in EMOJI_OPEN ... EMOJI_CLOSE (still between spaces).

    Returns:
        The text with emoji replaced, e.g. '好看❤️' -> '好看 红心 '.
    """
    # Same names as emoji.demojize(text, language="zh", delimiters=(" ", " ")), about 10x faster:
    # only runs of emoji code points are looked at, longest sequence first.
    names, run, longest = _emoji_table()
    open_, close = (EMOJI_OPEN, EMOJI_CLOSE) if marked else ("", "")

    def name_run(match: re.Match[str]) -> str:
        seq, out, i = match.group(), [], 0
        while i < len(seq):
            for size in range(min(longest, len(seq) - i), 0, -1):
                name = names.get(seq[i:i + size])
                if name:
                    out.append(f" {open_}{name}{close} ")
                    i += size
                    break
            else:  # a lone joiner, selector or modifier: dropped; an ASCII keycap base is kept
                out.append(seq[i] if seq[i].isascii() else "")
                i += 1
        return "".join(out)

    return INVISIBLE.sub("", run.sub(name_run, text))


@functools.lru_cache(maxsize=1)
def _codes_by_words() -> dict[tuple[str, ...], str | None]:
    """Sorted words of every English name and alias -> its emoji; None where the words name
    emoji with different Chinese names (('japan',): 🗾 日本地图 and 🇯🇵 日本)."""
    names = _emoji_table()[0]
    found: dict[tuple[str, ...], str | None] = {}
    for char, data in emoji.EMOJI_DATA.items():
        for code in (data["en"], *data.get("alias", ())):
            key = _code_key(code)
            seen = found.get(key, char)
            found[key] = char if seen is not None and names.get(seen) == names.get(char) else None
    return found


def _code_key(code: str) -> tuple[str, ...]:
    return tuple(sorted(w for w in _CODE_WORDS.split(code.strip(":").lower()) if w))


@functools.lru_cache(maxsize=4096)
def code_to_emoji(code: str) -> str | None:
    """The emoji a `:code:` names (case-insensitive; words in any order as a fallback), or None.

    Args:
        code: A code with its colons, e.g. ':thumbs_up:', ':+1:', ':leaf_fallen:'.

    Returns:
        The emoji string (e.g. '👍'), or None when no single emoji (with a Chinese name) fits.
    """
    names = _emoji_table()[0]
    for spelling in dict.fromkeys((code, code.lower())):  # as written first: :Japan: 🇯🇵, :japan: 🗾
        char = emoji.emojize(spelling, language="alias")
        if char != spelling:  # emojize leaves an unknown code as it is
            return char if char in names else None
    char = _codes_by_words().get(_code_key(code)) or ""
    return char if char in names else None


def emojize_codes(text: str) -> tuple[str, int, int]:
    """Replace each `:code:` in `text` by its emoji (spaced); drop codes that name none.

    Args:
        text: A caption.

    Returns:
        (text, codes converted, unknown codes dropped). Unknown candidates without an ASCII
        letter (the ':30:' of 12:30:45) are left as they are and counted as neither.
    """
    converted = unknown = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal converted, unknown
        char = code_to_emoji(match.group())
        if char is None and not _HAS_LETTER.search(match.group(1)):
            return match.group()  # 12:30:45 or 3:7: (known ones like :+1: and :100: convert)
        if char is None:
            unknown += 1
            return " "
        converted += 1
        return f" {char} "

    return EMOJI_CODE.sub(replace, text), converted, unknown
