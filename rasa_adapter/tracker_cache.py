"""An in-process cache of conversations' trackers in front of Rasa's SQL tracker store.

Rasa 3.6's ``SQLTrackerStore`` reads every event of a conversation's session, decodes
its JSON and replays it into a tracker at each ``retrieve`` (several times a turn), and
counts the stored events of the session before each ``save``. ``TrackerCache`` keeps,
per conversation, the tracker as last saved or read, and with it the highest event id
the database held for that conversation then (``last_id``):

- ``retrieve`` asks the database one indexed question, the conversation's highest
  event id now. The same as ``last_id``: nothing was written since, and the caller gets
  a copy of the kept tracker (``compat.clone_tracker``: no query of the events, no
  JSON, no replay). Otherwise (another Rasa instance, or anything else, wrote to the
  conversation) the tracker is read as Rasa reads it, and kept.
- ``save`` of a tracker that continues the kept one (its first events are the kept
  tracker's, the same objects) writes only the events after them, once the highest
  event id is still ``last_id`` (the same question, in the same transaction as the
  insert). A conversation with no stored event has every event new. Any other tracker
  is saved by Rasa's own ``save`` and the conversation is forgotten.
- A save that starts a new session (``SessionStarted``) keeps the tracker as Rasa's
  read would return it: the latest session only, replayed once.

The cache therefore never trusts what it kept over the database, whoever writes to it:
this Rasa process (the turns, and the web service's take-overs and notices, which go
through Rasa's HTTP API and so through this store), another instance of the scaled
stack (docs/scaling.md) or a tool. Each caller gets its own copy, so a turn that fails
before saving, or a reader outside the conversation's lock (the turn guard), changes
nothing kept. Memory is bounded: at most ``size`` conversations (the least recently
used forgotten first), each forgotten after ``idle_seconds`` unused. With an event
broker configured Rasa's save reads the stored tracker to stream the difference: the
cache then stays out of the way (``install`` does not install it).

``install`` puts it between Rasa's ``FailSafeTrackerStore`` and the ``SQLTrackerStore``
it wraps (``bot.settings.tracker_cache_size``: 0, or ``AFTERSALES_SPEEDUPS=0``, leaves
Rasa as it is).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional

from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, insert, select

from rasa_adapter.compat import clone_tracker

logger = logging.getLogger(__name__)

EVENTS = SQLTrackerStore.SQLEvent.__table__
# a conversation's highest event id (the index on sender_id answers it); built once, so
# SQLAlchemy compiles it once
LAST_ID = select(func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == bindparam("sender_id"))
INSERT = insert(EVENTS)


def event_row(sender_id: str, event: Event) -> Dict[str, Any]:
    """The ``events`` row of ``event``, as ``SQLTrackerStore.save`` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    last_id: Optional[int]  # the conversation's highest event id in the database
    used: float


