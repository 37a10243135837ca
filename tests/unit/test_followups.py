"""Answers to the bot's own questions on the open case (bot/playbook/followups.py,
actions/followups.py) and the notice that a case changed (`python -m bot cases`)."""

import asyncio
import logging
import socket
from datetime import timedelta

import pytest

from actions.followups import (
    ActionCaseChanged,
    ActionRefundAccount,
    ActionReturnWaybill,
    ActionStillNotFound,
)
from actions.order_form import ActionReceiveOrder
from bot.access.ids import find_waybill
from bot.cli import main
from bot.logmask import mask_pii
from bot.playbook import followups
from bot.playbook.scenarios import round_promise
from bot.shop.casefacts import (
    CaseChange,
    FactKind,
    claim_notice,
    facts_of,
    mask_account,
    notices_of,
    pending_notices,
    record_fact,
    unclaim_notice,
)
from bot.shop.cases import CaseState, PromiseKind, PromiseTerms
from rasa_adapter.project_files import response_text
from tests.helpers.shop import NOW, responses

HOUR = timedelta(hours=1)


def signed_order(store):
    return next(o for o in store.all_orders() if o.state.value == "signed")


def open_case(deps, conversation, intent, order_id, state=CaseState.WAITING_CUSTOMER, promises=()):
    return deps.cases.register(conversation_id=conversation, intent=intent, state=state, next_step="等客户",
                               note=f"{intent} 备注", now=NOW - HOUR, order_id=order_id, promises=promises)


@pytest.mark.parametrize("text, number", [
    ("退货单号是 SF1234567890", "SF1234567890"),
    ("寄回了，快递单号 773029384756102", "773029384756102"),
    ("sf 1234567890123 已寄出", "SF1234567890123"),
    ("手机13812345678", None),  # a phone number
    ("订单3027461958302746518", None),  # an order number
    ("寄回了", None),
])
def test_find_waybill(text, number):
    assert find_waybill(text) == number


