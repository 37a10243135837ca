"""Reading a 1-5 satisfaction rating from what the customer typed."""

from __future__ import annotations

import re
from typing import Optional

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


def parse_rating(text: str) -> Optional[int]:
    text = normalise_digits(text)
    match = RATING.search(text)
    if match:
        return int(match.group(0))
    match = _CHINESE.search(text)
    if match:
        return _CHINESE_DIGITS[match.group(1)]
    simplified = text.replace("滿", "满").replace("還", "还").replace("錯", "错")
    for word, rating in _WORDS:
        if word in simplified:
            return rating
    return None
