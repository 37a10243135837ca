"""Money owed is a promise the shop can track (bot/playbook/payouts.py, bot/workbench/payouts.py):
a granted 折价 or an approved 退差价 is due by shop.yml's hours, told rounded; an agent marks it
paid once (who, when, the reference), which keeps the promise, resolves the case and tells the
customer; unpaid past its time it is overdue in `cases` and on top of the inbox."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.cli import main
from bot.playbook.casenotes import log_case
from bot.playbook.followups import case_changed
from bot.playbook.payouts import COMPENSATION_PAID, decide_owed, payout_due
from bot.playbook.render import bubbles
from bot.playbook.reply import scenario_reply
from bot.playbook.scenarios import draft, round_promise
from bot.shop.casefacts import CaseChange, FactKind, notices_of, record_fact
from bot.shop.cases import CaseState, PromiseKind
from bot.shop.compensation import (
    CompensationKind,
    CompensationState,
    compensations_of_case,
    compensations_of_order,
    pending_for_case,
)
from bot.workbench.approvals import GRANTED_PAYOUT
from bot.workbench.card import order_card
from bot.workbench.inbox import build_inbox
from bot.workbench.payouts import PayoutRefused, clean_reference, pay_compensation, to_pay_on_case
from bot.workbench.photo_review import Verdict, review_photos
from rasa_adapter.project_files import responses
from tests.helpers.shop import NOW
from tests.unit.test_photo_review import LATER, Conversations, photographed_case

PAID_AT = LATER + timedelta(hours=3)


def granted(deps, tmp_path, amount=Decimal("8.00")):
    order, case = photographed_case(deps, tmp_path)
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.DISCOUNT, "小王", LATER,
                            Conversations(), amount=amount, problem="外盒压扁")
    return order, outcome


def said(reply):
    domain = responses()
    text = "".join(bubbles(reply, domain))
    assert "{" not in text and "}" not in text, text
    return text


def test_a_granted_discount_is_due_by_shop_yml_s_hours_and_the_customer_is_told_when(deps, tmp_path):
    order, outcome = granted(deps, tmp_path)
    [payout] = [p for p in deps.cases.promises(outcome.case.id) if p.kind == PromiseKind.PAYOUT]
    assert payout.due_at == LATER + timedelta(hours=deps.policy.payout_hours) and payout.kept_at is None
    reply = case_changed(deps.cases, deps.policy, outcome.case.id, CaseChange.COMPENSATION_GRANTED)
    _, words = round_promise(payout.due_at, deps.policy)
    assert reply.facts["pay_by"] == words and f"会在 {words}退回" in said(reply)
    # the order card: the due time, and the 「已打款」 button's data
    card = order_card(deps.store.get_order(order.order_id), [outcome.case], LATER, deps.policy,
                      compensations=compensations_of_order(deps.store, order.order_id),
                      payout_due=payout_due(deps.cases, [outcome.case.id]))
    [shown] = card["compensations"]
    assert (shown["id"], shown["payable"], shown["overdue"], shown["what"]) == (
        outcome.compensation.id, True, False, "折价补偿")
    assert shown["due"] and shown["paid_by"] is None


def test_paid_once_the_promise_is_kept_the_case_resolved_and_the_customer_told(deps, tmp_path):
    order, outcome = granted(deps, tmp_path)
    rasa = Conversations()
    paid = pay_compensation(deps.cases, deps.notes, outcome.compensation.id, "小李", PAID_AT, rasa,
                            clean_reference(" 2026112922001 "))
    given = paid.compensation
    assert (given.state, given.paid_by, given.paid_at, given.payment_ref) == (
        CompensationState.PAID, "小李", PAID_AT, "2026112922001")
    assert [p.kept_at for p in deps.cases.promises(outcome.case.id) if p.kind == PromiseKind.PAYOUT] == [PAID_AT]
    assert paid.case.state == CaseState.RESOLVED and paid.case.handler == "小李"
    assert "小李打款" in paid.case.next_step and "2026112922001" in paid.case.next_step
    assert rasa.said == [("r1", "EXTERNAL_case_changed",
                          {"case_id": str(outcome.case.id), "change": "compensation_paid"})]
    assert paid.notice.delivered
    reply = case_changed(deps.cases, deps.policy, outcome.case.id, CaseChange.COMPENSATION_PAID)
    text = said(reply)
    assert reply.response == COMPENSATION_PAID and order.order_id in text
    assert "折价补偿 ¥8.00" in text and "打款记录：2026112922001" in text
    # paid twice: refused, nothing changes, nobody told again
    with pytest.raises(PayoutRefused) as twice:
        pay_compensation(deps.cases, deps.notes, outcome.compensation.id, "小王", PAID_AT, rasa)
    assert twice.value.status == 409 and "paid already by 小李" in str(twice.value)
    assert len(rasa.said) == 1 and len(notices_of(deps.store, outcome.case.id)) == 2  # granted, paid
    [shown] = order_card(deps.store.get_order(order.order_id), [paid.case], PAID_AT, deps.policy,
                         compensations=compensations_of_order(deps.store, order.order_id))["compensations"]
    assert (shown["payable"], shown["state_text"], shown["paid_by"], shown["reference"]) == (
        False, "已打款", "小李", "2026112922001")


def test_without_a_reference_the_customer_reads_no_stand_in(deps, tmp_path):
    _, outcome = granted(deps, tmp_path)
    pay_compensation(deps.cases, deps.notes, outcome.compensation.id, "小李", PAID_AT, Conversations(up=False))
    [_, notice] = notices_of(deps.store, outcome.case.id)
    assert (notice.change, notice.delivered) == (CaseChange.COMPENSATION_PAID, False)  # said when they come back
    text = said(case_changed(deps.cases, deps.policy, outcome.case.id, CaseChange.COMPENSATION_PAID))
    assert "打款记录" not in text and "None" not in text and "已经打到您的付款账户，请注意查收" in text


def test_a_pending_or_denied_one_is_refused_with_why(deps, tmp_path):
    _, outcome = granted(deps, tmp_path, amount=deps.policy.compensation_cap + 1)
    pending = outcome.compensation
    assert pending.state == CompensationState.PENDING
    for attempt in range(2):
        with pytest.raises(PayoutRefused) as refused:
            pay_compensation(deps.cases, deps.notes, pending.id, "小李", PAID_AT, Conversations())
        assert refused.value.status == 409
        if attempt == 0:
            assert "waiting for a supervisor's approval" in str(refused.value)
            decide_owed(deps.cases, deps.policy, outcome.case.id, pending, False, "老张", LATER)
        else:
            assert "denied" in str(refused.value)
    # denied: nothing owed, no payout promise; the approval promise is kept
    kinds = {p.kind: p.kept_at for p in deps.cases.promises(outcome.case.id)}
    assert PromiseKind.PAYOUT not in kinds and kinds[PromiseKind.APPROVAL] == LATER
    with pytest.raises(PayoutRefused) as unknown:
        pay_compensation(deps.cases, deps.notes, 9999, "小李", PAID_AT, Conversations())
    assert unknown.value.status == 404


@pytest.mark.parametrize("raw", [7, "x" * 65, "{order_id}", "a\nb"])
def test_a_reference_is_one_short_line_of_text(raw):
    with pytest.raises(PayoutRefused) as bad:
        clean_reference(raw)
    assert bad.value.status == 400


def test_an_approved_discount_is_due_from_the_decision(deps, tmp_path):
    _, outcome = granted(deps, tmp_path, amount=Decimal("20.00"))
    decided_at = LATER + timedelta(hours=5)
    decided = decide_owed(deps.cases, deps.policy, outcome.case.id, outcome.compensation, True, "老张", decided_at)
    assert (decided.state, decided.decided_by) == (CompensationState.APPROVED, "老张")
    [due] = payout_due(deps.cases, [outcome.case.id]).values()
    assert due == decided_at + timedelta(hours=deps.policy.payout_hours)
    reply = case_changed(deps.cases, deps.policy, outcome.case.id, CaseChange.APPROVED)
    assert reply.response == GRANTED_PAYOUT and reply.facts["request"] == "折价补偿 ¥20.00"
    assert round_promise(due, deps.policy)[1] in said(reply)


def test_a_price_difference_asked_is_recorded_once_and_approved_is_owed(deps, tmp_path):
    order = deps.store.get_order("7700112233445566778")  # the kettle costs ¥40 less now
    reply = draft("price_drop_refund", order, NOW, deps.policy)
    assert reply.response == "utter_price_drop_approval"
    for _ in range(2):  # asked twice: one case, one record
        case = log_case(deps.cases, deps.notes, conversation="p1", intent="price_drop_refund", reply=reply,
                        order=order, now=NOW, policy=deps.policy)
    [asked] = compensations_of_case(deps.store, case.id)
    assert (asked.kind, asked.state, asked.amount, asked.offered_by) == (
        CompensationKind.PRICE_DIFFERENCE, CompensationState.PENDING, Decimal("40"), "assistant")
    assert "电热水壶" in asked.problem
    decide_owed(deps.cases, deps.policy, case.id, pending_for_case(deps.store, case.id), True, "老张", LATER)
    told = case_changed(deps.cases, deps.policy, case.id, CaseChange.APPROVED)
    assert told.response == GRANTED_PAYOUT and "退差价 ¥40.00" in said(told)
    paid = pay_compensation(deps.cases, deps.notes, to_pay_on_case(deps.cases, case.id), "小李", PAID_AT,
                            Conversations())
    assert paid.case.state == CaseState.RESOLVED
    assert "退差价 ¥40.00" in said(case_changed(deps.cases, deps.policy, case.id, CaseChange.COMPENSATION_PAID))


def asked_again(deps, now, text=""):
    """The customer asks for the 退差价 again: the reply drafted with the store, the case logged."""
    order = deps.store.get_order("7700112233445566778")
    reply = scenario_reply("price_drop_refund", order, now, deps.policy, deps.store, text, conversation="p1")
    case = log_case(deps.cases, deps.notes, conversation="p1", intent="price_drop_refund", reply=reply,
                    order=order, now=now, policy=deps.policy)
    return reply, case


@pytest.mark.parametrize("approved", [True, False])
def test_a_price_difference_asked_again_is_answered_from_its_record_not_put_to_approval(deps, approved):
    first, case = asked_again(deps, NOW)
    assert first.response == "utter_price_drop_approval"
    waiting, _ = asked_again(deps, NOW + timedelta(minutes=5), "差价什么时候退")
    assert waiting.response == "utter_price_drop_pending" and waiting.facts["difference"] == "¥40.00"
    assert [c.id for c in deps.cases.awaiting_approval()] == [case.id]  # still one request, one amount
    decide_owed(deps.cases, deps.policy, case.id, pending_for_case(deps.store, case.id), approved, "老张", LATER)
    if not approved:
        record_fact(deps.store, case.id, FactKind.DECISION_REASON, "活动价不参与保价", LATER)
    deps.cases.decide(case.id, approved, "老张", LATER, "decided")
    again, after = asked_again(deps, LATER + timedelta(hours=1), "为什么不给我退差价")
    assert after.id == case.id and deps.cases.awaiting_approval() == []
    assert len(compensations_of_case(deps.store, case.id)) == 1
    text = said(again)
    if approved:
        due = [p.due_at for p in deps.cases.promises(case.id) if p.kind == PromiseKind.PAYOUT]
        assert again.response == "utter_price_drop_approved" and after.state == CaseState.WAITING_SHOP
        assert "¥40.00" in text and round_promise(due[0], deps.policy)[1] in text
        pay_compensation(deps.cases, deps.notes, to_pay_on_case(deps.cases, case.id), "小李", PAID_AT,
                         Conversations(), reference="ALI555")
        paid, after = asked_again(deps, PAID_AT + timedelta(hours=1))
        assert paid.response == "utter_price_drop_paid" and "打款记录：ALI555" in said(paid)
        assert after.state == CaseState.RESOLVED and deps.cases.awaiting_approval() == []
    else:
        assert again.response == "utter_price_drop_denied" and after.state == CaseState.RESOLVED
        assert "活动价不参与保价" in text and "转人工" in text


def test_unpaid_past_its_time_is_overdue_in_cases_and_on_top_of_the_inbox(deps, tmp_path):
    _, outcome = granted(deps, tmp_path)
    case = outcome.case
    other = deps.cases.register(conversation_id="r2", intent="request_human", state=CaseState.ESCALATED,
                                next_step="", note="转人工", now=LATER)
    late = LATER + timedelta(hours=deps.policy.payout_hours, minutes=1)
    [due] = [d for d in deps.cases.due(late) if d.case.id == case.id]
    assert due.overdue and due.promise.kind == PromiseKind.PAYOUT
    broken = {d.case.id for d in deps.cases.due(late) if d.overdue}
    inbox = build_inbox(deps.cases.open_cases(), {}, [], late, deps.policy, broken=broken)
    assert [(e.conversation_id, e.reason) for e in inbox][0] == ("r1", "overdue")
    assert other.conversation_id in [e.conversation_id for e in inbox]
    url = str(deps.store.engine.url)
    at = (late + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")  # the shop's local time
    out = io.StringIO()
    assert main(["--db", url, "cases", "--at", at], out=out) == 0
    line = next(x for x in out.getvalue().splitlines() if x.startswith(f"#{case.id} "))
    assert "OVERDUE" in line and "payout" in line
    assert "折价补偿 ¥8.00（外盒压扁）: granted" in out.getvalue()
    # paid on the command line: no longer listed as open
    out = io.StringIO()
    assert main(["--db", url, "cases", "paid", str(case.id), "--reference", "ALI123", "--handler", "小李",
                 "--no-notice"], out=out) == 0
    assert "paid by 小李, reference ALI123; case resolved" in out.getvalue()
    out = io.StringIO()
    assert main(["--db", url, "cases", "--at", at], out=out) == 0
    assert f"#{case.id} " not in out.getvalue()


def test_the_command_line_says_why_it_cannot_pay(deps, tmp_path, capsys):
    _, outcome = granted(deps, tmp_path, amount=Decimal("30.00"))
    url = str(deps.store.engine.url)
    assert main(["--db", url, "cases", "paid", str(outcome.case.id), "--no-notice"], out=io.StringIO()) == 1
    assert "waiting for a supervisor's approval" in capsys.readouterr().err
    nothing = deps.cases.register(conversation_id="n", intent="track_parcel", state=CaseState.RESOLVED,
                                  next_step="", note="", now=NOW)
    assert main(["--db", url, "cases", "paid", str(nothing.id), "--no-notice"], out=io.StringIO()) == 1
    assert "no 折价 or 退差价" in capsys.readouterr().err
