"""channels/replay.py: ``plan_replay`` over conversations built from Rasa events, and the worker.

Each ``plan_replay`` case is a tracker (Rasa's own ``DialogueStateTracker``, so Rasa decides
which user turns it applies and which a form folds away), the turns claimed from
the journal, and the plan: how many user turns to undo, what to handle again in
order (a journaled turn, or an answered turn undone with it), what is superseded.
Every plan is also carried out on the tracker, to check that the undo removes
exactly the turns handled again: no half turn, no answered turn lost.

``ReplayWorker`` runs with the real runtime and journal (temporary SQLite) and a
stand-in for Rasa's processor that records each turn it handles in the tracker.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional, Tuple

import pytest
from aiohttp import web
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from channels.journal import DONE, PENDING, SUPERSEDED, PendingTurn, PendingTurnJournal
from channels.replay import ReplayPlan, ReplayWorker, plan_replay
from channels.runtime import FaultRuntime, FaultSettings
from rasa_adapter import compat

ORDER = "3027461958302746518"

# -- conversations, turn by turn (as Rasa 3.6 records them) ----------------------


def session() -> List[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def said(message_id: str) -> UserUttered:
    return UserUttered(f"text of {message_id}", {"name": "quality_issue"}, message_id=message_id)


def answered(message_id: str) -> List[Event]:
    return [said(message_id), ActionExecuted("action_quality_issue"), BotUttered("请上传照片"),
            ActionExecuted("action_listen")]


def unanswered(message_id: str) -> List[Event]:
    """The custom action failed: Rasa logs it without its events and listens again."""
    return [said(message_id), ActionExecuted("action_quality_issue"), ActionExecuted("action_listen")]


def partly_answered(message_id: str) -> List[Event]:
    """One reply went out, then a custom action failed."""
    return [said(message_id), ActionExecuted("utter_sorry"), BotUttered("很抱歉"),
            ActionExecuted("action_quality_issue"), ActionExecuted("action_listen")]


def opens_the_form(message_id: str) -> List[Event]:
    return [said(message_id), ActionExecuted("order_form"), ActiveLoop("order_form"),
            SlotSet("requested_slot", "order_id"), BotUttered("请问是哪一笔订单？"),
            ActionExecuted("action_listen")]


def fills_the_form(message_id: str, answer: Optional[str] = "已为您查询") -> List[Event]:
    """The form's happy path: Rasa folds this user turn away in applied_events()."""
    events: List[Event] = [said(message_id), ActionExecuted("order_form"), SlotSet("order_id", ORDER),
                           ActiveLoop(None), SlotSet("requested_slot", None),
                           ActionExecuted("action_track_parcel")]
    if answer:
        events.append(BotUttered(answer))
    return [*events, ActionExecuted("action_listen")]


def conversation(*turns: List[Event]) -> List[Event]:
    return [event for turn in turns for event in turn]


def pending(message_id: str, row: int) -> PendingTurn:
    return PendingTurn(id=row, message_id=message_id, sender_id="c1", input_channel="rest",
                       text=f"text of {message_id}", metadata={}, reason="unanswered",
                       status="replaying", attempts=0, created_at=100.0 + row)


def applied_user_turns(tracker: DialogueStateTracker) -> List[Optional[str]]:
    return [e.message_id for e in tracker.applied_events() if isinstance(e, UserUttered)]


# -- the plans -------------------------------------------------------------------


def journaled(message_id: str) -> Tuple[str, str]:
    return ("journaled", message_id)


def again(message_id: str) -> Tuple[str, str]:
    """An answered turn, undone with the failed ones and handled again."""
    return ("answered", message_id)


@dataclass
class Case:
    events: List[Event]
    claimed: List[str]  # the journaled turns claimed, oldest first
    reverts: int
    replay: List[Tuple[str, str]]
    superseded: List[str]


