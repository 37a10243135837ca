"""Customer text is read as text: typed ``/intent{...}`` syntax never reaches Rasa as an intent.

Rasa treats a message whose stripped text starts with ``/`` as a hard-coded
intent with entities (``/request_human{"order_id": "1"}``), which would let a
customer skip NLU and the forms' checks. The turn guard passes every message of
our channels through ``neutralise_command`` first.

One exception: a bare ``/intent`` (no entities) naming one of the topics the assistant
offers when it is unsure (``bot.playbook.clarify.BUTTON_INTENTS``, the payloads of its
「您是想问：」 buttons) stays a command: it sets no slot and says no more than a message
NLU read as that topic.
"""

from __future__ import annotations

import unicodedata
from typing import Optional

from bot.playbook.clarify import BUTTON_INTENTS


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
    if not slash:
        return text
    rest = text[i:]
    if rest.strip() in BUTTON_INTENTS:  # a 「您是想问」 button's payload
        return "/" + rest.strip()
    return rest
