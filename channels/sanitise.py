"""Customer text is read as text: typed ``/intent{...}`` syntax never reaches Rasa as an intent.

Rasa treats a message whose stripped text starts with ``/`` as a hard-coded
intent with entities (``/request_human{"order_id": "1"}``), which would let a
customer skip NLU and the forms' checks. The turn guard passes every message of
our channels through ``neutralise_command`` first.
"""

from __future__ import annotations

import unicodedata
from typing import Optional


def neutralise_command(text: Optional[str]) -> Optional[str]:
    """Drop a leading ``/`` so Rasa parses the message with NLU, never as ``/intent{...}``.

    Leading blanks, invisible characters and slash look-alikes (full-width ``／``)
    go with it, since the NLU normaliser would turn them into ``/``.
    """
    if not text:
        return text
    i, slash = 0, False
    while i < len(text):
        ch = text[i]
        if unicodedata.normalize("NFKC", ch) == "/":
            slash = True
        elif not (ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc")):
            break
        i += 1
    return text[i:] if slash else text
