"""Replays journaled turns once the action server is healthy again, leaving no half turn.

``plan_replay`` is a pure function of a conversation's events and its claimed
turns: which user turns to undo (``UserUtteranceReverted``), which to handle
again, in order, and which the customer has moved past (superseded).
``ReplayWorker`` polls the journal, checks the action server's health, and
carries a plan out under the conversation's lock; a late answer goes to the
channel's late output (socket.io: the session's room).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Set, Union

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import Event, Restarted, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.guard import UNANSWERED, CountingOutput, needs_replay
from channels.journal import DONE, SUPERSEDED, PendingTurn, PendingTurnJournal
from rasa_adapter.compat import action_failures, action_server_health_url

if TYPE_CHECKING:
    from channels.runtime import FaultRuntime

logger = logging.getLogger(__name__)


@dataclass
class ReplayPlan:
    reverts: int = 0  # how many UserUtteranceReverted to append first
    # handled again, in order: journaled turns (PendingTurn) and the answered
    # turns (UserUttered) undone with them
    replay: List[Union[PendingTurn, UserUttered]] = field(default_factory=list)
    superseded: List[PendingTurn] = field(default_factory=list)


def plan_replay(tracker: DialogueStateTracker, turns: List[PendingTurn]) -> ReplayPlan:
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
    journaled = {turn.message_id: turn for turn in turns}
    applied = _applied_user_turns(tracker)
    in_effect = _in_effect(_latest_user_turns(tracker.events), applied)
    plan = ReplayPlan()
    first_failed = _start_of_journaled_tail(in_effect, journaled)
    if first_failed is not None:
        start = _latest_applied_at_or_before(in_effect, first_failed, applied)
        plan.reverts = _reverts_to_undo(in_effect[start].message_id, applied)
        plan.replay = [journaled.get(event.message_id, event) for event in in_effect[start:]]
    _add_turns_not_replayed(plan, turns, _all_user_turn_ids(tracker.events))
    return plan


def _latest_user_turns(events: Iterable[Event]) -> List[UserUttered]:
    """The user turns since the last restart, each message id once, at its latest
    occurrence, in the order of those occurrences.

    A turn undone and handled again occurs twice in the events; its latest
    occurrence is the one that counts.
    """
    latest: Dict[Optional[str], UserUttered] = {}
    for event in events:
        if isinstance(event, UserUttered):
            latest.pop(event.message_id, None)  # so it moves to its latest place
            latest[event.message_id] = event
        elif isinstance(event, Restarted):
            latest.clear()
    return list(latest.values())


def _applied_user_turns(tracker: DialogueStateTracker) -> List[Optional[str]]:
    """The message ids of the user turns Rasa applies, in order: reverted turns
    are left out, and so are turns a form's happy path folds away."""
    return [event.message_id for event in tracker.applied_events() if isinstance(event, UserUttered)]


def _in_effect(latest: List[UserUttered], applied: List[Optional[str]]) -> List[UserUttered]:
    """The user turns in effect: the latest ones from the first that Rasa applies on.

    Before it are turns of an earlier session or turns since reverted; after it,
    a turn Rasa does not apply was folded away by a form's happy path and is in
    effect all the same. (Every applied turn is among ``latest``.)
    """
    applied_ids = set(applied)
    for position, event in enumerate(latest):
        if event.message_id in applied_ids:
            return latest[position:]
    return []


def _start_of_journaled_tail(in_effect: List[UserUttered],
                             journaled: Dict[str, PendingTurn]) -> Optional[int]:
    """Where the run of journaled turns at the end of ``in_effect`` starts; ``None``
    when the latest turn in effect is not journaled (the customer went on)."""
    start = len(in_effect)
    while start > 0 and in_effect[start - 1].message_id in journaled:
        start -= 1
    return start if start < len(in_effect) else None


def _latest_applied_at_or_before(in_effect: List[UserUttered], position: int,
                                 applied: List[Optional[str]]) -> int:
    """The position of the latest applied turn at or before ``position``: undoing
    it undoes the folded turns after it too (the first turn in effect is applied)."""
    applied_ids = set(applied)
    while position > 0 and in_effect[position].message_id not in applied_ids:
        position -= 1
    return position


def _reverts_to_undo(message_id: Optional[str], applied: List[Optional[str]]) -> int:
    """How many ``UserUtteranceReverted`` undo the applied turns from ``message_id`` on."""
    if message_id not in applied:
        return 0
    return len(applied) - applied.index(message_id)


def _all_user_turn_ids(events: Iterable[Event]) -> Set[Optional[str]]:
    """Every user turn the conversation has seen, restarts and reverts included."""
    return {event.message_id for event in events if isinstance(event, UserUttered)}


def _add_turns_not_replayed(plan: ReplayPlan, turns: List[PendingTurn],
                            seen: Set[Optional[str]]) -> None:
    """A claimed turn not in the plan yet: superseded if the conversation has it
    (the customer went on), else handled as new, after the others."""
    replayed = {item.message_id for item in plan.replay if isinstance(item, PendingTurn)}
    for turn in turns:
        if turn.message_id in replayed:
            continue
        if turn.message_id in seen:
            plan.superseded.append(turn)
        else:
            plan.replay.append(turn)


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
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
                async with session.get(action_server_health_url(endpoint.url)) as response:
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
        with action_failures() as failures:
            try:
                await processor.handle_message(message)
            except Exception as e:
                logger.exception("replaying turn %s of %s failed", turn.message_id, turn.sender_id)
                error = repr(e)
        reason = error or needs_replay(output.sent, action_failed=bool(failures))
        if reason == UNANSWERED:
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