CASES = [
    pytest.param(Case(conversation(session(), answered("u1")), [], 0, [], []),
                 id="nothing claimed: nothing to do"),
    pytest.param(Case(conversation(session(), answered("u1"), unanswered("u2")), ["u2"],
                      1, [journaled("u2")], []),
                 id="the latest turn got no answer"),
    pytest.param(Case(conversation(session(), partly_answered("u1")), ["u1"], 1, [journaled("u1")], []),
                 id="a turn that failed after a partial answer"),
    pytest.param(Case(conversation(session(), answered("u1"), unanswered("u2"), unanswered("u3")),
                      ["u2", "u3"], 2, [journaled("u2"), journaled("u3")], []),
                 id="several failed turns in a row, replayed in order"),
    pytest.param(Case(conversation(session(), unanswered("u1"), answered("u2")), ["u1"], 0, [], ["u1"]),
                 id="the customer went on: superseded"),
    pytest.param(Case(conversation(session(), unanswered("u1"), answered("u2"), unanswered("u3")),
                      ["u1", "u3"], 1, [journaled("u3")], ["u1"]),
                 id="an old failed turn superseded, the latest replayed"),
    pytest.param(Case(conversation(session(), opens_the_form("u1"), fills_the_form("u2", answer=None)),
                      ["u2"], 1, [again("u1"), journaled("u2")], []),
                 id="a form turn folded away: the undo reaches the turn that opened the form"),
    pytest.param(Case(conversation(session(), answered("u0"), opens_the_form("u1"),
                                   fills_the_form("u2", answer="服务暂时不可用")),
                      ["u2"], 1, [again("u1"), journaled("u2")], []),
                 id="a folded form turn after an answered turn, which stays"),
    pytest.param(Case(conversation(session(), opens_the_form("u1"), fills_the_form("u2", answer=None)),
                      ["u1", "u2"], 1, [journaled("u1"), journaled("u2")], []),
                 id="the turn that opened the form failed too"),
    pytest.param(Case(conversation(session(), opens_the_form("u1"), fills_the_form("u2"), answered("u3")),
                      ["u2"], 0, [], ["u2"]),
                 id="a folded form turn the customer went on from: superseded"),
    pytest.param(Case(conversation(session(), answered("u1")), ["u9"], 0, [journaled("u9")], []),
                 id="a turn not in the tracker at all is handled as new"),
    pytest.param(Case(conversation(session(), answered("u1"), unanswered("u2")), ["u2", "u9"],
                      1, [journaled("u2"), journaled("u9")], []),
                 id="a turn not in the tracker comes after the replayed ones"),
    pytest.param(Case(conversation(session(), answered("u1"), unanswered("u2"), [UserUtteranceReverted()],
                                   unanswered("u2")),
                      ["u2"], 1, [journaled("u2")], []),
                 id="a turn replayed before that failed again: its latest occurrence counts"),
    pytest.param(Case(conversation(session(), unanswered("u1"), unanswered("u2"),
                                   [UserUtteranceReverted(), UserUtteranceReverted()], unanswered("u1")),
                      ["u1"], 1, [journaled("u1")], []),
                 id="the first of two undone turns failed again on replay: it is the latest turn now"),
    pytest.param(Case(conversation(session(), unanswered("u1"), [Restarted()], session(), answered("u2")),
                      ["u1"], 0, [], ["u1"]),
                 id="a turn before a restart: superseded"),
    pytest.param(Case(conversation(session(), unanswered("u1"), [Restarted()]), ["u1"], 0, [], ["u1"]),
                 id="a restart right after the failed turn: superseded"),
    pytest.param(Case(conversation(session(), unanswered("u1"), session(), answered("u2")),
                      ["u1"], 0, [], ["u1"]),
                 id="a turn of an earlier session: superseded"),
    pytest.param(Case(conversation(session(), answered("u1"), session(), unanswered("u2")),
                      ["u2"], 1, [journaled("u2")], []),
                 id="the first turn of a new session failed"),
]


def describe(plan: ReplayPlan, claimed: List[PendingTurn]) -> List[Tuple[str, str]]:
    items = []
    for item in plan.replay:
        if isinstance(item, PendingTurn):
            assert any(item is turn for turn in claimed)  # the claimed turn itself, with its row id
            items.append(journaled(item.message_id))
        else:
            assert isinstance(item, UserUttered) and item.text == f"text of {item.message_id}"
            items.append(again(str(item.message_id)))
    return items


