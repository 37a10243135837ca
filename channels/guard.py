"""Guards every customer turn of our channels: no silence, no lost case, no injected intent.

``TurnGuard.wrap`` sits between a channel and Rasa's ``agent.handle_message``:

- ``/intent{"entity": ...}`` typed by a customer is taken as text, never as an intent;
- a turn that takes longer than the deadline gets a polite "still working" reply and
  finishes in the background (socket.io delivers the late answer to the session's room);
- a turn that produced no bot message (Rasa 3.6 swallows a failing custom action and
  the customer would see nothing) gets a polite fallback, unless the conversation is
  paused on purpose (a human took over); the turn is journaled, as is a turn an
  action answered with "the database is unavailable";
- ``ReplayWorker`` replays journaled turns once the action server is healthy again.

Every reply text is a domain response (``domain/faults.yml``), rendered through the
agent's NLG. Nothing here runs at import time; the worker starts with the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import unicodedata
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import UserUtteranceReverted, UserUttered
from sanic import Blueprint, Sanic
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot.playbook import faults
from channels.journal import DONE, SUPERSEDED, PendingTurn, PendingTurnJournal

logger = logging.getLogger(__name__)

FALLBACK = faults.FALLBACK
STILL_WORKING = faults.STILL_WORKING
FAILURE_RESPONSES = faults.JOURNALED

# Rasa 3.6 logs a failing custom action and goes on without its events; this is
# how a turn learns that one of its actions failed (even after other replies).
ACTION_FAILED_LOG = "Encountered an exception while running action"
_turn_failures: ContextVar[Optional[List[str]]] = ContextVar("turn_failures", default=None)


class ActionFailureHandler(logging.Handler):
    """Notes, for the turn running in this context, that a custom action failed."""

    def emit(self, record: logging.LogRecord) -> None:
        failures = _turn_failures.get()
        if failures is not None and str(record.msg).startswith(ACTION_FAILED_LOG):
            failures.append(str(record.msg))

Handler = Callable[[UserMessage], Awaitable[Any]]
LateOutput = Callable[[], Optional[OutputChannel]]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FaultSettings:
    """From the environment (see the README's "Faults" section)."""

    turn_deadline: float = 8.0  # TURN_DEADLINE_SECONDS
    journal_url: Optional[str] = None  # PENDING_TURNS_URL; default: the tracker store's database
    max_attempts: int = 8  # PENDING_TURNS_MAX_ATTEMPTS
    retry_seconds: float = 5.0  # PENDING_TURNS_RETRY_SECONDS (doubles after each attempt)
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


def neutralise_command(text: Optional[str]) -> Optional[str]:
    """Drop a leading ``/`` so Rasa parses the message with NLU, never as ``/intent{...}``.

    Rasa treats a message whose stripped text starts with ``/`` as a hard-coded
    intent with entities. Leading blanks, invisible characters and slash look-alikes
    (full-width ``／``) go with it, since the NLU normaliser would turn them into ``/``.
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


class CountingOutput(OutputChannel):
    """Passes every bot message on to the channel's own output, keeping a copy."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent: List[Dict[str, Any]] = []

    def name(self) -> str:
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent.append(dict(message))
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def needs_replay(sent: List[Dict[str, Any]], action_failed: bool = False) -> Optional[str]:
    """Why a turn with these bot messages must be replayed, or ``None``.

    A turn that already told the customer the database is unavailable needs no
    fallback on top (reason ``database``); any other failed action means the
    answer is missing or partial.
    """
    if any(m.get("utter_action") in FAILURE_RESPONSES for m in sent):
        return "database"
    if action_failed:
        return "action_failed"
    if not sent:
        return "unanswered"
    return None


def journal_engine(agent: Any, settings: FaultSettings) -> Engine:
    """The tracker store's database (shared by all instances), unless configured."""
    if settings.journal_url:
        return create_engine(settings.journal_url, future=True)
    store = getattr(agent, "tracker_store", None)
    while store is not None and getattr(store, "engine", None) is None:
        store = getattr(store, "_tracker_store", None)
    if store is not None:
        return store.engine
    fallback = PROJECT_ROOT / "var" / "pending_turns.db"
    fallback.parent.mkdir(parents=True, exist_ok=True)
    logger.warning("no SQL tracker store: the pending-turn journal is %s", fallback)
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
        self.late_outputs: Dict[str, LateOutput] = {}
        self.background: Set[asyncio.Task] = set()
        self.worker_task: Optional[asyncio.Task] = None
        self.failure_handler = ActionFailureHandler(logging.ERROR)

    @property
    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None)

    async def start(self) -> None:
        engine = journal_engine(self.agent, self.settings)
        self.journal = PendingTurnJournal(
            engine, max_attempts=self.settings.max_attempts, retry_seconds=self.settings.retry_seconds)
        await asyncio.to_thread(self.journal.create_schema)
        logging.getLogger("rasa.core.processor").addHandler(self.failure_handler)
        worker = ReplayWorker(self, f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
        self.worker_task = asyncio.ensure_future(worker.run())

    async def stop(self) -> None:
        logging.getLogger("rasa.core.processor").removeHandler(self.failure_handler)
        for task in [self.worker_task, *self.background]:
            if task is not None:
                task.cancel()

    def keep(self, task: asyncio.Task) -> None:
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def say(self, response: str, sender_id: str, output: OutputChannel) -> None:
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
    runtime = getattr(app.ctx, "fault_runtime", None)
    if runtime is None:
        runtime = FaultRuntime(app, FaultSettings.from_env())
        app.ctx.fault_runtime = runtime
    return runtime


class TurnGuard:
    """One per channel; wraps the channel's ``on_new_message``."""

    def __init__(self, channel: str, late_output: LateOutput) -> None:
        self.channel = channel
        self.late_output = late_output
        self.runtime: Optional[FaultRuntime] = None

    def attach(self, blueprint: Blueprint) -> None:
        """Start (once per server) the journal and replay worker with the server."""

        async def start(app: Sanic, _loop: Any) -> None:
            runtime = runtime_of(app)
            runtime.late_outputs[self.channel] = self.late_output
            self.runtime = runtime
            if runtime.journal is None and not getattr(app.ctx, "fault_runtime_starting", False):
                app.ctx.fault_runtime_starting = True
                await runtime.start()

        async def stop(app: Sanic, _loop: Any) -> None:
            if self.runtime is not None:
                await self.runtime.stop()

        blueprint.listener("after_server_start")(start)
        blueprint.listener("before_server_stop")(stop)

    def wrap(self, on_new_message: Handler) -> Handler:
        async def guarded(message: UserMessage) -> None:
            runtime = self.runtime
            message.text = neutralise_command(message.text)
            if runtime is None:  # not started yet: Rasa as it is
                await on_new_message(message)
                return
            output = CountingOutput(message.output_channel)
            message.output_channel = output
            turn = asyncio.ensure_future(self._turn(runtime, on_new_message, message, output))
            done, _ = await asyncio.wait({turn}, timeout=runtime.settings.turn_deadline)
            if turn not in done:
                logger.warning("turn %s of %s is slower than %.1f s: it finishes in the background",
                               message.message_id, message.sender_id, runtime.settings.turn_deadline)
                runtime.keep(turn)
                await runtime.say(STILL_WORKING, message.sender_id, output.inner)

        return guarded

    async def _turn(self, runtime: FaultRuntime, on_new_message: Handler, message: UserMessage,
                    output: CountingOutput) -> None:
        failed = False
        failures: List[str] = []
        _turn_failures.set(failures)
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("turn %s of %s failed", message.message_id, message.sender_id)
            failed = True
        reason = needs_replay(output.sent, action_failed=failed or bool(failures))
        if reason is None:
            return
        if reason == "unanswered" and await runtime.is_paused(message.sender_id):
            return  # a human agent took over: silence on purpose
        if reason != "database":  # an action failed: the answer is missing or partial
            await runtime.say(FALLBACK, message.sender_id, output.inner)
        await runtime.record(message, reason)


@dataclass
class ReplayPlan:
    reverts: int = 0  # how many UserUtteranceReverted to append
    replay: List[Any] = field(default_factory=list)  # PendingTurn or UserUttered, in order
    superseded: List[PendingTurn] = field(default_factory=list)


def plan_replay(tracker: Any, turns: List[PendingTurn]) -> ReplayPlan:
    """How to replay ``turns`` (claimed, oldest first) without leaving a half turn.

    Journaled turns that are the conversation's latest user turns are undone and
    handled again. ``UserUtteranceReverted`` undoes the latest user turn *Rasa
    applies*; a user turn answered by a form's happy path is folded away in
    ``applied_events()``, so the undo reaches back to the latest applied user turn
    at or before the first failed one, and every user turn from there on is
    handled again, in order (re-running an answered turn is harmless: the case
    log updates the open case). Journaled turns the customer has moved past are
    superseded; a journaled turn not in the tracker at all is handled as new.
    """
    from rasa.shared.core.events import Restarted

    raw: List[UserUttered] = []  # the user turns in effect, as they were sent
    seen: Set[str] = set()
    for event in tracker.events:
        if isinstance(event, UserUttered):
            raw.append(event)
            seen.add(event.message_id)
        elif isinstance(event, Restarted):
            raw = []
    applied = [e.message_id for e in tracker.applied_events() if isinstance(e, UserUttered)]
    # after a revert the raw list still holds the undone turns: keep only the last
    # occurrence of each message id, in the order of their last occurrence
    last: Dict[str, UserUttered] = {e.message_id: e for e in raw}
    order = [m for i, m in enumerate(e.message_id for e in raw)
             if m not in [x.message_id for x in raw[i + 1:]]]
    in_effect = [last[m] for m in order if m in applied or _folded(m, applied, order)]
    journaled = {t.message_id: t for t in turns}
    tail = 0
    for event in reversed(in_effect):
        if event.message_id not in journaled:
            break
        tail += 1
    plan = ReplayPlan()
    if tail:
        first_failed = len(in_effect) - tail
        start = first_failed
        while start > 0 and in_effect[start].message_id not in applied:
            start -= 1
        start_id = in_effect[start].message_id
        plan.reverts = len(applied) - applied.index(start_id) if start_id in applied else 0
        plan.replay = [journaled.get(e.message_id, e) for e in in_effect[start:]]
    replayed = {t.message_id for t in plan.replay if isinstance(t, PendingTurn)}
    for turn in turns:
        if turn.message_id in replayed:
            continue
        if turn.message_id in seen:
            plan.superseded.append(turn)
        else:
            plan.replay.append(turn)
    return plan


def _folded(message_id: str, applied: List[str], order: List[str]) -> bool:
    """A raw user turn after the latest applied one's predecessor that Rasa folded
    away (a form's happy path): in effect unless a later revert removed it."""
    if not applied:
        return False
    position = order.index(message_id)
    first_applied = min(order.index(m) for m in applied if m in order)
    return position > first_applied


class ReplayWorker:
    """Replays journaled turns when the action server is healthy again.

    For each conversation: the journaled turns that are still the latest user turns
    are undone (``UserUtteranceReverted``) and handled again, in order, under the
    conversation's lock, so the tracker never keeps a half turn; a turn the
    customer has since moved past is marked superseded. A turn that fails again is
    retried with back-off, at most ``max_attempts`` times.
    """

    def __init__(self, runtime: FaultRuntime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("pending-turn replay failed; trying again")
            await asyncio.sleep(self.runtime.settings.poll_seconds)

    async def tick(self) -> int:
        journal, agent = self.runtime.journal, self.runtime.agent
        if journal is None or agent is None or not agent.is_ready():
            return 0
        senders = await asyncio.to_thread(journal.due_senders)
        if not senders or not await self.action_server_healthy(agent):
            return 0
        replayed = 0
        for sender_id in senders:
            replayed += await self.replay_conversation(agent, journal, sender_id)
        return replayed

    @staticmethod
    async def action_server_healthy(agent: Any) -> bool:
        endpoint = getattr(agent, "action_endpoint", None)
        if endpoint is None or not endpoint.url:
            return True
        base = endpoint.url.rstrip("/")
        url = (base[: -len("/webhook")] if base.endswith("/webhook") else base) + "/health"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
                async with session.get(url) as response:
                    return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def replay_conversation(self, agent: Any, journal: PendingTurnJournal, sender_id: str) -> int:
        turns = await asyncio.to_thread(journal.claim, sender_id, self.worker_id)
        if not turns:
            return 0
        replayed = 0
        remaining = list(turns)
        try:
            async with agent.lock_store.lock(sender_id):
                processor = agent.processor
                tracker = await processor.get_tracker(sender_id)
                plan = plan_replay(tracker, turns)
                for turn in plan.superseded:
                    logger.warning("turn %s of %s superseded: the customer went on",
                                   turn.message_id, sender_id)
                    await asyncio.to_thread(journal.finish, turn.id, SUPERSEDED,
                                            "the customer went on before it could be replayed")
                    remaining.remove(turn)
                if not plan.replay:
                    return 0
                if plan.reverts:
                    for _ in range(plan.reverts):
                        tracker.update(UserUtteranceReverted())
                    await processor.save_tracker(tracker)
                for item in plan.replay:
                    if isinstance(item, PendingTurn):
                        ok = await self.replay_turn(processor, journal, item)
                        remaining.remove(item)
                        if not ok:
                            break
                        replayed += 1
                    else:  # an answered turn undone with the failed ones: handled again
                        await processor.handle_message(UserMessage(
                            item.text, CollectingOutputChannel(), sender_id,
                            input_channel=item.input_channel, metadata=item.metadata,
                            message_id=item.message_id))
        finally:
            for turn in remaining:  # not tried this time: back to the queue untouched
                await asyncio.to_thread(journal.release, turn.id)
        return replayed

    async def replay_turn(self, processor: Any, journal: PendingTurnJournal, turn: PendingTurn) -> bool:
        output = CountingOutput(CollectingOutputChannel())
        message = UserMessage(turn.text, output, turn.sender_id, input_channel=turn.input_channel,
                              metadata=turn.metadata, message_id=turn.message_id)
        error = None
        failures: List[str] = []
        _turn_failures.set(failures)
        try:
            await processor.handle_message(message)
        except Exception as e:
            logger.exception("replaying turn %s of %s failed", turn.message_id, turn.sender_id)
            error = repr(e)
        finally:
            _turn_failures.set(None)
        reason = error or needs_replay(output.sent, action_failed=bool(failures))
        if reason == "unanswered":
            tracker = await processor.get_tracker(turn.sender_id)
            reason = None if tracker.is_paused() else reason
        if reason is not None:
            status = await asyncio.to_thread(journal.retry_later, turn.id, reason)
            logger.warning("turn %s of %s not answered on replay (%s): %s",
                           turn.message_id, turn.sender_id, reason, status)
            return False
        await asyncio.to_thread(journal.finish, turn.id, DONE)
        logger.info("replayed turn %s of %s", turn.message_id, turn.sender_id)
        await self.deliver(turn, output.sent)
        return True

    async def deliver(self, turn: PendingTurn, sent: List[Dict[str, Any]]) -> None:
        """The late answer, to the session's room on socket.io (REST keeps it in the tracker)."""
        factory = self.runtime.late_outputs.get(turn.input_channel)
        late = factory() if factory else None
        if late is None:
            return
        try:
            for message in sent:
                await late.send_response(turn.sender_id, message)
        except Exception:
            logger.exception("could not deliver the late answer to %s", turn.sender_id)
