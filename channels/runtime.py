"""Per Rasa server, what the turn guards share: settings, journal, replay worker, late outputs.

One ``FaultRuntime`` per Sanic app (``runtime_of``), started with the server by
the first channel that ``attach``-es its guard and stopped with it. It reads its
``FaultSettings`` from the environment, opens the pending-turn journal in the
tracker store's database, watches Rasa's log for failed custom actions, runs the
``ReplayWorker`` and renders the guard's own replies through the agent's NLG.
Nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Optional, Set

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, Sanic
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot import settings as settings_module
from channels.guard import LateOutput, TurnGuard
from channels.journal import MAX_ATTEMPTS, RETRY_SECONDS, PendingTurnJournal
from channels.replay import ReplayWorker
from rasa_adapter.compat import ActionFailureHandler, tracker_store_engine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultSettings:
    """From the environment (see docs/faults.md)."""

    turn_deadline: float = 8.0  # TURN_DEADLINE_SECONDS
    journal_url: Optional[str] = None  # PENDING_TURNS_URL; default: the tracker store's database
    max_attempts: int = MAX_ATTEMPTS  # PENDING_TURNS_MAX_ATTEMPTS
    retry_seconds: float = RETRY_SECONDS  # PENDING_TURNS_RETRY_SECONDS (doubles)
    poll_seconds: float = 2.0  # PENDING_TURNS_POLL_SECONDS

    @classmethod
    def from_env(cls) -> FaultSettings:
        env = os.environ
        return cls(
            turn_deadline=float(env.get("TURN_DEADLINE_SECONDS", cls.turn_deadline)),
            journal_url=env.get("PENDING_TURNS_URL") or None,
            max_attempts=int(env.get("PENDING_TURNS_MAX_ATTEMPTS", cls.max_attempts)),
            retry_seconds=float(env.get("PENDING_TURNS_RETRY_SECONDS", cls.retry_seconds)),
            poll_seconds=float(env.get("PENDING_TURNS_POLL_SECONDS", cls.poll_seconds)),
        )


def journal_engine(agent: Any, settings: FaultSettings) -> Engine:
    """The tracker store's database (shared by all instances), unless configured.
    An SQLite one is made owner-only (0600): Rasa creates the tracker store's file
    with the process's umask."""
    if settings.journal_url:
        settings_module.private_sqlite(settings.journal_url)
        return create_engine(settings.journal_url, future=True)
    engine = tracker_store_engine(getattr(agent, "tracker_store", None))
    if engine is not None:
        if engine.url.get_backend_name() == "sqlite" and engine.url.database:
            settings_module.private_sqlite(f"sqlite:///{engine.url.database}")
        return engine
    fallback = settings_module.var_dir() / "pending_turns.db"
    logger.warning("no SQL tracker store: the pending-turn journal is %s", fallback)
    settings_module.private_sqlite(f"sqlite:///{fallback}")
    return create_engine(f"sqlite:///{fallback}", future=True)


async def render(agent: Any, response: str, sender_id: str, channel: str) -> Optional[Dict[str, Any]]:
    """A domain response as a bot message, through the agent's NLG."""
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker(sender_id, agent.domain.slots if agent.domain else [])
    draft = await agent.nlg.generate(response, tracker, channel)
    if draft:
        draft["utter_action"] = response
    return draft


class FaultRuntime:
    """Per server: the journal, the replay worker and the channels' late outputs."""

    def __init__(self, app: Sanic, settings: FaultSettings) -> None:
        self.app = app
        self.settings = settings
        self.journal: Optional[PendingTurnJournal] = None
        self.late_outputs: Dict[str, LateOutput] = {}  # channel name → its late output
        self.background: Set[asyncio.Task] = set()
        self.worker_task: Optional[asyncio.Task] = None
        self.failure_handler = ActionFailureHandler()

    @property
    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None)

    async def start(self) -> None:
        engine = journal_engine(self.agent, self.settings)
        self.journal = PendingTurnJournal(
            engine, max_attempts=self.settings.max_attempts, retry_seconds=self.settings.retry_seconds)
        await asyncio.to_thread(self.journal.create_schema)
        self.failure_handler.install()
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

    async def say(self, response: str, sender_id: str, output: OutputChannel) -> None:
        """Send a domain response (the guard's own replies); errors are logged."""
        agent = self.agent
        if agent is None:
            return
        try:
            draft = await render(agent, response, sender_id, output.name())
            if draft:
                await output.send_response(sender_id, draft)
        except Exception:
            logger.exception("could not send %s to %s", response, sender_id)

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
        agent = self.agent
        if agent is None:
            return False
        try:
            tracker = await agent.tracker_store.retrieve(sender_id)
        except Exception:
            logger.exception("could not read the tracker of %s", sender_id)
            return False
        return bool(tracker is not None and tracker.is_paused())


def runtime_of(app: Sanic) -> FaultRuntime:
    """The app's runtime, made on first use (not started)."""
    runtime = getattr(app.ctx, "fault_runtime", None)
    if runtime is None:
        runtime = FaultRuntime(app, FaultSettings.from_env())
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