@pytest.mark.parametrize("case", CASES)
def test_the_replay_plan(case: Case):
    tracker = DialogueStateTracker.from_events("c1", case.events)
    claimed = [pending(message_id, row) for row, message_id in enumerate(case.claimed, start=1)]
    plan = plan_replay(tracker, claimed)
    assert (plan.reverts, describe(plan, claimed), [t.message_id for t in plan.superseded]) == (
        case.reverts, case.replay, case.superseded)
    # every claimed turn is either handled again or superseded, once
    decided = [t.message_id for t in plan.replay if isinstance(t, PendingTurn)] + [
        t.message_id for t in plan.superseded]
    assert sorted(decided) == sorted(case.claimed)

    # carried out: the undo removes exactly the applied turns that are handled again
    handled_again = {item.message_id for item in plan.replay}
    before = applied_user_turns(tracker)
    for _ in range(plan.reverts):
        tracker.update(UserUtteranceReverted())
    assert applied_user_turns(tracker) == [m for m in before if m not in handled_again]


def test_rasa_folds_a_form_turn_away():
    """The premise of the form cases: the turn that fills the form is in the
    events but not among the turns Rasa applies, and one undo removes both."""
    tracker = DialogueStateTracker.from_events(
        "c1", conversation(session(), opens_the_form("u1"), fills_the_form("u2")))
    assert [e.message_id for e in tracker.events if isinstance(e, UserUttered)] == ["u1", "u2"]
    assert applied_user_turns(tracker) == ["u1"]
    tracker.update(UserUtteranceReverted())
    assert applied_user_turns(tracker) == []


def test_the_plan_does_not_change_the_tracker():
    events = conversation(session(), answered("u1"), unanswered("u2"))
    tracker = DialogueStateTracker.from_events("c1", events)
    plan_replay(tracker, [pending("u2", 1)])
    assert list(tracker.events) == events


# -- the worker ------------------------------------------------------------------


class Processor:
    """Rasa's MessageProcessor as the worker uses it. A turn handled is recorded
    in the tracker and answered, or, for ``failing`` message ids, partly answered
    before a custom action fails as in Rasa 3.6 (logged, its events lost)."""

    def __init__(self, events: List[Event], failing: Iterable[str] = ()) -> None:
        self.tracker = DialogueStateTracker.from_events("c1", events)
        self.failing = set(failing)
        self.handled: List[Optional[str]] = []
        self.saves = 0

    async def get_tracker(self, sender_id: str) -> DialogueStateTracker:
        return self.tracker

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        self.saves += 1

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message.message_id)
        self.tracker.update(UserUttered(message.text, {"name": "quality_issue"}, message_id=message.message_id))
        self.tracker.update(ActionExecuted("action_quality_issue"))
        if message.message_id in self.failing:  # after a first reply: only Rasa's log tells
            await message.output_channel.send_response(
                message.sender_id, {"text": "很抱歉", "utter_action": "utter_sorry"})
            logging.getLogger(compat.ACTION_FAILED_LOGGER).error(
                f"{compat.ACTION_FAILED_LOG} 'action_quality_issue'.Bot will continue")
        else:
            answer = f"answer to {message.message_id}"
            await message.output_channel.send_response(
                message.sender_id, {"text": answer, "utter_action": "utter_quality_issue"})
            self.tracker.update(BotUttered(answer))
        self.tracker.update(ActionExecuted("action_listen"))


class ReadyAgent:
    def __init__(self, processor: Processor, action_endpoint: Optional[EndpointConfig] = None) -> None:
        self.processor = processor
        self.lock_store = InMemoryLockStore()
        self.action_endpoint = action_endpoint

    def is_ready(self) -> bool:
        return True


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FaultRuntime]:
    app: Any = SimpleNamespace(ctx=SimpleNamespace(agent=None))
    runtime = FaultRuntime(app, FaultSettings(journal_url=f"sqlite:///{tmp_path / 'journal.db'}",
                                              poll_seconds=60))
    await runtime.start()
    assert runtime.worker_task is not None
    runtime.worker_task.cancel()  # the tests tick a worker of their own
    yield runtime
    await runtime.stop()
    assert runtime.journal is not None
    runtime.journal.engine.dispose()


