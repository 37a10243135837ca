"""Reading a 1-5 satisfaction rating from what the customer typed."""

from __future__ import annotations

import functools
import re
from typing import Any, Optional

from bot.access.ids import normalise_digits

# Also the pattern of the `rating` regex entity in data/nlu/entities.yml.
RATING = re.compile(r"(?<!\d)[1-5](?!\d)")
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CHINESE = re.compile(r"([一二两三四五])\s*(?:分|星|颗星)")
# words, strongest first so that 非常满意 is not read as 满意
_WORDS = [
    ("非常满意", 5), ("很满意", 5), ("超级满意", 5), ("非常不满意", 1), ("很不满意", 1),
    ("很差", 1), ("太差", 1), ("不满意", 2), ("一般", 3), ("还行", 3), ("还可以", 3),
    ("满意", 4), ("不错", 4),
]


@functools.lru_cache(maxsize=1)
def _to_simplified() -> Any:
    import opencc  # imported on first use: it loads its dictionaries

    return opencc.OpenCC("t2s.json")


def simplified(text: str) -> str:
    """``text`` in simplified script (滿意 → 满意, 兩顆星 → 两颗星)."""
    # a lone surrogate (JSON allows "\\ud800") cannot be encoded for OpenCC: a space stands in
    text = "".join(" " if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return str(_to_simplified().convert(text))


def parse_rating(text: str) -> Optional[int]:
    """The 1-5 rating in ``text``: a digit, 四分/五星, or a word such as 满意; else ``None``."""
    text = simplified(normalise_digits(text))
    match = RATING.search(text)
    if match:
        return int(match.group(0))
    match = _CHINESE.search(text)
    if match:
        return _CHINESE_DIGITS[match.group(1)]
    for word, rating in _WORDS:
        if word in text:
            return rating
    return None
