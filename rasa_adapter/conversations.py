"""Conversations as Rasa keeps them, for the agents' workbench.

``conversation_from_tracker`` turns a tracker (Rasa's HTTP API) into a
``bot.workbench.conversation.Conversation``; ``TrackerIndex`` reads the SQL tracker
store's ``events`` table (Rasa 3.6's ``SQLTrackerStore`` schema: id, sender_id,
type_name, timestamp, intent_name, action_name, data) for the conversations active
lately, which Rasa's HTTP API cannot list; ``tracker_store_url`` finds that database
in an endpoints.yml as Rasa does.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

import yaml
from sqlalchemy import column, func, select, table
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import OperationalError

from bot.shop.review import UNSURE_INTENTS, UnsureMessage
from bot.workbench.conversation import AGENT, BOT, CUSTOMER, Conversation, Line
from bot.workbench.inbox import Activity
from rasa_adapter import api

FALLBACK_INTENT = "nlu_fallback"
# a customer message the bot could not help with: below the confidence threshold, or
# answered with 「这个问题我暂时回答不了」
NOT_UNDERSTOOD = (FALLBACK_INTENT, "out_of_scope")
EXTERNAL = "EXTERNAL_"  # the intents the shop's code says into a conversation (domain.yml)
EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"),
               column("intent_name"), column("data"))


def _when(timestamp: Optional[float]) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, tz=timezone.utc).replace(tzinfo=None)


def _line(event: Mapping[str, Any]) -> Optional[Line]:
    kind, text = event.get("event"), event.get("text")
    if kind not in ("user", "bot") or not isinstance(text, str) or not text:
        return None
    at = _when(event.get("timestamp"))
    if kind == "user":
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if str(intent).startswith(EXTERNAL):  # said by the shop's code, not typed by the customer
            return None
        return Line(CUSTOMER, text, at)
    agent = (event.get("metadata") or {}).get("agent")
    return Line(AGENT, text, at, str(agent)) if agent else Line(BOT, text, at)


def conversation_from_tracker(conversation_id: str, tracker: Mapping[str, Any]) -> Conversation:
    events = tracker.get("events") or []
    latest = tracker.get("latest_message") or {}
    entities: Dict[str, List[str]] = {}
    for entity in latest.get("entities") or []:
        entities.setdefault(str(entity.get("entity")), []).append(str(entity.get("value")))
    ranking = [(str(r.get("name")), float(r.get("confidence") or 0))
               for r in latest.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    order = (tracker.get("slots") or {}).get("order_id")
    return Conversation(
        id=conversation_id,
        lines=tuple(line for line in map(_line, events) if line is not None),
        paused=bool(tracker.get("paused")),
        order_id=str(order) if order else None,
        channel=tracker.get("latest_input_channel"),
        ranking=tuple(ranking),
        entities=entities,
    )


def tracker_store_url(endpoints: Path, root: Path) -> Optional[str]:
    """The SQL tracker store of ``endpoints`` (an SQLite path is relative to ``root``,
    where Rasa runs), or None when it is not SQL."""
    config = (yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}).get("tracker_store")
    if not isinstance(config, dict) or config.get("type") != "SQL":
        return None
    value = {k: os.path.expandvars(str(v)) for k, v in config.items() if v is not None}
    dialect = value.get("dialect", "sqlite")
    if dialect.startswith("sqlite"):
        db = Path(value.get("db", "rasa.db"))
        return f"sqlite:///{db if db.is_absolute() else root / db}"
    if "://" in value.get("url", ""):
        return value["url"]
    return URL.create(dialect, value.get("username"), value.get("password"), value.get("url"),
                      int(value["port"]) if value.get("port") else None,
                      database=value.get("db")).render_as_string(hide_password=False)


class TrackerIndex:
    """Reads the tracker store's events: the recent conversations, and a cheap change mark."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def mark(self, conversation_id: str) -> int:
        """The id of the conversation's latest event: it changes when anything happens
        (0 before Rasa has made its table)."""
        try:
            with self.engine.connect() as c:
                query = select(func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == conversation_id)
                return int(c.execute(query).scalar() or 0)
        except OperationalError:
            return 0

    def latest_id(self) -> int:
        """The latest event of any conversation: a cheap mark of any change."""
        try:
            with self.engine.connect() as c:
                return int(c.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
        except OperationalError:
            return 0

    def unsure_messages(self, after_id: int, limit: int = 500) -> List[UnsureMessage]:
        """The customer messages NLU fell back on or read as out of scope, of events above
        ``after_id``, oldest first (none before Rasa has made its table): the review queue's
        live traffic (bot/shop/review.py)."""
        try:
            with self.engine.connect() as c:
                rows = c.execute(
                    select(EVENTS.c.id, EVENTS.c.data)
                    .where(EVENTS.c.id > after_id, EVENTS.c.type_name == "user",
                           EVENTS.c.intent_name.in_(UNSURE_INTENTS))
                    .order_by(EVENTS.c.id).limit(limit)).all()
        except OperationalError:
            return []
        return [_unsure(event_id, data) for event_id, data in rows]

    def recent(self, since: datetime, limit: int = 100) -> List[Activity]:
        """The conversations with an event since ``since`` (naive UTC), the latest first
        (none before Rasa has made its table)."""
        try:
            return self._recent(since, limit)
        except OperationalError:
            return []

    def _recent(self, since: datetime, limit: int) -> List[Activity]:
        after = since.replace(tzinfo=timezone.utc).timestamp()
        with self.engine.connect() as c:
            senders = [row[0] for row in c.execute(
                select(EVENTS.c.sender_id).where(EVENTS.c.timestamp > after)
                .group_by(EVENTS.c.sender_id).order_by(func.max(EVENTS.c.timestamp).desc()).limit(limit))]
            if not senders:
                return []
            rows = c.execute(
                select(EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.intent_name,
                       EVENTS.c.data)
                .where(EVENTS.c.sender_id.in_(senders),
                       EVENTS.c.type_name.in_(("user", "bot", "pause", "resume")))
                .order_by(EVENTS.c.id)).all()
        grouped: Dict[str, List[Any]] = {}
        for row in rows:
            grouped.setdefault(row[0], []).append(row)
        return [_activity(s, grouped.get(s, [])) for s in senders if grouped.get(s)]


def _unsure(event_id: int, data: Optional[str]) -> UnsureMessage:
    """One event's message (an unreadable one with no text: the queue passes over it)."""
    try:
        event = json.loads(data or "{}")
    except ValueError:
        event = {}
    parsed = event.get("parse_data") or {}
    text = event.get("text") if isinstance(event.get("text"), str) else ""
    ranking = [(str(r.get("name")), float(r.get("confidence") or 0))
               for r in parsed.get("intent_ranking") or [] if isinstance(r, dict)]
    return UnsureMessage(int(event_id), text, str((parsed.get("intent") or {}).get("name") or ""), ranking)


def _activity(sender: str, rows: Iterable[Any]) -> Activity:
    last_text, last_at, customer_at, paused = "", _when(0), None, False
    understood: List[bool] = []
    for _, kind, timestamp, intent, data in rows:
        last_at = _when(timestamp)
        if kind in ("pause", "resume"):
            paused = kind == "pause"
            continue
        try:
            event = json.loads(data or "{}")
        except ValueError:
            event = {}
        if kind == "user":
            customer_at = last_at
            understood.append(intent not in NOT_UNDERSTOOD)
        elif (event.get("metadata") or {}).get("agent"):
            understood = []  # an agent answered: the failures are dealt with
        last_text = str(event.get("text") or last_text)
    return Activity(sender, last_at, last_text, customer_at,
                    not_understood=understood[-2:] == [False, False], paused=paused)


class RasaConversations:
    """A Rasa server's conversations, for the workbench: read one, pause it for an agent,
    deliver an agent's message, give it back to the assistant (``rasa_adapter.api``)."""

    def __init__(self, rasa_url: str, token: str = "", timeout: float = 10) -> None:
        self.rasa_url, self.token, self.timeout = rasa_url, token, timeout

    def get(self, conversation_id: str) -> Conversation:
        return conversation_from_tracker(
            conversation_id, api.tracker(self.rasa_url, conversation_id, self.token, self.timeout))

    def pause(self, conversation_id: str) -> None:
        api.append_events(self.rasa_url, conversation_id, api.PAUSE_EVENTS, self.token, timeout=self.timeout)

    def send(self, conversation_id: str, text: str, agent: str) -> None:
        """Store the agent's message in the conversation and deliver it (one request)."""
        api.append_events(self.rasa_url, conversation_id, [api.bot_message(text, agent)], self.token,
                          deliver=True, timeout=self.timeout)

    def release(self, conversation_id: str, farewell: str) -> None:
        api.release_conversation(self.rasa_url, conversation_id, self.token, self.timeout, farewell=farewell)

    def notice_sayer(self) -> Callable[[str, str, Dict[str, str]], bool]:
        """How the workbench tells a customer their case changed (``api.notice_sayer``)."""
        return api.notice_sayer(self.rasa_url, self.token, self.timeout)
