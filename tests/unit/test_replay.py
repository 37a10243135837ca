"""channels/replay.py: ``plan_replay`` over conversations built from Rasa events.

Each case is a tracker (Rasa's own ``DialogueStateTracker``, so Rasa decides
which user turns it applies and which a form folds away), the turns claimed from
the journal, and the plan: how many user turns to undo, what to handle again in
order (a journaled turn, or an answered turn undone with it), what is superseded.
Every plan is also carried out on the tracker, to check that the undo removes
exactly the turns handled again: no half turn, no answered turn lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import pytest
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

from channels.journal import PendingTurn
from channels.replay import ReplayPlan, plan_replay

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
