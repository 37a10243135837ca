"""The client of a running Rasa server's HTTP API: the only code outside Rasa that calls it.

``parse_ranking`` (``/model/parse``) for agent assist, ``conversation_slot`` (a
tracker's slot) and ``release_conversation`` (tracker events that give a paused
conversation back to the assistant).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import List, Optional, Tuple


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer."""


def parse_ranking(rasa_url: str, text: str, token: str = "", timeout: float = 10) -> List[Tuple[str, float]]:
    """The intents Rasa ranks for ``text``, best first, as (intent, confidence)."""
    url = f"{rasa_url.rstrip('/')}/model/parse"
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            parsed = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaUnavailable(f"Rasa at {rasa_url} did not answer: {exc}") from exc
    ranking = [(r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or []]
    if not ranking and parsed.get("intent"):
        ranking = [(parsed["intent"]["name"], float(parsed["intent"].get("confidence", 0)))]
    # nlu_fallback is not a reply of its own: keep the real hypotheses
    return [r for r in ranking if r[0] != "nlu_fallback"] or ranking


def conversation_slot(rasa_url: str, conversation_id: str, slot: str, token: str = "",
                      timeout: float = 10) -> Optional[str]:
    """A slot of a conversation, from Rasa's tracker API; ``None`` if unset or unknown."""
    url = f"{rasa_url.rstrip('/')}/conversations/{urllib.parse.quote(conversation_id, safe='')}/tracker"
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            tracker = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaUnavailable(f"Rasa at {rasa_url} did not answer: {exc}") from exc
    value = (tracker.get("slots") or {}).get(slot)
    return str(value) if value else None


# The slot domain.yml uses for a conversation handed to a human (set by action_handoff).
HANDOFF_SLOT = "handoff"


def release_conversation(rasa_url: str, conversation_id: str, token: str = "", timeout: float = 10) -> None:
    """Give a paused conversation back to the assistant through Rasa's tracker API.

    Besides ``resume``, an ``action_listen`` is appended: the messages the customer
    sent to the human were never answered by the assistant, and its next message
    must start a fresh turn.
    """
    url = f"{rasa_url.rstrip('/')}/conversations/{urllib.parse.quote(conversation_id, safe='')}/tracker/events"
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    request = urllib.request.Request(
        url,
        data=json.dumps([
            {"event": "resume"},
            {"event": "slot", "name": HANDOFF_SLOT, "value": None},
            {"event": "action", "name": "action_listen"},
        ]).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except (urllib.error.URLError, OSError) as exc:
        raise RasaUnavailable(f"Rasa at {rasa_url} did not answer: {exc}") from exc
