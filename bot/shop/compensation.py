"""折价 (001 淘宝售后流程): a partial refund for a minor quality problem instead of a
return, recorded with what it is for, how much, who offered it and when; above the
shop's cap (compensation.max_without_approval, the shipping fee) a supervisor decides,
and who decided and when is recorded too. The customer is told only what is recorded."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import List, Optional

from sqlalchemy import select

from bot.shop.schema import Compensation
from bot.shop.store import OrderStore


class CompensationState(str, enum.Enum):
    GRANTED = "granted"  # within the cap: granted by the agent who offered it
    PENDING = "pending"  # above the cap: waiting for a supervisor
    APPROVED = "approved"  # above the cap, approved by a supervisor
    DENIED = "denied"  # above the cap, denied by a supervisor


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

    @property
    def to_be_paid(self) -> bool:
        return self.state in (CompensationState.GRANTED, CompensationState.APPROVED)


def _record(row: Compensation) -> CompensationRecord:
    return CompensationRecord(row.id, row.case_id, row.order_id, row.problem, row.amount,
                              CompensationState(row.state), row.offered_by, row.offered_at,
                              row.decided_by, row.decided_at)


def record_offer(store: OrderStore, case_id: int, order_id: Optional[str], problem: str, amount: Decimal,
                 agent: str, needs_approval: bool, now: datetime) -> CompensationRecord:
    """Record a compensation offered on a case: granted, or pending a supervisor."""
    state = CompensationState.PENDING if needs_approval else CompensationState.GRANTED
    with store.transaction() as s:
        row = Compensation(case_id=case_id, order_id=order_id, problem=problem, amount=amount,
                           state=state.value, offered_by=agent, offered_at=now)
        s.add(row)
        s.flush()
        return _record(row)


def pending_for_case(store: OrderStore, case_id: int) -> Optional[CompensationRecord]:
    """The case's compensation waiting for a supervisor, if any."""
    with store.session() as s:
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


def compensations_of_order(store: OrderStore, order_id: str) -> List[CompensationRecord]:
    """Every compensation recorded on an order's cases, oldest first (the order card)."""
    with store.session() as s:
        rows = s.execute(select(Compensation).where(Compensation.order_id == order_id)
                         .order_by(Compensation.id)).scalars()
        return [_record(r) for r in rows]
