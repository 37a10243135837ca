"""Which variant (colour, size) a customer asks to exchange to."""

from __future__ import annotations

import re
from typing import Iterable, Optional, Tuple


def _mentioned(part: str, text: str) -> bool:
    if part.isascii():  # sizes: "L" must not match inside "XL"
        pattern = rf"(?<![A-Za-z]){re.escape(part)}(?![A-Za-z])"
        return re.search(pattern, text, re.IGNORECASE) is not None
    return part in text


def requested_variant(
    text: str, ordered: str, variants: Iterable[Tuple[str, int]]
) -> Optional[Tuple[str, int]]:
    """The variant the text asks for instead of ``ordered``, with its stock.

    Variant names are parts separated by spaces ("藏青色 L"). A variant is asked
    for when every part that differs from the ordered one is mentioned: "换M码"
    from "藏青色 L" asks for "藏青色 M". The one changing most parts wins.
    """
    ordered_parts = ordered.split()
    best: Optional[Tuple[str, int, int]] = None
    for name, stock in variants:
        parts = name.split()
        if name == ordered or len(parts) != len(ordered_parts):
            continue
        changed = [p for p, o in zip(parts, ordered_parts) if p != o]
        if changed and all(_mentioned(p, text) for p in changed):
            if best is None or len(changed) > best[2]:
                best = (name, stock, len(changed))
    return (best[0], best[1]) if best else None
