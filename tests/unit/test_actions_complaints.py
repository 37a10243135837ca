"""The complaint actions (actions/complaints.py): the opening, the case recorded in the
customer's words, a supervisor with a promise for threats, the shift or the next one."""

from dataclasses import replace
from datetime import datetime, timedelta

import yaml
from sqlalchemy import create_engine

from actions.complaints import ActionAskComplaintDetails, ActionComplaint, ActionComplaintRecord
from actions.deps import Deps
from bot.playbook.complaints import SUPERVISOR
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseState, PromiseKind
from bot.shop.store import OrderStore
from tests.helpers.shop import SECRET, responses, slot_values

IN_SHIFT = datetime(2026, 11, 20, 2, 0)  # 10:00 in Shanghai
OFF_SHIFT = datetime(2026, 11, 20, 15, 0)  # 23:00
ORDER = "3027461958302749902"


def at(deps, moment):
    return replace(deps, clock=lambda: moment)


def user(text):
    return {"event": "user", "text": text}


def test_no_complaint_reply_promises_a_remedy_before_triage():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    texts = [v["text"] for name, variants in domain["responses"].items() if "complaint" in name for v in variants]
    assert domain["responses"]["utter_complaint_apology"][0]["text"] == \
        "您好，真不好意思，给您添麻烦了，请先不要着急，我来帮您处理哦。"
    assert len(texts) >= 6
    for text in texts:
        assert not any(word in text for word in ("退款", "补发", "补偿", "赔", "满意的解决方案")), text


