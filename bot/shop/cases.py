"""The case log (交接记录): every after-sales case, for the next shift to follow up."""

from __future__ import annotations

import enum
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.shop.schema import Case
from bot.shop.store import OrderStore


class CaseState(str, enum.Enum):
    RESOLVED = "resolved"  # answered; nothing left to do unless the customer comes back
    WAITING_CUSTOMER = "waiting_customer"  # photos, a return parcel, a new address ...
    WAITING_SHOP = "waiting_shop"  # the warehouse, the courier or finance must act
    NEEDS_APPROVAL = "needs_approval"  # a supervisor must approve (reissue, price difference)
    ESCALATED = "escalated"  # handed to a human agent or a supervisor
    CLOSED = "closed"


@dataclass(frozen=True)
class CaseRecord:
    id: int
    conversation_id: str
    order_id: Optional[str]
    buyer_account: Optional[str]
    intent: str
    state: CaseState
    next_step: str
    note: str
    customer_message: Optional[str]
    handler: str
    rating: Optional[int]
    created_at: datetime
    updated_at: datetime


def _record(case: Case) -> CaseRecord:
    return CaseRecord(
        id=case.id,
        conversation_id=case.conversation_id,
        order_id=case.order_id,
        buyer_account=case.buyer_account,
        intent=case.intent,
        state=CaseState(case.state),
        next_step=case.next_step,
        note=case.note,
        customer_message=case.customer_message,
        handler=case.handler,
        rating=case.rating,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )


