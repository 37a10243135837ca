"""Supervisors' approvals: what the customer is told of a decision on their case."""

from __future__ import annotations

from typing import Optional

from bot.playbook.payouts import what_is_owed
from bot.playbook.scenarios import Reply
from bot.shop.cases import CaseRecord
from bot.shop.compensation import CompensationRecord

# what the customer asked for, by the case's intent (the cases case_notes.yml sends to a supervisor)
REQUESTS = {"price_drop_refund": "退差价", "missing_item": "补发"}
GRANTED, DENIED = "utter_approval_granted", "utter_approval_denied"
# approved money (a 折价 above the cap, a 退差价): the time it will be paid is said
GRANTED_PAYOUT = "utter_approval_granted_payout"
# the cases whose approval is money (case_notes.yml ``owes:``): without a pending amount
# there is nothing to approve, and telling the customer "approved" would promise nothing
OWES_MONEY = frozenset({"price_drop_refund"})


def nothing_to_decide(case: CaseRecord, pending: Optional[CompensationRecord]) -> bool:
    """Whether a decision on ``case`` would decide nothing: it asks for money and none is
    pending (decided already, or never recorded)."""
    return case.intent in OWES_MONEY and pending is None


def decision_note(approved: bool, supervisor: str, reason: str) -> str:
    """The case log's words for the decision."""
    return f"主管{supervisor}已批准" if approved else f"主管{supervisor}未批准：{reason}"


def compensation_request(compensation: Optional[CompensationRecord]) -> Optional[str]:
    """What money put to a supervisor asked for, in the customer's words (None: none)."""
    return what_is_owed(compensation) if compensation is not None else None


def decision_reply(case: CaseRecord, approved: bool, reason: str, request: Optional[str] = None,
                   pay_by: Optional[str] = None) -> Reply:
    """The message that tells the customer the decision, in their conversation; ``request``
    names what was asked when it is not the case's usual one (money: a 折价, a 退差价), and
    ``pay_by`` when approved money will be paid (the case's payout promise)."""
    facts = {"order_id": case.order_id or "", "request": request or REQUESTS.get(case.intent, "售后")}
    if approved and pay_by:
        return Reply(GRANTED_PAYOUT, {**facts, "pay_by": pay_by})
    return Reply(GRANTED, facts) if approved else Reply(DENIED, {**facts, "reason": reason})
