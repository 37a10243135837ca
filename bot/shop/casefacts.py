"""What customers give on their open case (a return waybill number, a refund account)
and the notices telling them their case changed.

A refund account is kept in full only in ``case_facts``; every other place (replies,
logs, case notes, the CLI) shows ``mask_account``'s form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select, update

from bot.logmask import mask_email, mask_pii
from bot.shop.schema import CaseFact, CaseNotice
from bot.shop.store import OrderStore


class FactKind(str, enum.Enum):
    RETURN_WAYBILL = "return_waybill"  # the return parcel's waybill number
    REFUND_ACCOUNT = "refund_account"  # the Alipay account (phone or e-mail) a fee goes back to
    DECISION_REASON = "decision_reason"  # why a supervisor denied the case's request (told to the customer)
    PHOTO_REVIEW = "photo_review"  # an agent's verdict on the photos: approved, refused:<reason>, discount
    DISCOUNT_WISH = "discount_wish"  # the customer prefers a 折价 to a return (「补偿一点就行」)


class CaseChange(str, enum.Enum):
    """A change of a case the customer is told about."""

    RESOLVED = "resolved"  # the shop decided / did what the case asked
    PROMISE_KEPT = "promise_kept"  # a promise was kept (the courier answered, the order shipped ...)
    RETURN_ARRIVED = "return_arrived"  # the return parcel reached the warehouse
    APPROVED = "approved"  # a supervisor approved what the case asked (the shop acts now)
    DENIED = "denied"  # a supervisor denied it (the reason is the case's DECISION_REASON)
    # an agent looked at the photos (bot/workbench/photo_review.py)
    PHOTO_APPROVED = "photo_approved"  # a quality problem: the return address and the shop's fee rule
    PHOTO_REFUSED = "photo_refused"  # 不予办理, with its reason
    COMPENSATION_GRANTED = "compensation_granted"  # a 折价 within the cap, recorded
    COMPENSATION_PENDING = "compensation_pending"  # a 折价 above the cap, waiting for a supervisor
    COMPENSATION_PAID = "compensation_paid"  # money owed (折价, 退差价) was paid (bot/workbench/payouts.py)


@dataclass(frozen=True)
class FactRecord:
    case_id: int
    kind: FactKind
    value: str
    created_at: datetime


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    case_id: int
    conversation_id: str
    change: CaseChange
    delivered: bool
    created_at: datetime
    delivered_at: Optional[datetime] = None  # when the customer was told


def mask_account(value: str) -> str:
    """An account as it may be shown: 138****5678, z***@qq.com, or its ends only."""
    masked = mask_email(mask_pii(value))
    if masked != value:
        return masked
    return f"{value[:2]}****{value[-2:]}" if len(value) > 4 else "****"


def record_fact(store: OrderStore, case_id: int, kind: FactKind, value: str, now: datetime) -> FactRecord:
    with store.transaction() as s:
        s.add(CaseFact(case_id=case_id, kind=kind.value, value=value, created_at=now))
    return FactRecord(case_id, kind, value, now)


def facts_of(store: OrderStore, case_id: int, kind: Optional[FactKind] = None) -> List[FactRecord]:
    """A case's facts, oldest first (the last one of a kind is the one that counts)."""
    query = select(CaseFact).where(CaseFact.case_id == case_id)
    if kind is not None:
        query = query.where(CaseFact.kind == kind.value)
    with store.session() as s:
        rows = s.execute(query.order_by(CaseFact.id)).scalars()
        return [FactRecord(r.case_id, FactKind(r.kind), r.value, r.created_at) for r in rows]


def record_notice(store: OrderStore, case_id: int, conversation_id: str, change: CaseChange,
                  delivered: bool, now: datetime) -> NoticeRecord:
    with store.transaction() as s:
        row = CaseNotice(case_id=case_id, conversation_id=conversation_id, change=change.value,
                         delivered=delivered, created_at=now, delivered_at=now if delivered else None)
        s.add(row)
        s.flush()
        return _notice(row)


def pending_notices(store: OrderStore, conversation_id: Optional[str] = None) -> List[NoticeRecord]:
    """The notices not yet told (of one conversation, or all), the oldest first."""
    query = select(CaseNotice).where(CaseNotice.delivered.is_(False))
    if conversation_id is not None:
        query = query.where(CaseNotice.conversation_id == conversation_id)
    with store.session() as s:
        return [_notice(r) for r in s.execute(query.order_by(CaseNotice.id)).scalars()]


def claim_notice(store: OrderStore, notice_id: int, now: datetime) -> bool:
    """Mark a pending notice told, before telling it: True for the one caller that got it
    (two Rasa instances, the command line and a customer's message never tell it twice)."""
    with store.transaction() as s:
        done = s.execute(update(CaseNotice).where(CaseNotice.id == notice_id, CaseNotice.delivered.is_(False))
                         .values(delivered=True, delivered_at=now))
        return bool(done.rowcount == 1)


def unclaim_notice(store: OrderStore, notice_id: int) -> None:
    """Telling a claimed notice failed: it is pending again."""
    with store.transaction() as s:
        s.execute(update(CaseNotice).where(CaseNotice.id == notice_id).values(delivered=False, delivered_at=None))


def notices_of(store: OrderStore, case_id: int) -> List[NoticeRecord]:
    with store.session() as s:
        rows = s.execute(select(CaseNotice).where(CaseNotice.case_id == case_id).order_by(CaseNotice.id))
        return [_notice(r) for r in rows.scalars()]


def _notice(row: CaseNotice) -> NoticeRecord:
    return NoticeRecord(row.id, row.case_id, row.conversation_id, CaseChange(row.change),
                        bool(row.delivered), row.created_at, row.delivered_at)
