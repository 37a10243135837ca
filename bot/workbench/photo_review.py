"""An agent looks at the customer's photos (the case waits in the inbox as 照片待审核)
and gives a verdict (001: 审查后插旗备注):

- approve: a quality problem (or the wrong item) is confirmed; the order is noted, the
  handling promise stands, and only now is the customer told the return address and
  that the shop pays the return shipping;
- refuse: 不予办理, with one of the manual's reasons, told kindly;
- discount: a 折价 instead of a return, recorded (what, how much, who, when); up to the
  shop's cap it is granted (to be paid by the case's ``payout`` promise, told to the
  customer), above it the case waits for a supervisor (web/approvals.py).

Everything is recorded before the customer is told (bot/playbook/followups.tell_case_changed);
the message is read back from the record (bot/playbook/verdicts.py). The case's state, next
step, promise and the order's note come from case_notes.yml, by the response that tells
the customer (utter_case_photo_approved, ...).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Callable, Dict, Optional

from bot.playbook.casenotes import CaseNote, CaseNotes, promise_terms
from bot.playbook.evidence import PHOTO_REVIEW_STEP as PHOTO_REVIEW_STEP
from bot.playbook.evidence import awaiting_review
from bot.playbook.facts import fmt_money
from bot.playbook.followups import tell_case_changed
from bot.playbook.policy import ShopPolicy, compensation_needs_approval
from bot.playbook.scenarios import Reply
from bot.playbook.triage import REFUSALS
from bot.playbook.verdicts import (
    APPROVED,
    COMPENSATION_GRANTED,
    COMPENSATION_PENDING,
    DISCOUNT,
    PHOTO_REFUSED,
    REFUSED_PREFIX,
    approval_response,
    refusal_response,
)
from bot.shop.casefacts import CaseChange, FactKind, NoticeRecord, record_fact
from bot.shop.cases import CaseLog, CaseRecord
from bot.shop.compensation import CompensationRecord, record_offer
from bot.shop.store import OrderFacts

# the order note of a confirmed problem (插旗备注)
CONFIRMED_NOTE = "photo_confirmed"
MAX_PROBLEM = 200

Say = Callable[[str, str, Dict[str, str]], bool]


class Verdict(str, enum.Enum):
    APPROVE = "approve"
    REFUSE = "refuse"
    DISCOUNT = "discount"


class ReviewRefused(ValueError):
    """A verdict that cannot be given; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReviewOutcome:
    case: CaseRecord
    notice: Optional[NoticeRecord]  # the customer told (delivered) or to be told again
    compensation: Optional[CompensationRecord] = None


def parse_amount(raw: object) -> Decimal:
    """A compensation amount in yuan: positive, at most two decimals."""
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ReviewRefused(400, "amount must be a number of yuan") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ReviewRefused(400, "amount must be positive, in yuan with at most two decimals")
    return amount


def review_photos(cases: CaseLog, notes: CaseNotes, policy: ShopPolicy, case_id: int, verdict: Verdict,
                  agent: str, now: datetime, say: Say, reason: str = "", amount: Optional[Decimal] = None,
                  problem: str = "") -> ReviewOutcome:
    """Record ``agent``'s verdict on the case's photos, then tell the customer."""
    case = cases.get(case_id)
    if case is None:
        raise ReviewRefused(404, f"no case {case_id}")
    if not awaiting_review(case):
        raise ReviewRefused(409, f"case {case_id} has no photos waiting for a review")
    store = cases.store
    order = store.get_order(case.order_id) if case.order_id else None
    compensation: Optional[CompensationRecord] = None

    def noted(response: str, **facts: str) -> CaseNote:
        """The case note of the verdict told with ``response`` (case_notes.yml)."""
        return notes.for_reply(Reply(response, {"agent": agent, **facts}))

    if verdict == Verdict.APPROVE:
        note = noted(approval_response(case), handling_days=str(policy.handling_days))
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, APPROVED, now)
        _promise(cases, case_id, note, order, now, policy)
        if case.order_id:
            store.add_note(case.order_id, CONFIRMED_NOTE, note.note, now, author=agent)
        cases.move_on(case_id, note.state, note.next_step, now)
        change = CaseChange.PHOTO_APPROVED
    elif verdict == Verdict.REFUSE:
        if reason not in REFUSALS:
            raise ReviewRefused(400, f"reason must be one of {', '.join(REFUSALS)}")
        if reason == "opened" and not (order and any(i.name in policy.unopened_only for i in order.goods)):
            raise ReviewRefused(400, "opened: the order has no goods shop.yml returns only unopened")
        note = noted(PHOTO_REFUSED, reason=notes.reason(refusal_response(reason)))
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, REFUSED_PREFIX + reason, now)
        cases.resolve(case_id, note.next_step, now, handler=agent)
        change = CaseChange.PHOTO_REFUSED
    else:
        if amount is None:
            raise ReviewRefused(400, "a discount needs an amount")
        what = problem.strip()
        if not what or len(what) > MAX_PROBLEM or "{" in what or "}" in what:
            raise ReviewRefused(400, f"a discount needs the problem it is for (1-{MAX_PROBLEM} characters)")
        if order is not None and amount > order.amount_paid:
            raise ReviewRefused(400, f"the discount is more than the order's ¥{order.amount_paid:.2f}")
        needs = compensation_needs_approval(amount, policy)
        note = noted(COMPENSATION_PENDING if needs else COMPENSATION_GRANTED, amount=fmt_money(amount),
                     problem=what, cap=fmt_money(policy.compensation_cap),
                     payout_hours=str(policy.payout_hours))
        compensation = record_offer(store, case_id, case.order_id, what, amount, agent, needs, now)
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, DISCOUNT, now)
        _promise(cases, case_id, note, order, now, policy)
        cases.move_on(case_id, note.state, note.next_step, now)
        change = CaseChange.COMPENSATION_PENDING if needs else CaseChange.COMPENSATION_GRANTED
    notice = tell_case_changed(cases, store, case_id, change, say, now)
    updated = cases.get(case_id)
    assert updated is not None
    return ReviewOutcome(updated, notice, compensation)


def _promise(cases: CaseLog, case_id: int, note: CaseNote, order: Optional[OrderFacts], now: datetime,
             policy: ShopPolicy) -> None:
    """The promise the verdict's case note names (case_notes.yml ``promise``), on the case."""
    for terms in promise_terms(note.promise, order, now, policy):
        cases.promise(case_id, terms, now)