def serve(runtime: FaultRuntime, processor: Processor, claimed: List[str], channel: str = "rest",
          action_endpoint: Optional[EndpointConfig] = None) -> PendingTurnJournal:
    runtime.app.ctx.agent = ReadyAgent(processor, action_endpoint)
    journal = runtime.journal
    assert journal is not None
    for row, message_id in enumerate(claimed):
        journal.record(message_id=message_id, sender_id="c1", input_channel=channel,
                       text=f"text of {message_id}", metadata={}, reason="unanswered", now=100.0 + row)
    return journal


def statuses(journal: PendingTurnJournal) -> Dict[str, Tuple[str, int]]:
    return {t.message_id: (t.status, t.attempts) for t in journal.turns()}


async def test_the_worker_replays_a_failed_turn_and_delivers_the_late_answer(runtime):
    processor = Processor(conversation(session(), answered("u1"), unanswered("u2")))
    journal = serve(runtime, processor, ["u2"], channel="socketio")
    late = CollectingOutputChannel()
    runtime.late_outputs["socketio"] = lambda: late
    assert await ReplayWorker(runtime, "w1").tick() == 1
    assert statuses(journal) == {"u2": (DONE, 0)}
    assert processor.handled == ["u2"] and processor.saves == 1  # the undo was saved first
    assert applied_user_turns(processor.tracker) == ["u1", "u2"]  # one of each: no half turn
    assert [m["text"] for m in late.messages] == ["answer to u2"]


async def test_an_answered_turn_undone_with_a_folded_one_is_handled_again_first(runtime):
    processor = Processor(conversation(session(), opens_the_form("u1"), fills_the_form("u2", answer=None)))
    journal = serve(runtime, processor, ["u2"])
    assert await ReplayWorker(runtime, "w1").tick() == 1
    assert processor.handled == ["u1", "u2"]
    assert statuses(journal) == {"u2": (DONE, 0)}


async def test_a_turn_that_fails_again_backs_off_and_the_later_ones_wait(runtime):
    processor = Processor(conversation(session(), unanswered("u2"), unanswered("u3")), failing=["u2"])
    journal = serve(runtime, processor, ["u2", "u3"])
    assert await ReplayWorker(runtime, "w1").tick() == 0
    assert processor.handled == ["u2"]
    assert statuses(journal) == {"u2": (PENDING, 1), "u3": (PENDING, 0)}
    assert journal.due_senders() == ["c1"]  # u3 was given back untouched; u2 backs off


async def test_a_turn_the_customer_went_on_from_is_superseded(runtime):
    processor = Processor(conversation(session(), unanswered("u1"), answered("u2")))
    journal = serve(runtime, processor, ["u1"])
    assert await ReplayWorker(runtime, "w1").tick() == 0
    assert statuses(journal) == {"u1": (SUPERSEDED, 0)}
    assert processor.handled == [] and processor.saves == 0


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_nothing_is_claimed_while_the_action_server_is_down(runtime):
    down = EndpointConfig(url=f"http://127.0.0.1:{unused_port()}/webhook")
    processor = Processor(conversation(session(), unanswered("u1")))
    journal = serve(runtime, processor, ["u1"], action_endpoint=down)
    assert await ReplayWorker(runtime, "w1").tick() == 0
    assert processor.handled == []
    assert statuses(journal) == {"u1": (PENDING, 0)}


async def test_the_action_server_is_healthy_while_its_health_url_answers():
    app = web.Application()

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    port = unused_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    agent = SimpleNamespace(action_endpoint=EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"))
    try:
        assert await ReplayWorker.action_server_healthy(agent)
    finally:
        await runner.cleanup()
    assert not await ReplayWorker.action_server_healthy(agent)