async def test_a_plain_complaint_opens_the_standard_way_and_listens(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="我要投诉", intent="complaint", events=[user("我要投诉")])
    events = await ActionComplaint(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_complaint_apology"]
    slots = slot_values(events)
    assert slots["complaint"] == "listen"
    case = deps.cases.get(slots["complaint_case"])  # recorded at once: never lost if the customer leaves
    assert (case.intent, case.kind, case.priority, case.escalated_to) == ("complaint", "complaint", 1, None)
    assert case.state == CaseState.WAITING_CUSTOMER and case.customer_message == "我要投诉"
    assert deps.cases.promises(case.id) == []


async def test_the_question_names_the_order_when_the_conversation_has_one(deps, dispatcher, make_tracker):
    await ActionAskComplaintDetails(deps).run(dispatcher, make_tracker(slots={"order_id": ORDER}), {})
    await ActionAskComplaintDetails(deps).run(dispatcher, make_tracker(), {})
    assert responses(dispatcher) == ["utter_complaint_ask_details_order", "utter_complaint_ask_details"]
    assert dispatcher.messages[0]["order_id"] == ORDER


async def test_a_threat_goes_to_a_supervisor_with_a_promise_that_stands(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="再不处理我就给差评", intent="complaint", slots={"order_id": ORDER},
                           events=[user("再不处理我就给差评")])
    events = await ActionComplaint(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_complaint_supervisor"]
    case = deps.cases.get(slot_values(events)["complaint_case"])
    assert (case.order_id, case.escalated_to, case.priority, case.state) == (ORDER, SUPERVISOR, 2, CaseState.ESCALATED)
    assert case.escalation_reason == "威胁给中差评" and "再不处理我就给差评" in case.note
    (promise,) = deps.cases.promises(case.id)
    assert promise.kind == PromiseKind.SUPERVISOR_ANSWER
    assert promise.due_at == deps.clock() + timedelta(hours=deps.policy.supervisor_answer_hours)
    assert dispatcher.messages[1]["answer_by"] == "11月21日下午6点前" and dispatcher.messages[1]["case_id"] == case.id
    assert slot_values(events)["complaint"] == "supervisor"
    assert [c.id for c in deps.cases.escalated_to(SUPERVISOR)] == [case.id]

    later = at(deps, deps.clock() + timedelta(hours=3))  # said again: the same case, the same date
    again = make_tracker(text="我要打12315", intent="complaint", slots={"order_id": ORDER, "complaint_case": case.id},
                         events=[user("再不处理我就给差评"), user("我要打12315")])
    dispatcher.messages.clear()
    await ActionComplaint(later).run(dispatcher, again, {})
    assert dispatcher.messages[1]["answer_by"] == "11月21日下午6点前"
    case = deps.cases.get(case.id)
    assert case.customer_message == "再不处理我就给差评 / 我要打12315"
    assert case.escalation_reason == "威胁给中差评、威胁投诉到12315、工商或平台、多次威胁"
    assert len(deps.cases.promises(case.id)) == 1


async def test_told_outside_shift_hours_the_complaint_stays_a_complaint(deps, dispatcher, make_tracker):
    off = at(deps, OFF_SHIFT)
    opened = await ActionComplaint(off).run(dispatcher, make_tracker(text="你们服务太差了", intent="complaint"), {})
    case_id = slot_values(opened)["complaint_case"]
    told = make_tracker(text=f"订单{ORDER}的面膜少了两片", intent="missing_item",
                        slots={"complaint_case": case_id, "complaint_details": f"订单{ORDER}的面膜少了两片"},
                        events=[user("你们服务太差了"), user(f"订单{ORDER}的面膜少了两片")])
    dispatcher.messages.clear()
    events = await ActionComplaintRecord(off).run(dispatcher, told, {})
    assert responses(dispatcher) == ["utter_complaint_recorded_closed"]
    assert dispatcher.messages[0]["next_shift"] == "11月21日 09:00"
    assert events == [{"event": "slot", "timestamp": None, "name": "complaint", "value": "message"}]
    (case,) = deps.cases.open_cases()
    assert case.id == case_id and case.intent == "complaint" and case.state == CaseState.ESCALATED
    assert case.customer_message == f"你们服务太差了 / 订单{ORDER}的面膜少了两片"
    assert f"客户说的订单号{ORDER}（未核验）" in case.note  # an anonymous customer's number, not checked


async def test_told_within_shift_hours_a_human_takes_over(deps, dispatcher, make_tracker):
    on = at(deps, IN_SHIFT)
    opened = await ActionComplaint(on).run(dispatcher, make_tracker(text="我要投诉", intent="complaint",
                                                                    slots={"order_id": ORDER}), {})
    told = make_tracker(text="客服一直推脱", slots={"order_id": ORDER, "complaint_details": "客服一直推脱",
                                                   "complaint_case": slot_values(opened)["complaint_case"]})
    events = await ActionComplaintRecord(on).run(dispatcher, told, {})
    assert responses(dispatcher)[-1] == "utter_complaint_recorded_now"
    assert {"event": "pause", "timestamp": None} in events and slot_values(events)["complaint"] == "agent"
    (case,) = deps.cases.open_cases()
    assert (case.order_id, case.escalated_to) == (ORDER, None) and "订单" + ORDER in case.note
    assert "〔" not in case.next_step and "人工客服（" in case.next_step  # the shift named, no gap


async def test_a_threat_told_while_listening_goes_to_a_supervisor(deps, dispatcher, make_tracker):
    opened = await ActionComplaint(deps).run(dispatcher, make_tracker(text="我要投诉", intent="complaint"), {})
    told = make_tracker(text="加我微信转账，我就把差评删了",
                        slots={"complaint_details": "加我微信转账，我就把差评删了",
                               "complaint_case": slot_values(opened)["complaint_case"]},
                        events=[user("我要投诉"), user("加我微信转账，我就把差评删了")])
    events = await ActionComplaintRecord(deps).run(dispatcher, told, {})
    assert responses(dispatcher)[-1] == "utter_complaint_supervisor"
    (case,) = deps.cases.escalated_to(SUPERVISOR)
    assert "要求到平台外联系或付款" in case.escalation_reason and "以评价换钱" in case.escalation_reason
    assert slot_values(events)["complaint"] == "supervisor"


async def test_the_opening_is_said_even_when_no_case_can_be_recorded(policy, notes, dispatcher, make_tracker, tmp_path):
    broken = Deps(store=OrderStore(create_engine(f"sqlite:///{tmp_path / 'empty.db'}")),
                  policy=policy, notes=notes, secret=SECRET)
    events = await ActionComplaint(broken).run(dispatcher, make_tracker(text="差评", intent="complaint"), {})
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_service_unavailable"]
    assert events == []


async def test_one_threat_is_not_repeated_when_the_model_normalised_its_text(deps, dispatcher, make_tracker):
    # Rasa keeps the raw text in the user event and the normalised one in latest_message
    tracker = make_tracker(text="差评,12315", intent="complaint", events=[user("差评，１２３１５")])
    events = await ActionComplaint(deps).run(dispatcher, tracker, {})
    case = deps.cases.get(slot_values(events)["complaint_case"])
    assert case.escalation_reason == "威胁给中差评、威胁投诉到12315、工商或平台"