class CaseLog:
    """Registers and updates cases in the shop database (the store's engine)."""

    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def register(
        self,
        *,
        conversation_id: str,
        intent: str,
        state: CaseState,
        next_step: str,
        note: str,
        now: datetime,
        order_id: Optional[str] = None,
        buyer_account: Optional[str] = None,
        handler: str = "assistant",
        customer_message: Optional[str] = None,
        session: Optional[Session] = None,
    ) -> CaseRecord:
        """Open a case, or update the open one for the same conversation, order and intent.

        Saying the same thing twice updates one case; it never opens a second.
        With ``session`` the case is written in the caller's transaction (committed
        or rolled back together with the caller's other writes).
        """
        with (nullcontext(session) if session is not None else self.store.transaction()) as s:
            case = s.execute(
                select(Case).where(
                    Case.conversation_id == conversation_id,
                    Case.intent == intent,
                    Case.order_id.is_(None) if order_id is None else Case.order_id == order_id,
                    Case.state != CaseState.CLOSED.value,
                )
            ).scalar()
            if case is None:
                case = Case(conversation_id=conversation_id, intent=intent, created_at=now)
                s.add(case)
            case.order_id = order_id
            case.buyer_account = buyer_account
            case.state = state.value
            case.next_step = next_step
            case.note = note
            case.handler = handler
            case.updated_at = now
            if customer_message is not None:
                case.customer_message = customer_message
            s.flush()
            return _record(case)

    def get(self, case_id: int) -> Optional[CaseRecord]:
        with self.store.session() as s:
            case = s.get(Case, case_id)
            return _record(case) if case else None

    def open_cases(self) -> List[CaseRecord]:
        with self.store.session() as s:
            cases = s.execute(
                select(Case).where(Case.state != CaseState.CLOSED.value).order_by(Case.updated_at)
            ).scalars()
            return [_record(c) for c in cases]

    def cases_for_order(self, order_id: str) -> List[CaseRecord]:
        with self.store.session() as s:
            cases = s.execute(
                select(Case).where(Case.order_id == order_id).order_by(Case.updated_at.desc())
            ).scalars()
            return [_record(c) for c in cases]

    def cases_for_conversation(self, conversation_id: str) -> List[CaseRecord]:
        with self.store.session() as s:
            cases = s.execute(
                select(Case).where(Case.conversation_id == conversation_id).order_by(Case.updated_at.desc())
            ).scalars()
            return [_record(c) for c in cases]

    def hand_to(self, conversation_id: str, handler: str, now: datetime) -> int:
        """A human agent handles this conversation's open cases now: the case log names them."""
        with self.store.session() as s, s.begin():
            cases = s.execute(select(Case).where(
                Case.conversation_id == conversation_id, Case.state != CaseState.CLOSED.value,
                Case.handler != handler)).scalars().all()
            for case in cases:
                case.handler = handler
                case.updated_at = now
            return len(cases)

    def resolve_handover(self, conversation_id: str, handler: str, now: datetime, note: str,
                         intents: Tuple[str, ...]) -> int:
        """The agent gave the conversation back: its open hand-over cases (``intents``)
        are resolved by ``handler``, with ``note`` added."""
        with self.store.session() as s, s.begin():
            cases = s.execute(select(Case).where(
                Case.conversation_id == conversation_id, Case.intent.in_(intents),
                Case.state == CaseState.ESCALATED.value)).scalars().all()
            for case in cases:
                case.state = CaseState.RESOLVED.value
                case.handler = handler
                case.note = f"{case.note}（{note}）" if case.note else note
                case.updated_at = now
            return len(cases)

    def latest_change(self) -> Tuple[Optional[datetime], int]:
        """When a case last changed, and how many there are: a cheap mark of any change."""
        with self.store.session() as s:
            latest, count = s.execute(select(func.max(Case.updated_at), func.count(Case.id))).one()
            return latest, int(count)

    def awaiting_approval(self) -> List[CaseRecord]:
        """The supervisors' queue: open cases that need an approval, the oldest first."""
        return [c for c in self.open_cases() if c.state == CaseState.NEEDS_APPROVAL]

    def decide(self, case_id: int, approved: bool, handler: str, now: datetime, note: str,
               before_commit: Callable[[CaseRecord], None]) -> Optional[CaseRecord]:
        """A supervisor's decision on a case awaiting approval: approved, the shop acts
        (waiting_shop); denied, it is resolved. ``before_commit`` (telling the customer)
        runs inside the transaction: if it raises, the case stays as it was. None when
        the case is not awaiting approval (unknown, or decided already)."""
        with self.store.transaction() as s:
            case = s.get(Case, case_id)
            if case is None or case.state != CaseState.NEEDS_APPROVAL.value:
                return None
            case.state = (CaseState.WAITING_SHOP if approved else CaseState.RESOLVED).value
            case.handler = handler
            case.note = f"{case.note}（{note}）"
            case.updated_at = now
            s.flush()
            record = _record(case)
            before_commit(record)
            return record

    def close(self, case_id: int, now: datetime, handler: Optional[str] = None) -> bool:
        with self.store.session() as s, s.begin():
            case = s.get(Case, case_id)
            if case is None or case.state == CaseState.CLOSED.value:
                return False
            case.state = CaseState.CLOSED.value
            case.closed_at = case.updated_at = now
            if handler:
                case.handler = handler
            return True

    def close_for_order(self, conversation_id: str, order_id: str, now: datetime, reason: str) -> int:
        """Close this conversation's open cases about ``order_id``, noting why."""
        with self.store.session() as s, s.begin():
            cases = s.execute(
                select(Case).where(
                    Case.conversation_id == conversation_id,
                    Case.order_id == order_id,
                    Case.state != CaseState.CLOSED.value,
                )
            ).scalars().all()
            for case in cases:
                case.state = CaseState.CLOSED.value
                case.note = f"{case.note}（{reason}）"
                case.closed_at = case.updated_at = now
            return len(cases)

    def rate(self, case_id: int, rating: int, now: datetime) -> bool:
        if not 1 <= rating <= 5:
            raise ValueError("a rating is 1 to 5")
        with self.store.session() as s, s.begin():
            case = s.get(Case, case_id)
            if case is None:
                return False
            case.rating = rating
            case.updated_at = now
            return True
