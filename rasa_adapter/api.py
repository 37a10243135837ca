"""The client of a running Rasa server's HTTP API: the only code outside Rasa that calls it.

``parse_ranking`` (``/model/parse``) for agent assist, ``conversation_slots`` (a
tracker's slots), ``tracker`` (a whole conversation, for the agents' workbench),
``append_events`` (pause, an agent's message delivered to the customer),
``release_conversation`` (tracker events that give a paused conversation back to
the assistant), ``trigger_intent`` (an external event, such as a photo received,
said into a conversation) and ``notice_sayer`` (a case's change told to a customer who
can be reached now).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple


class RasaUnavailable(RuntimeError):
    """The Rasa server did not answer."""


def _call(rasa_url: str, url: str, body: Any = None, timeout: float = 10) -> Any:
    """The JSON answer of a GET (no ``body``) or a JSON POST; ``RasaUnavailable`` if none."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return json.loads(raw) if raw.strip() else None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RasaUnavailable(f"Rasa at {rasa_url} did not answer: {exc}") from exc


def parse_ranking(rasa_url: str, text: str, token: str = "", timeout: float = 10) -> List[Tuple[str, float]]:
    """The intents Rasa ranks for ``text``, best first, as (intent, confidence)."""
    url = f"{rasa_url.rstrip('/')}/model/parse"
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    parsed = _call(rasa_url, url, {"text": text}, timeout)
    ranking = [(r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or []]
    if not ranking and parsed.get("intent"):
        ranking = [(parsed["intent"]["name"], float(parsed["intent"].get("confidence", 0)))]
    # nlu_fallback is not a reply of its own: keep the real hypotheses
    return [r for r in ranking if r[0] != "nlu_fallback"] or ranking


def _conversation_url(rasa_url: str, conversation_id: str, path: str, token: str, **query: str) -> str:
    url = f"{rasa_url.rstrip('/')}/conversations/{urllib.parse.quote(conversation_id, safe='')}/{path}"
    if token:
        query["token"] = token
    return url + (f"?{urllib.parse.urlencode(query)}" if query else "")


def conversation_slots(rasa_url: str, conversation_id: str, token: str = "",
                       timeout: float = 10) -> Dict[str, Any]:
    """A conversation's slots, from Rasa's tracker API (empty for an unknown conversation)."""
    tracker = _call(rasa_url, _conversation_url(rasa_url, conversation_id, "tracker", token), timeout=timeout)
    return dict(tracker.get("slots") or {})


def conversation_slot(rasa_url: str, conversation_id: str, slot: str, token: str = "",
                      timeout: float = 10) -> Optional[str]:
    """A slot of a conversation, from Rasa's tracker API; ``None`` if unset or unknown."""
    value = conversation_slots(rasa_url, conversation_id, token, timeout).get(slot)
    return str(value) if value else None


def trigger_intent(rasa_url: str, conversation_id: str, intent: str, entities: Dict[str, Any],
                   token: str = "", timeout: float = 30) -> List[Dict[str, Any]]:
    """Say an external event into a conversation (``POST .../trigger_intent``): the bot
    runs the intent's rule and answers on the conversation's latest channel (for the
    widget, its socket.io room on the Rasa instance that runs the event; with several
    instances see docs/scaling.md). The answers are returned as well.
    """
    url = _conversation_url(rasa_url, conversation_id, "trigger_intent", token, output_channel="latest")
    answer = _call(rasa_url, url, {"name": intent, "entities": entities}, timeout)
    return list((answer or {}).get("messages") or [])


# the channels that push a message to the customer between their turns (the widget's);
# over REST nothing reaches the customer until they write again
PUSH_CHANNELS = ("socketio",)


def latest_channel(rasa_url: str, conversation_id: str, token: str = "", timeout: float = 10) -> Optional[str]:
    """The channel the customer last wrote from (None: never wrote)."""
    url = _conversation_url(rasa_url, conversation_id, "tracker", token, include_events="NONE")
    return (_call(rasa_url, url, timeout=timeout) or {}).get("latest_input_channel")


def notice_sayer(rasa_url: str, token: str = "", timeout: float = 30,
                 on_failure: Optional[Callable[[str], None]] = None) -> Callable[[str, str, Dict[str, str]], bool]:
    """``say(conversation, intent, entities)`` for ``bot.playbook.followups.tell_case_changed``:
    True when the intent was said into a conversation whose channel pushes it to the
    customer now; False (nothing said) when its customer wrote over REST (told when they
    write again) or Rasa cannot be reached (``on_failure`` gets why)."""

    def say(conversation: str, intent: str, entities: Dict[str, str]) -> bool:
        try:
            if latest_channel(rasa_url, conversation, token, timeout) not in PUSH_CHANNELS:
                return False
            trigger_intent(rasa_url, conversation, intent, entities, token, timeout)
            return True
        except RasaUnavailable as exc:
            if on_failure is not None:
                on_failure(str(exc))
            return False

    return say


# The slot domain.yml uses for a conversation handed to a human (set by action_handoff).
HANDOFF_SLOT = "handoff"


def append_events(rasa_url: str, conversation_id: str, events: List[Dict[str, Any]], token: str = "",
                  deliver: bool = False, timeout: float = 10) -> None:
    """Append ``events`` to a conversation in one request (Rasa holds the conversation's
    lock: all or none are stored). With ``deliver`` the bot messages among them are also
    sent on the channel the customer last wrote from (socket.io: to the widget at once;
    REST: nothing to push to, the message waits in the conversation)."""
    query = {"execute_side_effects": "true", "output_channel": "latest"} if deliver else {}
    _call(rasa_url, _conversation_url(rasa_url, conversation_id, "tracker/events", token, **query), events, timeout)


def tracker(rasa_url: str, conversation_id: str, token: str = "", timeout: float = 10) -> Dict[str, Any]:
    """A conversation's tracker (every event); an unknown id gives a tracker without events."""
    url = _conversation_url(rasa_url, conversation_id, "tracker", token, include_events="ALL")
    return dict(_call(rasa_url, url, timeout=timeout) or {})


def bot_message(text: str, agent: Optional[str] = None) -> Dict[str, Any]:
    """A bot message event; an agent's carries the agent's name in its metadata."""
    return {"event": "bot", "text": text, "metadata": {"agent": agent} if agent else {},
            "timestamp": time.time()}


PAUSE_EVENTS: List[Dict[str, Any]] = [{"event": "pause"}, {"event": "slot", "name": HANDOFF_SLOT, "value": "agent"}]


def release_events(farewell: Optional[str] = None, agent: Optional[str] = None) -> List[Dict[str, Any]]:
    """Give a paused conversation back to the assistant: besides ``resume``, an
    ``action_listen``: the messages the customer sent to the human were never answered
    by the assistant, and its next message must start a fresh turn. ``farewell``, the
    bot's message telling the customer, comes before it."""
    return [
        {"event": "resume"},
        {"event": "slot", "name": HANDOFF_SLOT, "value": None},
        *([bot_message(farewell)] if farewell else []),
        {"event": "action", "name": "action_listen"},
    ]


def release_conversation(rasa_url: str, conversation_id: str, token: str = "", timeout: float = 10,
                         farewell: Optional[str] = None) -> None:
    """Give a paused conversation back to the assistant through Rasa's tracker API."""
    append_events(rasa_url, conversation_id, release_events(farewell), token, deliver=bool(farewell),
                  timeout=timeout)
