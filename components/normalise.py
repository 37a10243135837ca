"""Text normalisation before tokenisation.

Traditional → simplified script (OpenCC), full-width → half-width, emoji and
control characters removed, runs of the same punctuation collapsed, white
space folded. Order, tracking and phone numbers survive unchanged (full-width
digits become ASCII digits).

``normalise_with_offsets`` also maps each original character position to the
new text, so annotated entity spans can follow the text.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import List, Tuple

PUNCTUATION_RUNS = set("!?！？。，,.、~～…—-_=+*#")


@functools.lru_cache(maxsize=1)
def _converter():
    import opencc  # imported on first use: it loads its dictionaries

    return opencc.OpenCC("t2s.json")


def to_simplified(text: str) -> str:
    """Traditional → simplified, keeping the length (and so every offset)."""
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(_converter().convert(ch) or ch for ch in text)


def _half_width(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        # a lone surrogate (JSON allows "\\ud800") cannot be encoded for OpenCC;
        # NUL stands in for it and is dropped as noise below
        return "\x00"
    if code == 0x3000:
        return " "
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return ch


def _is_noise(ch: str) -> bool:
    """Emoji, symbols of the 'So' category, variation selectors and control characters."""
    if ch in "\n\t ":
        return False
    category = unicodedata.category(ch)
    return category in ("So", "Cc", "Cf", "Cs", "Co", "Sk") or 0xFE00 <= ord(ch) <= 0xFE0F


def normalise_with_offsets(text: str) -> Tuple[str, List[int]]:
    """The normalised text, and for each original position its position in it.

    A removed character maps to the position of the next kept one.
    """
    chars = to_simplified("".join(_half_width(ch) for ch in text))
    kept: List[str] = []
    positions: List[int] = []
    for ch in chars:
        if ch in "\n\t":
            ch = " "
        drop = _is_noise(ch) or (
            kept and (
                (ch == " " and kept[-1] == " ")
                or (ch in PUNCTUATION_RUNS and kept[-1] == ch)
            )
        )
        positions.append(len(kept))
        if not drop:
            kept.append(ch)
    # trim white space at both ends, shifting the positions
    new = "".join(kept)
    stripped = new.lstrip()
    shift = len(new) - len(stripped)
    stripped = stripped.rstrip()
    positions = [min(max(p - shift, 0), len(stripped)) for p in positions]
    return stripped, positions


def normalise(text: str) -> str:
    return normalise_with_offsets(text)[0]