class TrackerCache(TrackerStore):
    """``store`` with each conversation's tracker kept between turns (module docstring)."""

    def __init__(self, store: SQLTrackerStore, size: int, idle_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._tracker_store = store  # the name Rasa's wrappers use (compat.tracker_store_engine)
        super().__init__(store.domain, store.event_broker)
        self.size = size
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.kept: OrderedDict[str, _Kept] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def domain(self) -> Domain:
        return self._tracker_store.domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        # a new model: its slots may differ from the kept trackers'
        self._tracker_store.domain = domain
        if hasattr(self, "kept"):
            self.kept.clear()

    # -- the database ---------------------------------------------------------------

    def _last_id(self, connection: Any, sender_id: str) -> Optional[int]:
        return connection.execute(LAST_ID, {"sender_id": sender_id}).scalar()

    # -- what is kept ---------------------------------------------------------------

    def _keep(self, sender_id: str, tracker: DialogueStateTracker, last_id: Optional[int]) -> None:
        now = self.clock()
        self.kept[sender_id] = _Kept(clone_tracker(tracker), last_id, now)
        self.kept.move_to_end(sender_id)
        while len(self.kept) > self.size:
            self.kept.popitem(last=False)
        while self.kept:
            oldest = next(iter(self.kept.values()))
            if now - oldest.used <= self.idle_seconds:
                break
            self.kept.popitem(last=False)

    def _kept(self, sender_id: str) -> Optional[_Kept]:
        kept = self.kept.get(sender_id)
        if kept is not None and self.clock() - kept.used > self.idle_seconds:
            del self.kept[sender_id]
            return None
        return kept

    def forget(self, sender_id: str) -> None:
        self.kept.pop(sender_id, None)

    # -- the tracker store ----------------------------------------------------------

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        store = self._tracker_store
        with store.engine.connect() as connection:
            last_id = self._last_id(connection, sender_id)
        if last_id is None:  # no event stored: Rasa's read finds none
            self.forget(sender_id)
            return None
        kept = self._kept(sender_id)
        if kept is not None and kept.last_id == last_id:
            self.hits += 1
            kept.used = self.clock()
            self.kept.move_to_end(sender_id)
            tracker = clone_tracker(kept.tracker)
            tracker.model_id = tracker.assistant_id = None  # as read: the processor sets them
            return tracker
        self.misses += 1
        # read after the id: events written meanwhile make the next check miss, never hit
        tracker = await store.retrieve(sender_id)
        if tracker is None:
            self.forget(sender_id)
        else:
            self._keep(sender_id, tracker, last_id)
        return tracker

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        return await self._tracker_store.retrieve_full_tracker(conversation_id)

    async def keys(self) -> Iterable[str]:
        return await self._tracker_store.keys()

    def _new_events(self, sender_id: str, tracker: DialogueStateTracker) -> Optional[List[Event]]:
        """The events of ``tracker`` after the kept ones, or None when nothing is kept
        or ``tracker`` does not continue the kept tracker (``save`` then checks whether
        anything is stored at all)."""
        kept = self._kept(sender_id)
        if kept is None:
            return None
        stored = kept.tracker.events
        count = len(stored)
        events = tracker.events
        if len(events) < count or (count and (events[0] is not stored[0] or events[count - 1] is not stored[-1])):
            return None
        return list(itertools.islice(events, count, None))

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        store = self._tracker_store
        new = self._new_events(sender_id, tracker)
        expected = self.kept[sender_id].last_id if new is not None else None
        try:
            with store.engine.begin() as connection:
                last_id = self._last_id(connection, sender_id)
                if new is None and last_id is None:
                    new, expected = list(tracker.events), None  # nothing stored yet: all new
                if new is None or last_id != expected:
                    new = None
                else:
                    if new:
                        connection.execute(INSERT, [event_row(sender_id, event) for event in new])
                        last_id = self._last_id(connection, sender_id)
        except Exception:
            self.forget(sender_id)
            raise
        if new is None:
            self.forget(sender_id)
            await store.save(tracker)  # Rasa's own: counts the stored events of the session
        elif any(isinstance(event, SessionStarted) for event in new):
            self._keep(sender_id, self._latest_session(tracker), last_id)
        else:
            self._keep(sender_id, tracker, last_id)

    def _latest_session(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker as Rasa reads it after a new session started: the events from the
        latest ``SessionStarted``'s timestamp on (``SQLTrackerStore._event_query``),
        replayed (once per session)."""
        start = max(event.timestamp for event in tracker.events if isinstance(event, SessionStarted))
        return DialogueStateTracker.from_events(
            tracker.sender_id, [event for event in tracker.events if event.timestamp >= start], self.domain.slots)


def install(tracker_store: Any, size: int, idle_seconds: float) -> Optional[TrackerCache]:
    """Put a ``TrackerCache`` in front of the ``SQLTrackerStore`` that Rasa's wrappers
    (``tracker_store``: the agent's) keep in ``_tracker_store``; None when there is
    none, ``size`` is 0 or an event broker is configured."""
    if size <= 0:
        return None
    wrapper = tracker_store
    while wrapper is not None:
        inner = getattr(wrapper, "_tracker_store", None)
        if isinstance(inner, TrackerCache):
            return inner
        if isinstance(inner, SQLTrackerStore):
            if inner.event_broker is not None:
                logger.info("an event broker is configured: no tracker cache")
                return None
            cache = TrackerCache(inner, size, idle_seconds)
            wrapper._tracker_store = cache
            logger.info("tracker cache: %d conversations, %.0f s idle", size, idle_seconds)
            return cache
        wrapper = inner
    return None