def test_still_not_found_contacts_the_courier_and_keeps_the_first_promise(deps, dispatcher, make_tracker):
    order = signed_order(deps.store)
    first_due = NOW + 20 * HOUR  # given when the customer first asked
    case = open_case(deps, "c1", "signed_not_received", order.order_id, state=CaseState.WAITING_SHOP,
                     promises=[PromiseTerms(PromiseKind.ANSWER_BY, due_at=first_due)])
    tracker = make_tracker(text="问过了还是没有", intent="still_not_found", sender_id="c1")
    asyncio.run(ActionStillNotFound(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) == [followups.COURIER_CONTACTED]
    said = dispatcher.messages[0]
    assert said["answer_by"] == round_promise(first_due, deps.policy)[1]  # not moved
    [promise] = deps.cases.promises(case.id)
    assert promise.due_at == first_due
    moved = deps.cases.get(case.id)
    assert moved.state == CaseState.WAITING_SHOP and "联系快递" in moved.next_step
    notes = [n for n in deps.store.get_order(order.order_id).notes if n.kind == followups.COURIER_CONTACT]
    assert len(notes) == 1 and notes[0].due_at == first_due


def test_still_not_found_without_a_promise_makes_one(deps):
    order = signed_order(deps.store)
    case = open_case(deps, "c1", "signed_not_received", order.order_id)
    reply = followups.still_not_found(deps.cases, deps.notes, deps.store, deps.policy, "c1", None, NOW)
    [promise] = deps.cases.promises(case.id)
    assert promise.kind == PromiseKind.ANSWER_BY and promise.due_at is not None
    assert reply.facts["answer_by"] == round_promise(promise.due_at, deps.policy)[1]


def test_still_not_found_with_no_such_case_asks_what_happened(deps):
    reply = followups.still_not_found(deps.cases, deps.notes, deps.store, deps.policy, "nobody", None, NOW)
    assert reply.response == followups.NO_SNR_CASE


def test_the_return_waybill_is_recorded_and_the_clock_waits_for_the_parcel(deps, dispatcher, make_tracker):
    order = signed_order(deps.store)
    case = open_case(deps, "c2", "quality_issue", order.order_id,
                     promises=[PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2)])
    tracker = make_tracker(text="退货单号是 SF1234567890", intent="give_return_waybill", sender_id="c2")
    asyncio.run(ActionReturnWaybill(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) == [followups.WAYBILL_RECORDED]
    assert dispatcher.messages[0]["waybill"] == "SF1234567890"
    [fact] = facts_of(deps.store, case.id, FactKind.RETURN_WAYBILL)
    assert fact.value == "SF1234567890"
    [promise] = deps.cases.promises(case.id)
    assert promise.due_at is None and promise.days == 2  # started only by `cases return-arrived`
    assert deps.cases.get(case.id).state == CaseState.WAITING_SHOP
    assert f"return-arrived {case.id}" in deps.cases.get(case.id).next_step


def test_a_bare_waybill_goes_to_the_open_return_case_not_the_order_lookup(deps, dispatcher, make_tracker):
    order = signed_order(deps.store)
    case = open_case(deps, "c3", "return_or_exchange", order.order_id)
    tracker = make_tracker(text="SF1234567890", intent="inform", sender_id="c3")
    events = asyncio.run(ActionReceiveOrder(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) == [followups.WAYBILL_RECORDED] and events == []
    assert [f.value for f in facts_of(deps.store, case.id)] == ["SF1234567890"]


def test_a_bare_number_without_a_return_case_is_still_an_order_lookup(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="SF1234567890", intent="inform", sender_id="c4")
    asyncio.run(ActionReceiveOrder(deps).run(dispatcher, tracker, {}))
    assert followups.WAYBILL_RECORDED not in responses(dispatcher)


def test_a_waybill_answer_without_a_number_or_a_case(deps):
    order = signed_order(deps.store)
    assert followups.return_waybill(deps.cases, deps.notes, deps.store, deps.policy, "c5", None, "寄回了",
                                    NOW).response == followups.NO_RETURN_CASE
    open_case(deps, "c5", "wrong_item", order.order_id)
    assert followups.return_waybill(deps.cases, deps.notes, deps.store, deps.policy, "c5", None, "寄回了",
                                    NOW).response == followups.NO_WAYBILL


@pytest.mark.parametrize("text, account, masked", [
    ("支付宝账号 13812345678", "13812345678", "138****5678"),
    ("我的支付宝是 zhangsan@163.com", "zhangsan@163.com", "z***@163.com"),
])
def test_the_refund_account_is_kept_on_the_case_only(deps, dispatcher, make_tracker, caplog, capsys,
                                                      text, account, masked):
    order = signed_order(deps.store)
    case = open_case(deps, "c6", "wrong_item", order.order_id)
    tracker = make_tracker(text=text, intent="give_refund_account", sender_id="c6")
    with caplog.at_level(logging.DEBUG):
        asyncio.run(ActionRefundAccount(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) == [followups.ACCOUNT_RECORDED]
    assert dispatcher.messages[0]["account"] == masked and account not in str(dispatcher.messages)
    assert [f.value for f in facts_of(deps.store, case.id, FactKind.REFUND_ACCOUNT)] == [account]
    moved = deps.cases.get(case.id)
    assert account not in moved.next_step + moved.note and masked in moved.next_step
    assert moved.state == CaseState.WAITING_CUSTOMER  # still waiting as it was
    assert account not in caplog.text
    assert main(["--db", str(deps.store.engine.url), "cases"]) == 0
    listing = capsys.readouterr().out
    assert masked in listing and account not in listing
    assert mask_pii(f"消息：{text}").count(account) == 0  # the log filter masks it too


def test_mask_account():
    assert mask_account("13812345678") == "138****5678"
    assert mask_account("a.b@qq.com") == "a***@qq.com"
    assert mask_account("someaccount") == "so****nt"


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_cases_changes_tell_the_customer_and_record_the_notice(deps, capsys):
    """Rasa down: the change stands and the notice is recorded as not delivered
    (the notice reaching a running Rasa: tests/e2e/test_e2e_followups.py)."""
    order = signed_order(deps.store)
    url = str(deps.store.engine.url)
    case = open_case(deps, "c7", "quality_issue", order.order_id,
                     promises=[PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2)])
    rasa = ["--rasa", dead_url()]
    assert main(["--db", url, "cases", "return-arrived", str(case.id), *rasa]) == 0
    assert main(["--db", url, "cases", "resolve", str(case.id), "--handler", "小王", *rasa]) == 0
    assert "was not told now" in capsys.readouterr().err
    assert [(n.change, n.delivered, n.conversation_id) for n in notices_of(deps.store, case.id)] == [
        (CaseChange.RETURN_ARRIVED, False, "c7"), (CaseChange.RESOLVED, False, "c7")]
    assert deps.cases.get(case.id).state == CaseState.RESOLVED
    assert main(["--db", url, "cases", "resolve", "999", *rasa]) == 1
    assert main(["--db", url, "cases", "keep", str(case.id), "approval", "--no-notice"]) == 1


def test_the_notice_said_in_the_conversation(deps, dispatcher, make_tracker):
    order = signed_order(deps.store)
    case = open_case(deps, "c8", "quality_issue", order.order_id,
                     promises=[PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2)])
    due = deps.cases.return_arrived(case.id, NOW).due_at

    def said(change):
        d = type(dispatcher)()
        entities = [{"entity": "case_id", "value": str(case.id)}, {"entity": "change", "value": change}]
        tracker = make_tracker(intent="EXTERNAL_case_changed", entities=entities, sender_id="c8")
        asyncio.run(ActionCaseChanged(deps).run(d, tracker, {}))
        return d.messages

    [arrived] = said("return_arrived")
    assert arrived["response"] == "utter_case_return_arrived"
    assert arrived["handle_by"] == round_promise(due, deps.policy)[1] and arrived["handle_by"].endswith("前")
    assert order.order_id in arrived["order_ref"]
    assert [m["response"] for m in said("resolved")] == ["utter_case_resolved"]
    assert said("no-such-change") == []


def test_the_answers_pass_every_reply_check(deps):
    """Each answer as tests/unit/test_every_reply.py checks the scenarios' replies: no raw
    placeholder, short bubbles, names the order, no claim nothing performs, a recorded time."""
    from rasa_adapter.project_files import responses as domain_responses
    from tests.unit.test_every_reply import check

    order = signed_order(deps.store)
    open_case(deps, "c9", "signed_not_received", order.order_id)
    open_case(deps, "c9", "return_or_exchange", order.order_id)
    replies = [
        followups.still_not_found(deps.cases, deps.notes, deps.store, deps.policy, "c9", order.order_id, NOW),
        followups.return_waybill(deps.cases, deps.notes, deps.store, deps.policy, "c9", order.order_id,
                                 "单号 SF1234567890", NOW),
        followups.refund_account(deps.cases, deps.notes, deps.store, "c9", order.order_id, "支付宝 13812345678", NOW),
    ]
    domain = domain_responses()
    for reply in replies:
        assert check(reply, order, NOW, deps.notes, domain) == [], reply


def test_a_tracking_number_read_as_a_waybill_without_a_return_case_is_looked_up(deps, dispatcher, make_tracker):
    """The model may read a bare tracking number as a return waybill: with no return case
    open it is an order lookup, as before (the anonymous customer is asked for the phone)."""
    tracker = make_tracker(text="773029384756102", intent="give_return_waybill", sender_id="c10")
    asyncio.run(ActionReturnWaybill(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) != [followups.NO_RETURN_CASE]
    assert followups.WAYBILL_RECORDED not in responses(dispatcher)


def test_the_shops_own_tracking_number_is_never_taken_as_a_return_waybill(deps):
    order = signed_order(deps.store)
    open_case(deps, "c11", "return_or_exchange", order.order_id)
    assert followups.waybill_for_open_return(deps.cases, deps.store, "c11", order.shipment.tracking_number) is None
    assert followups.waybill_for_open_return(deps.cases, deps.store, "c11", "SF1234567890") == "SF1234567890"


def test_a_notice_not_told_stays_pending_and_is_told_once(deps):
    order = signed_order(deps.store)
    case = open_case(deps, "c9", "quality_issue", order.order_id)
    said = []

    def away(conversation, intent, entities):
        said.append(("away", conversation))
        return False

    def reached(conversation, intent, entities):
        said.append((intent, conversation, entities["case_id"], entities["change"]))
        return True

    notice = followups.tell_case_changed(deps.cases, deps.store, case.id, CaseChange.RESOLVED, away, NOW)
    assert not notice.delivered and [n.id for n in pending_notices(deps.store, "c9")] == [notice.id]
    assert followups.tell_pending(deps.store, away, NOW) == []  # still not reachable: still pending
    assert [n.id for n in pending_notices(deps.store)] == [notice.id]
    [told] = followups.tell_pending(deps.store, reached, NOW + HOUR)
    assert told.id == notice.id and told.delivered
    assert followups.tell_pending(deps.store, reached, NOW + 2 * HOUR) == []  # never twice
    assert said[-1] == ("EXTERNAL_case_changed", "c9", str(case.id), "resolved")
    assert len([s for s in said if s[0] != "away"]) == 1
    assert pending_notices(deps.store) == [] and notices_of(deps.store, case.id)[0].delivered


def test_a_claimed_notice_is_told_by_one_teller_only_and_released_on_failure(deps):
    order = signed_order(deps.store)
    case = open_case(deps, "c10", "quality_issue", order.order_id)
    notice = followups.tell_case_changed(deps.cases, deps.store, case.id, CaseChange.RESOLVED,
                                         lambda *_: False, NOW)
    assert claim_notice(deps.store, notice.id, NOW) and not claim_notice(deps.store, notice.id, NOW)
    unclaim_notice(deps.store, notice.id)

    def broken(*_):
        raise RuntimeError("the channel broke")

    with pytest.raises(RuntimeError):
        followups.tell_notice(deps.store, notice, broken, NOW)
    assert [n.id for n in pending_notices(deps.store, "c10")] == [notice.id]  # released, not lost
    assert followups.tell_case_changed(deps.cases, deps.store, 999, CaseChange.RESOLVED, broken, NOW) is None


def test_a_supervisors_decision_is_told_with_its_reason(deps, dispatcher, make_tracker):
    order = signed_order(deps.store)
    case = open_case(deps, "c11", "price_drop_refund", order.order_id, state=CaseState.NEEDS_APPROVAL)
    approved = followups.case_changed(deps.cases, deps.policy, case.id, CaseChange.APPROVED)
    assert approved.response == "utter_approval_granted" and approved.facts["request"] == "退差价"
    record_fact(deps.store, case.id, FactKind.DECISION_REASON, "活动价不参与保价", NOW)
    denied = followups.case_changed(deps.cases, deps.policy, case.id, CaseChange.DENIED)
    assert denied.response == "utter_approval_denied" and denied.facts["reason"] == "活动价不参与保价"
    assert denied.facts["order_id"] == order.order_id
    text = response_text("utter_approval_denied").format(**denied.facts)
    assert "活动价不参与保价" in text and "{" not in text


def test_no_notice_changes_the_case_and_records_nothing_to_tell(deps):
    order = signed_order(deps.store)
    case = open_case(deps, "c12", "quality_issue", order.order_id)
    url = str(deps.store.engine.url)
    assert main(["--db", url, "cases", "resolve", str(case.id), "--no-notice"]) == 0
    assert deps.cases.get(case.id).state == CaseState.RESOLVED
    assert notices_of(deps.store, case.id) == [] and pending_notices(deps.store, "c12") == []
