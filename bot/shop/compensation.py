"""Money the shop owes a customer on a case, recorded: a 折价 (001 淘宝售后流程: a partial
refund for a minor quality problem instead of a return) or a 退差价 (000: a price
difference, always a supervisor's). What it is for, how much, who offered it and when;
above the shop's cap (compensation.max_without_approval, the shipping fee) a supervisor
decides, and who decided and when is recorded too. Once granted it is to be paid (the
case's ``payout`` promise says by when); ``mark_paid`` records who paid it, when and the
transfer's reference. The customer is told only what is recorded."""

from __future__ import annotations

import enum
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import List, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.shop.schema import Compensation
from bot.shop.store import OrderStore


class CompensationState(str, enum.Enum):
    GRANTED = "granted"  # within the cap: granted by the agent who offered it
    PENDING = "pending"  # above the cap: waiting for a supervisor
    APPROVED = "approved"  # above the cap, approved by a supervisor
    DENIED = "denied"  # above the cap, denied by a supervisor
    PAID = "paid"  # granted or approved, then paid (who, when, the reference)


# the states of money the shop owes and has not paid yet
TO_BE_PAID = (CompensationState.GRANTED, CompensationState.APPROVED)


class CompensationKind(str, enum.Enum):
    DISCOUNT = "discount"  # 折价: offered by an agent after a look at the photos
    PRICE_DIFFERENCE = "price_difference"  # 退差价: asked by the customer, a supervisor's


@dataclass(frozen=True)
class CompensationRecord:
    id: int
    case_id: int
    order_id: Optional[str]
    problem: str
    amount: Decimal
    state: CompensationState
    offered_by: str
    offered_at: datetime
    decided_by: Optional[str]
    decided_at: Optional[datetime]
    kind: CompensationKind = CompensationKind.DISCOUNT
    paid_by: Optional[str] = None
    paid_at: Optional[datetime] = None
    payment_ref: Optional[str] = None

    @property
    def to_be_paid(self) -> bool:
        return self.state in TO_BE_PAID


def _record(row: Compensation) -> CompensationRecord:
    return CompensationRecord(row.id, row.case_id, row.order_id, row.problem, row.amount,
                              CompensationState(row.state), row.offered_by, row.offered_at,
                              row.decided_by, row.decided_at,
                              CompensationKind(row.kind or CompensationKind.DISCOUNT.value),
                              row.paid_by, row.paid_at, row.payment_ref)


def record_offer(store: OrderStore, case_id: int, order_id: Optional[str], problem: str, amount: Decimal,
                 agent: str, needs_approval: bool, now: datetime,
                 kind: CompensationKind = CompensationKind.DISCOUNT,
                 session: Optional[Session] = None) -> CompensationRecord:
    """Record a compensation offered on a case: granted, or pending a supervisor (in
    ``session``'s transaction if given)."""
    state = CompensationState.PENDING if needs_approval else CompensationState.GRANTED
    with (nullcontext(session) if session is not None else store.transaction()) as s:
        row = Compensation(case_id=case_id, order_id=order_id, problem=problem, amount=amount,
                           state=state.value, offered_by=agent, offered_at=now, kind=kind.value)
        s.add(row)
        s.flush()
        return _record(row)


def get(store: OrderStore, compensation_id: int) -> Optional[CompensationRecord]:
    with store.session() as s:
        row = s.get(Compensation, compensation_id)
        return _record(row) if row is not None else None


def mark_paid(store: OrderStore, compensation_id: int, agent: str, now: datetime,
              reference: Optional[str] = None) -> Optional[CompensationRecord]:
    """Record that money owed was paid: by whom, when, the transfer's reference. None when it
    is not owed (unknown, pending, denied, or paid already): it is paid at most once."""
    owed = [s.value for s in TO_BE_PAID]
    with store.transaction() as s:
        done = s.execute(update(Compensation).where(Compensation.id == compensation_id,
                                                    Compensation.state.in_(owed))
                         .values(state=CompensationState.PAID.value, paid_by=agent, paid_at=now,
                                 payment_ref=reference or None))
        if done.rowcount != 1:
            return None
        return _record(s.get(Compensation, compensation_id))


def unpaid_of_case(store: OrderStore, case_id: int) -> List[CompensationRecord]:
    """The case's money granted or approved and not paid yet, oldest first."""
    with store.session() as s:
        rows = s.execute(select(Compensation).where(
            Compensation.case_id == case_id, Compensation.state.in_([x.value for x in TO_BE_PAID]),
        ).order_by(Compensation.id)).scalars()
        return [_record(r) for r in rows]


def pending_for_case(store: OrderStore, case_id: int,
                     session: Optional[Session] = None) -> Optional[CompensationRecord]:
    """The case's compensation waiting for a supervisor, if any."""
    with (nullcontext(session) if session is not None else store.session()) as s:
        row = s.execute(select(Compensation).where(
            Compensation.case_id == case_id, Compensation.state == CompensationState.PENDING.value,
        ).order_by(Compensation.id.desc())).scalar()
        return _record(row) if row is not None else None


def decide(store: OrderStore, compensation_id: int, approved: bool, supervisor: str,
           now: datetime) -> Optional[CompensationRecord]:
    """A supervisor's decision on a pending compensation; None if it is not pending."""
    with store.transaction() as s:
        row = s.get(Compensation, compensation_id)
        if row is None or row.state != CompensationState.PENDING.value:
            return None
        row.state = (CompensationState.APPROVED if approved else CompensationState.DENIED).value
        row.decided_by, row.decided_at = supervisor, now
        s.flush()
        return _record(row)


def latest_for_case(store: OrderStore, case_id: int) -> Optional[CompensationRecord]:
    with store.session() as s:
        row = s.execute(select(Compensation).where(Compensation.case_id == case_id)
                        .order_by(Compensation.id.desc())).scalar()
        return _record(row) if row is not None else None


def latest_paid_for_case(store: OrderStore, case_id: int) -> Optional[CompensationRecord]:
    """The case's compensation paid last (what a ``compensation_paid`` notice tells)."""
    with store.session() as s:
        row = s.execute(select(Compensation).where(
            Compensation.case_id == case_id, Compensation.state == CompensationState.PAID.value,
        ).order_by(Compensation.paid_at.desc(), Compensation.id.desc())).scalar()
        return _record(row) if row is not None else None


def compensations_of_case(store: OrderStore, case_id: int,
                          session: Optional[Session] = None) -> List[CompensationRecord]:
    with (nullcontext(session) if session is not None else store.session()) as s:
        rows = s.execute(select(Compensation).where(Compensation.case_id == case_id)
                         .order_by(Compensation.id)).scalars()
        return [_record(r) for r in rows]


def compensations_of_order(store: OrderStore, order_id: str) -> List[CompensationRecord]:
    """Every compensation recorded on an order's cases, oldest first (the order card)."""
    with store.session() as s:
        rows = s.execute(select(Compensation).where(Compensation.order_id == order_id)
                         .order_by(Compensation.id)).scalars()
        return [_record(r) for r in rows]
