"""Supervisors' approvals: the decision and the customer's message go together or not at all."""

import pytest

from bot.shop.cases import CaseLog, CaseState
from bot.shop.compensation import CompensationKind, record_offer
from bot.workbench.approvals import (
    DENIED,
    GRANTED,
    decision_note,
    decision_reply,
    nothing_to_decide,
)
from tests.helpers.shop import NOW


def pending(store):
    log = CaseLog(store)
    case = log.register(conversation_id="c1", intent="price_drop_refund", state=CaseState.NEEDS_APPROVAL,
                        next_step="请主管审批退差价", note="降价", now=NOW, order_id="7700112233445566778")
    return log, case


def test_an_approval_is_told_and_logged(store):
    log, case = pending(store)
    assert [c.id for c in log.awaiting_approval()] == [case.id]
    told = []
    decided = log.decide(case.id, True, "laozhang", NOW, decision_note(True, "laozhang", ""), told.append)
    assert decided.state == CaseState.WAITING_SHOP and decided.handler == "laozhang"
    assert told == [decided] and log.awaiting_approval() == []
    assert log.decide(case.id, False, "laozhang", NOW, "x", told.append) is None  # decided already
    reply = decision_reply(decided, True, "")
    assert reply.response == GRANTED and reply.facts == {"order_id": "7700112233445566778", "request": "退差价"}


def test_a_denial_names_its_reason(store):
    log, case = pending(store)
    reply = decision_reply(case, False, "活动价不参与保价")
    assert reply.response == DENIED and reply.facts["reason"] == "活动价不参与保价"
    assert "未批准：活动价不参与保价" in decision_note(False, "laozhang", "活动价不参与保价")


def test_if_the_customer_cannot_be_told_the_case_stays_as_it_was(store):
    log, case = pending(store)

    def unreachable(_):
        raise RuntimeError("Rasa is down")

    with pytest.raises(RuntimeError):
        log.decide(case.id, True, "laozhang", NOW, "批准", unreachable)
    again = log.get(case.id)
    assert again.state == CaseState.NEEDS_APPROVAL and again.handler == "assistant"


def test_a_money_case_without_a_pending_amount_has_nothing_to_decide(store):
    log, case = pending(store)
    assert nothing_to_decide(case, None)  # a 退差价 with nothing pending: refused (409)
    asked = record_offer(store, case.id, case.order_id, "电热水壶", 40, "assistant", True, NOW,
                         kind=CompensationKind.PRICE_DIFFERENCE)
    assert not nothing_to_decide(case, asked)
    other = log.register(conversation_id="c1", intent="missing_item", state=CaseState.NEEDS_APPROVAL,
                         next_step="请主管审批补发", note="少件", now=NOW, order_id=case.order_id)
    assert not nothing_to_decide(other, None)  # a 补发 is not money: decided as it is
