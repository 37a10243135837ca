"""Money the shop owes a customer (a granted 折价, an approved 退差价), as a promise the
shop can track: when it is due (shop.yml ``compensation.pay_within_hours``, the case's
``payout`` promise: one record, read by the order card, the inbox and ``cases``), and what
the customer is told of it, read from the record: the time it will be paid, then that it
was paid (with the transfer's reference, 001: 打后给顾客发送打款记录).

The 退差价 a customer asks for is recorded when the case is logged (case_notes.yml
``owes: price_difference`` on the reply that submits it), pending a supervisor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Iterable, Optional

from sqlalchemy.orm import Session

from bot.playbook.context import PriceDifferenceAsked
from bot.playbook.facts import fmt_money, price_difference, price_items, round_promise
from bot.playbook.policy import ShopPolicy, payout_deadline
from bot.playbook.scenarios import Reply
from bot.shop.casefacts import FactKind, facts_of
from bot.shop.cases import CaseLog, PromiseKind, PromiseRecord, PromiseTerms
from bot.shop.compensation import (
    CompensationKind,
    CompensationRecord,
    CompensationState,
    compensations_of_case,
    compensations_of_order,
    decide,
    latest_paid_for_case,
    record_offer,
)
from bot.shop.store import OrderFacts, OrderStore

COMPENSATION_PAID = "utter_case_compensation_paid"
# what the money is, in the customer's words
WHAT = {CompensationKind.DISCOUNT: "折价补偿", CompensationKind.PRICE_DIFFERENCE: "退差价"}
# who records a 退差价 the customer asked for (a supervisor decides it)
ASSISTANT = "assistant"


def what_is_owed(given: CompensationRecord) -> str:
    """「折价补偿 ¥8.00」, 「退差价 ¥40.00」."""
    return f"{WHAT[given.kind]} {fmt_money(given.amount)}"


def promise_payout(cases: CaseLog, case_id: int, now: datetime, policy: ShopPolicy) -> PromiseRecord:
    """The case's ``payout`` promise (made now if none is open: a second grant on the same
    case keeps the time already given)."""
    return cases.promise(case_id, PromiseTerms(PromiseKind.PAYOUT, due_at=payout_deadline(now, policy)), now)


def decide_owed(cases: CaseLog, policy: ShopPolicy, case_id: int, pending: Optional[CompensationRecord],
                approved: bool, supervisor: str, now: datetime) -> Optional[CompensationRecord]:
    """A supervisor decided case ``case_id``; ``pending`` is the money it waited with (a 折价
    above the cap, a 退差价), if any: who and when go on the money's record and, approved,
    it is owed by a time (the payout promise). The approval promise is kept either way."""
    cases.keep(case_id, PromiseKind.APPROVAL, now)
    decided = decide(cases.store, pending.id, approved, supervisor, now) if pending is not None else None
    if decided is not None and approved:
        promise_payout(cases, case_id, now, policy)
    return decided


def pay_by(cases: CaseLog, policy: ShopPolicy, case_id: int) -> Optional[str]:
    """When the case's money will be paid, as the customer is told it (rounded up:
    「11月23日下午6点前」); None without an open payout promise."""
    due = [p.due_at for p in cases.promises(case_id)
           if p.kind == PromiseKind.PAYOUT and p.kept_at is None and p.due_at is not None]
    return round_promise(min(due), policy)[1] if due else None


def payout_due(cases: CaseLog, case_ids: Iterable[int]) -> Dict[int, datetime]:
    """When each case's money is due (its open payout promise), for the order card."""
    due: Dict[int, datetime] = {}
    for case_id in set(case_ids):
        for p in cases.promises(case_id):
            if p.kind == PromiseKind.PAYOUT and p.kept_at is None and p.due_at is not None:
                due[case_id] = min(p.due_at, due.get(case_id, p.due_at))
    return due


def record_price_difference(store: OrderStore, case_id: int, order: OrderFacts, now: datetime,
                            session: Optional[Session] = None) -> Optional[CompensationRecord]:
    """The 退差价 a customer asked for, recorded pending a supervisor; None when the case has
    one already (not denied): asking again never owes it twice."""
    have = [c for c in compensations_of_case(store, case_id, session)
            if c.kind == CompensationKind.PRICE_DIFFERENCE and c.state != CompensationState.DENIED]
    dropped, difference = price_difference(order)
    if have or difference <= 0:
        return None
    return record_offer(store, case_id, order.order_id, price_items(dropped)[:200], difference, ASSISTANT,
                        True, now, kind=CompensationKind.PRICE_DIFFERENCE, session=session)


def price_difference_asked(cases: CaseLog, order_id: str) -> Optional[PriceDifferenceAsked]:
    """The order's 退差价 asked last, as its record stands (pending, approved with its pay-by
    time, paid, or denied with the supervisor's reason); None when none was asked."""
    asked = [c for c in compensations_of_order(cases.store, order_id) if c.kind == CompensationKind.PRICE_DIFFERENCE]
    if not asked:
        return None
    last = asked[-1]
    due = [p.due_at for p in cases.promises(last.case_id)
           if p.kind == PromiseKind.PAYOUT and p.kept_at is None and p.due_at is not None]
    reasons = [f.value for f in facts_of(cases.store, last.case_id, FactKind.DECISION_REASON)]
    return PriceDifferenceAsked(
        state=last.state, amount=last.amount, decided_at=last.decided_at, pay_due=min(due) if due else None,
        paid_at=last.paid_at, reference=last.payment_ref,
        reason=reasons[-1] if reasons and last.state == CompensationState.DENIED else None)


def paid_reply(cases: CaseLog, case_id: int) -> Optional[Reply]:
    """What tells the customer their money was paid: the case's compensation paid last;
    None when nothing recorded backs it."""
    case = cases.get(case_id)
    paid = latest_paid_for_case(cases.store, case_id) if case is not None else None
    if case is None or paid is None:
        return None
    reference = f"，打款记录：{paid.payment_ref}" if paid.payment_ref else ""
    return Reply(COMPENSATION_PAID, {"order_id": case.order_id or "", "request": what_is_owed(paid),
                                     "reference": reference})
