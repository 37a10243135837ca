"""Per Rasa server, what the turn guards share: settings, journal, replay worker, late outputs.

One ``FaultRuntime`` per Sanic app (``runtime_of``), started with the server by
the first channel that ``attach``-es its guard and stopped with it. It puts the
tracker cache in front of the tracker store (``rasa_adapter.tracker_cache``), reads
its ``FaultSettings`` from the environment, opens the pending-turn journal in the
tracker store's database, watches Rasa's log for failed custom actions, runs the
``ReplayWorker`` and renders the guard's own replies through the agent's NLG; it
also reads which buttons a conversation's last reply offered (``channels.buttons``)
and tells the notices of a conversation's cases still pending (``channels.notices``,
in the shop database of ``bot.settings.database_url``).
Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, Sanic
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot import settings as settings_module
from bot.shop.store import OrderStore, pooled, write_ahead
from channels.buttons import OPTIONS_AS_TEXT, offered_buttons
from channels.guard import CountingOutput, Handler, LateOutput, TurnGuard
from channels.journal import MAX_ATTEMPTS, RETRY_SECONDS, PendingTurnJournal
from channels.notices import PendingNotices
from channels.replay import ReplayWorker
from rasa_adapter import tracker_cache
from rasa_adapter.compat import ActionFailureHandler, close_shared_sessions, tracker_store_engine

logger = logging.getLogger(__name__)


# Admission control's default limit: the in-flight turns one Rasa server takes before a
# new conversation is asked to come back (MAX_CONCURRENT_TURNS; docs/performance.md has
# the measurement it comes from).
MAX_CONCURRENT_TURNS = 150


@dataclass(frozen=True)
class FaultSettings:
    """From the environment (see docs/faults.md)."""

    turn_deadline: float = 8.0  # TURN_DEADLINE_SECONDS (socket.io: then "still working")
    journal_url: Optional[str] = None  # PENDING_TURNS_URL; default: the tracker store's database
    max_attempts: int = MAX_ATTEMPTS  # PENDING_TURNS_MAX_ATTEMPTS
    retry_seconds: float = RETRY_SECONDS  # PENDING_TURNS_RETRY_SECONDS (doubles)
    poll_seconds: float = 2.0  # PENDING_TURNS_POLL_SECONDS
    rest_deadline: float = 25.0  # REST_DEADLINE_SECONDS (REST: then "ask again in N minutes")
    max_concurrent_turns: int = MAX_CONCURRENT_TURNS  # MAX_CONCURRENT_TURNS; 0: no limit

    @classmethod
    def from_env(cls) -> FaultSettings:
        env = os.environ
        return cls(
            turn_deadline=float(env.get("TURN_DEADLINE_SECONDS", cls.turn_deadline)),
            journal_url=env.get("PENDING_TURNS_URL") or None,
            max_attempts=int(env.get("PENDING_TURNS_MAX_ATTEMPTS", cls.max_attempts)),
            retry_seconds=float(env.get("PENDING_TURNS_RETRY_SECONDS", cls.retry_seconds)),
            poll_seconds=float(env.get("PENDING_TURNS_POLL_SECONDS", cls.poll_seconds)),
            rest_deadline=float(env.get("REST_DEADLINE_SECONDS", cls.rest_deadline)),
            max_concurrent_turns=int(env.get("MAX_CONCURRENT_TURNS", cls.max_concurrent_turns)),
        )


class Admission:
    """Admission control: how many turns are in flight on this server, and whether a
    conversation is under way.

    Below ``limit`` every turn is taken. At or past it, a turn of a conversation under
    way (seen by this server within ``memory`` seconds, or with a tracker in the store)
    is still taken, and a new conversation is turned away with a wait estimated from
    the measured turn time: ``wait_seconds``.
    """

    def __init__(self, limit: int, memory: float = 3600.0, remember: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.memory = memory
        self.remember = remember
        self.clock = clock
        self.in_flight = 0
        self.turn_seconds = 2.0  # moving average of a turn's time, measured as they finish
        self.known: OrderedDict[str, float] = OrderedDict()  # sender → when last admitted
        self.turned_away: Deque[float] = deque()  # when, over the last minute

    def full(self) -> bool:
        return self.limit > 0 and self.in_flight >= self.limit

    def under_way(self, sender_id: str) -> bool:
        seen = self.known.get(sender_id)
        return seen is not None and self.clock() - seen < self.memory

    def admit(self, sender_id: str) -> None:
        self.known[sender_id] = self.clock()
        self.known.move_to_end(sender_id)
        while len(self.known) > self.remember:
            self.known.popitem(last=False)

    def turn_away(self) -> None:
        now = self.clock()
        self.turned_away.append(now)
        while self.turned_away and self.turned_away[0] < now - 60:
            self.turned_away.popleft()

    def started(self) -> float:
        self.in_flight += 1
        return self.clock()

    def finished(self, started: float) -> None:
        self.in_flight -= 1
        self.turn_seconds = 0.9 * self.turn_seconds + 0.1 * max(0.0, self.clock() - started)

    def wait_seconds(self) -> float:
        """When a customer turned away now may expect to be served: the turns in flight
        and those turned away in the last minute (who will come back), at the measured
        rate of ``limit`` turns per turn time."""
        backlog = self.in_flight + len(self.turned_away)
        return backlog * self.turn_seconds / max(self.limit, 1)

    def wait_minutes(self) -> int:
        """``wait_seconds`` in whole minutes, as the customer is told: at least 1, at most 30."""
        return max(1, min(30, math.ceil(self.wait_seconds() / 60)))


def journal_engine(agent: Any, settings: FaultSettings) -> Engine:
    """The tracker store's database (shared by all instances), unless configured.
    An SQLite one is made owner-only (0600): Rasa creates the tracker store's file
    with the process's umask; its connections are pooled and write ahead
    (``bot.shop.store.pooled``, ``write_ahead``)."""
    if settings.journal_url:
        settings_module.private_sqlite(settings.journal_url)
        return create_engine(settings.journal_url, future=True)
    engine = tracker_store_engine(getattr(agent, "tracker_store", None))
    if engine is not None:
        if engine.url.get_backend_name() == "sqlite" and engine.url.database:
            settings_module.private_sqlite(f"sqlite:///{engine.url.database}")
            pooled(engine)  # Rasa's own engine opens a connection per session,
            write_ahead(engine)  # and syncs the file at every commit of every turn
        return engine
    fallback = settings_module.var_dir() / "pending_turns.db"
    logger.warning("no SQL tracker store: the pending-turn journal is %s", fallback)
    settings_module.private_sqlite(f"sqlite:///{fallback}")
    return create_engine(f"sqlite:///{fallback}", future=True)


async def render(agent: Any, response: str, sender_id: str, channel: str,
                 **facts: Any) -> Optional[Dict[str, Any]]:
    """A domain response as a bot message, through the agent's NLG (``facts`` fill its
    {variables})."""
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender_id, agent.domain.slots if agent.domain else [])
    draft = await agent.nlg.generate(response, tracker, channel, **facts)
    if draft:
        draft["utter_action"] = response
    return draft


class FaultRuntime:
    """Per server: the journal, the replay worker and the channels' late outputs."""

    def __init__(self, app: Sanic, settings: FaultSettings, shop_database_url: Optional[str] = None) -> None:
        self.app = app
        self.settings = settings
        self.shop_database_url = shop_database_url  # the case notices' (None: none told)
        self.journal: Optional[PendingTurnJournal] = None
        self.late_outputs: Dict[str, LateOutput] = {}  # channel name → its late output
        self.background: Set[asyncio.Task] = set()
        self.worker_task: Optional[asyncio.Task] = None
        self.failure_handler = ActionFailureHandler()
        self.admission = Admission(settings.max_concurrent_turns)
        self.notices: Optional[PendingNotices] = None

    @property
    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None)

    async def start(self) -> None:
        if self.agent is not None:  # conversations kept between turns (rasa_adapter/tracker_cache.py)
            tracker_cache.install(self.agent.tracker_store, settings_module.tracker_cache_size(),
                                  settings_module.tracker_cache_idle_seconds())
        engine = journal_engine(self.agent, self.settings)
        self.journal = PendingTurnJournal(
            engine, max_attempts=self.settings.max_attempts, retry_seconds=self.settings.retry_seconds)
        await asyncio.to_thread(self.journal.create_schema)
        self.failure_handler.install()
        if self.shop_database_url:
            self.notices = PendingNotices(OrderStore.from_url(self.shop_database_url), settings_module.utcnow)
        worker = ReplayWorker(self, f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
        self.worker_task = asyncio.ensure_future(worker.run())

    async def stop(self) -> None:
        self.failure_handler.remove()
        for task in [self.worker_task, *self.background]:
            if task is not None:
                task.cancel()

    def keep(self, task: asyncio.Task) -> None:
        """Let a turn finish in the background (cancelled when the server stops)."""
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def admit(self, sender_id: str) -> bool:
        """Whether this turn is taken now (admission control, ``Admission``)."""
        admission = self.admission
        if not admission.full() or admission.under_way(sender_id) or await self.has_tracker(sender_id):
            admission.admit(sender_id)
            return True
        admission.turn_away()
        logger.warning("%d turns in flight (limit %d): new conversation %s asked to come back in %d min",
                       admission.in_flight, admission.limit, sender_id, admission.wait_minutes())
        return False

    async def has_tracker(self, sender_id: str) -> bool:
        """Whether the conversation has events in the tracker store (a conversation this
        server has not seen, under way on another instance or before a restart)."""
        tracker = await self._stored_tracker(sender_id)
        return tracker is not None and any(True for _ in tracker.events)

    async def _stored_tracker(self, sender_id: str) -> Any:
        """The conversation's tracker from the tracker store; None if unknown or unreadable."""
        agent = self.agent
        if agent is None:
            return None
        try:
            return await agent.tracker_store.retrieve(sender_id)
        except Exception:
            logger.exception("could not read the tracker of %s", sender_id)
            return None

    async def offered_buttons(self, sender_id: str) -> List[Dict[str, Any]]:
        """The buttons of the conversation's last reply, if the customer has not
        written since (``channels.buttons.offered_buttons``); none if unreadable."""
        tracker = await self._stored_tracker(sender_id)
        if tracker is None:
            return []
        return offered_buttons(event.as_dict() for event in reversed(tracker.events))

    async def options_text(self, sender_id: str, listing: str, channel: str) -> Optional[str]:
        """The numbered options of a reply as the text-only channels show them
        (``OPTIONS_AS_TEXT``); ``None`` if it cannot be rendered."""
        agent = self.agent
        if agent is None:
            return None
        try:
            draft = await render(agent, OPTIONS_AS_TEXT, sender_id, channel, options=listing)
        except Exception:
            logger.exception("could not render the options for %s", sender_id)
            return None
        return str(draft["text"]) if draft and draft.get("text") else None

    async def say(self, response: str, sender_id: str, output: OutputChannel, **facts: Any) -> None:
        """Send a domain response (the guard's own replies); errors are logged."""
        agent = self.agent
        if agent is None:
            return
        try:
            draft = await render(agent, response, sender_id, output.name(), **facts)
            if draft:
                await output.send_response(sender_id, draft)
        except Exception:
            logger.exception("could not send %s to %s", response, sender_id)

    async def tell_notices(self, message: UserMessage, handler: Handler, output: CountingOutput) -> None:
        """Say the conversation's pending case notices ahead of its turn (``PendingNotices``)."""
        if self.notices is not None:
            await self.notices.tell(message, handler, lambda: len(output.sent), self.is_paused)

    async def record(self, message: UserMessage, reason: str) -> None:
        """Journal a turn for replay; errors are logged."""
        if self.journal is None:
            logger.error("turn %s of %s lost: no journal yet", message.message_id, message.sender_id)
            return
        try:
            await asyncio.to_thread(
                self.journal.record, message_id=message.message_id, sender_id=message.sender_id,
                input_channel=message.input_channel or "rest", text=message.text or "",
                metadata=message.metadata, reason=reason)
            logger.warning("journaled turn %s of %s (%s) for replay",
                           message.message_id, message.sender_id, reason)
        except Exception:
            logger.exception("could not journal turn %s of %s", message.message_id, message.sender_id)

    async def is_paused(self, sender_id: str) -> bool:
        """Whether a human agent took the conversation over (False if unknown)."""
        tracker = await self._stored_tracker(sender_id)
        return bool(tracker is not None and tracker.is_paused())


def runtime_of(app: Sanic) -> FaultRuntime:
    """The app's runtime, made on first use (not started)."""
    runtime = getattr(app.ctx, "fault_runtime", None)
    if runtime is None:
        runtime = FaultRuntime(app, FaultSettings.from_env(), settings_module.database_url())
        app.ctx.fault_runtime = runtime
    return runtime


def attach(guard: TurnGuard, blueprint: Blueprint) -> None:
    """With the server: start its runtime (once per server) and hand it to the guard."""

    async def start(app: Sanic, _loop: Any) -> None:
        runtime = runtime_of(app)
        runtime.late_outputs[guard.channel] = guard.late_output
        guard.runtime = runtime
        if runtime.journal is None and not getattr(app.ctx, "fault_runtime_starting", False):
            app.ctx.fault_runtime_starting = True
            await runtime.start()

    async def stop(app: Sanic, _loop: Any) -> None:
        if guard.runtime is not None:
            await guard.runtime.stop()

    blueprint.listener("after_server_start")(start)
    blueprint.listener("before_server_stop")(stop)
    blueprint.listener("after_server_stop")(close_shared_sessions)  # the kept-alive sessions
