"""Handing over to a human: what bot.playbook.handoff decides, and the action that follows it."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import create_engine

from actions.deps import Deps
from actions.handoff import ActionHandoff
from bot.playbook.handoff import next_shift_text, plan_handover, take_message
from bot.shop.cases import CaseState
from bot.shop.store import OrderStore
from tests.helpers.shop import SECRET, responses, slot_values

# 2026-11-20 02:00 UTC is 10:00 in Shanghai (day shift); 15:00 UTC is 23:00.
IN_SHIFT = datetime(2026, 11, 20, 2, 0)
OFF_SHIFT = datetime(2026, 11, 20, 15, 0)


def test_within_shift_hours_a_case_quoting_the_request_comes_before_the_agent(policy):
    plan = plan_handover("request_human", "转人工", IN_SHIFT, policy)
    assert plan.opening == ()
    assert (plan.reply.response, plan.reply.facts) == ("utter_handoff_now", {"shift": "白班"})
    assert plan.case.facts == {"shift": "白班", "request": "转人工"}
    assert plan.to_agent


def test_outside_shift_hours_nothing_is_logged_and_a_message_is_offered(policy):
    plan = plan_handover("request_human", "转人工", OFF_SHIFT, policy)
    assert (plan.reply.response, plan.reply.facts) == ("utter_handoff_closed", {"next_shift": "11月21日 09:00"})
    assert plan.case is None and not plan.to_agent


def test_a_complaint_gets_an_apology_first_in_or_out_of_shift(policy):
    for now in (IN_SHIFT, OFF_SHIFT):
        plan = plan_handover("complaint", "我要投诉", now, policy)
        assert [r.response for r in plan.opening] == ["utter_complaint_apology"]


def test_a_message_left_names_the_next_shift(policy):
    reply = take_message("请回电", OFF_SHIFT, policy)
    assert (reply.response, reply.facts) == ("utter_message_taken", {"next_shift": "11月21日 09:00", "request": "请回电"})


def test_without_shifts_the_next_working_day_is_promised(policy):
    assert next_shift_text(OFF_SHIFT, replace(policy, shifts=())) == "下一个工作日"


async def test_a_complaint_is_apologised_for_even_when_no_case_can_be_logged(
    policy, notes, dispatcher, make_tracker, tmp_path
):
    broken = Deps(  # a database without tables: every query fails
        store=OrderStore(create_engine(f"sqlite:///{tmp_path / 'empty.db'}")),
        policy=policy, notes=notes, clock=lambda: IN_SHIFT, secret=SECRET,
    )
    tracker = make_tracker(text="我要投诉", intent="complaint")
    events = await ActionHandoff(broken).run(dispatcher, tracker, {})
    # no case, no hand-over: the conversation is not paused
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_service_unavailable"]
    assert events == []


async def test_an_unreadable_order_does_not_stop_the_hand_over(deps, dispatcher, make_tracker, monkeypatch):
    def unreadable(self, tracker):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("select", {}, Exception("timeout"))

    monkeypatch.setattr(Deps, "conversation_order", unreadable)
    tracker = make_tracker(text="转人工", intent="request_human", slots={"order_id": "3027461958302746518"})
    events = await ActionHandoff(replace(deps, clock=lambda: IN_SHIFT)).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff_now"]
    assert slot_values(events) == {"handoff": "agent"}
    (case,) = deps.cases.open_cases()
    assert (case.state, case.order_id) == (CaseState.ESCALATED, None)
