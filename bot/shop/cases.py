"""The case log (交接记录): every after-sales case, for the next shift to follow up."""

from __future__ import annotations

import enum
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.shop.schema import Case, Promise
from bot.shop.store import OrderStore


class CaseState(str, enum.Enum):
    RESOLVED = "resolved"  # answered; nothing left to do unless the customer comes back
    WAITING_CUSTOMER = "waiting_customer"  # photos, a return parcel, a new address ...
    WAITING_SHOP = "waiting_shop"  # the warehouse, the courier or finance must act
    NEEDS_APPROVAL = "needs_approval"  # a supervisor must approve (reissue, price difference)
    ESCALATED = "escalated"  # handed to a human agent or a supervisor
    CLOSED = "closed"


# the states of a case that still takes the customer's evidence (photos)
OPEN_FOR_EVIDENCE = (CaseState.WAITING_CUSTOMER.value, CaseState.WAITING_SHOP.value,
                     CaseState.NEEDS_APPROVAL.value, CaseState.ESCALATED.value)


class PromiseKind(str, enum.Enum):
    """What the shop promised on a case."""

    ANSWER_BY = "answer_by"  # an answer to the customer (the courier's check) by a time
    SHIP_BY = "ship_by"  # the order ships by a time
    HANDLE_AFTER_RETURN = "handle_after_return"  # handled within N days of the return arriving
    APPROVAL = "approval"  # a supervisor's decision is pending
    SUPERVISOR_ANSWER = "supervisor_answer"  # a supervisor answers an escalated complaint by a time
    PAYOUT = "payout"  # money owed (a granted 折价, an approved 退差价) is paid by a time


@dataclass(frozen=True)
class PromiseTerms:
    """A promise about to be made: its kind and due time, or the days its clock will run."""

    kind: PromiseKind
    due_at: Optional[datetime] = None
    days: Optional[int] = None


@dataclass(frozen=True)
class PromiseRecord:
    id: int
    case_id: int
    kind: PromiseKind
    due_at: Optional[datetime]
    days: Optional[int]
    made_at: datetime
    kept_at: Optional[datetime]

    def overdue(self, now: datetime) -> bool:
        return self.kept_at is None and self.due_at is not None and self.due_at < now


@dataclass(frozen=True)
class DueCase:
    """A case in the due list: its earliest promise not yet kept (if any)."""

    case: CaseRecord
    promise: Optional[PromiseRecord]
    overdue: bool


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
    kind: Optional[str] = None  # "complaint"; None: an ordinary case
    priority: int = 0  # higher first in the agents' inbox
    escalated_to: Optional[str] = None  # "supervisor": beyond the shift's agents
    escalation_reason: Optional[str] = None  # why (agent-facing)


@dataclass(frozen=True)
class Escalation:
    """How a case is flagged for the agents' inbox when it is registered."""

    kind: Optional[str] = None
    priority: int = 0
    to: Optional[str] = None
    reason: Optional[str] = None


def _promise(row: Promise) -> PromiseRecord:
    return PromiseRecord(id=row.id, case_id=row.case_id, kind=PromiseKind(row.kind), due_at=row.due_at,
                         days=row.days, made_at=row.made_at, kept_at=row.kept_at)


def earliest_promises(promises: Iterable[PromiseRecord]) -> Dict[int, PromiseRecord]:
    """Each case's earliest promise not yet kept (one with a due time before one without)."""
    earliest: Dict[int, PromiseRecord] = {}
    for p in promises:
        if p.kept_at is not None:
            continue
        have = earliest.get(p.case_id)
        if have is None or (p.due_at is not None and (have.due_at is None or p.due_at < have.due_at)):
            earliest[p.case_id] = p
    return earliest


def due_order(cases: Sequence[CaseRecord], promises: Sequence[PromiseRecord], now: datetime) -> List[DueCase]:
    """``cases`` by due time: broken promises first (the longest overdue on top), then the
    promises still running (the soonest first), then the cases with no due time (the
    oldest update first). A case is placed by its earliest promise not yet kept."""
    earliest = earliest_promises(promises)
    listed = [DueCase(c, earliest.get(c.id), bool(earliest.get(c.id) and earliest[c.id].overdue(now)))
              for c in cases]

    def key(d: DueCase):
        due = d.promise.due_at if d.promise is not None else None
        return (0 if d.overdue else 1 if due is not None else 2, due or d.case.updated_at, d.case.id)

    return sorted(listed, key=key)


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
        kind=case.kind,
        priority=case.priority or 0,
        escalated_to=case.escalated_to,
        escalation_reason=case.escalation_reason,
    )


def _flag(case: Case, escalation: Escalation) -> None:
    case.kind = escalation.kind or case.kind
    case.priority = max(case.priority or 0, escalation.priority)
    if escalation.to:
        case.escalated_to = escalation.to
        case.escalation_reason = escalation.reason


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
        promises: Sequence[PromiseTerms] = (),
        escalation: Optional[Escalation] = None,
        session: Optional[Session] = None,
    ) -> CaseRecord:
        """Open a case, or update the open one for the same conversation, order and intent.

        Saying the same thing twice updates one case; it never opens a second.
        ``promises`` are recorded on it (``promise``): a promise already open stands.
        ``escalation`` flags it (kind, priority, to whom and why); once flagged, a case
        is never unflagged or lowered by a later update.
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
            if escalation is not None:
                _flag(case, escalation)
            s.flush()
            for terms in promises:
                self.promise(case.id, terms, now, session=s)
            return _record(case)

    def escalated_to(self, to: str) -> List[CaseRecord]:
        """The open cases escalated ``to`` (e.g. the supervisor's queue), the most urgent
        first, then the oldest."""
        with self.store.session() as s:
            cases = s.execute(select(Case).where(
                Case.escalated_to == to, Case.state.not_in([CaseState.CLOSED.value, CaseState.RESOLVED.value]),
            ).order_by(Case.priority.desc(), Case.created_at, Case.id)).scalars()
            return [_record(c) for c in cases]

    def promise(self, case_id: int, terms: PromiseTerms, now: datetime,
                session: Optional[Session] = None) -> PromiseRecord:
        """Record a promise on a case. One of the same kind not yet kept stands as it is:
        asking again never moves a date the customer was given."""
        with (nullcontext(session) if session is not None else self.store.transaction()) as s:
            row = s.execute(select(Promise).where(
                Promise.case_id == case_id, Promise.kind == terms.kind.value, Promise.kept_at.is_(None),
            )).scalar()
            if row is None:
                row = Promise(case_id=case_id, kind=terms.kind.value, due_at=terms.due_at,
                              days=terms.days, made_at=now)
                s.add(row)
                s.flush()
            return _promise(row)

    def keep(self, case_id: int, kind: PromiseKind, now: datetime) -> bool:
        """Mark the case's open promise of ``kind`` kept; False if there is none."""
        with self.store.transaction() as s:
            row = s.execute(select(Promise).where(
                Promise.case_id == case_id, Promise.kind == kind.value, Promise.kept_at.is_(None),
            )).scalar()
            if row is None:
                return False
            row.kept_at = now
            return True

    def return_arrived(self, case_id: int, now: datetime) -> Optional[PromiseRecord]:
        """The return parcel arrived: the handle-within-N-days promise gets its due time."""
        with self.store.transaction() as s:
            row = s.execute(select(Promise).where(
                Promise.case_id == case_id, Promise.kind == PromiseKind.HANDLE_AFTER_RETURN.value,
                Promise.kept_at.is_(None),
            )).scalar()
            if row is None:
                return None
            row.due_at = now + timedelta(days=row.days or 0)
            return _promise(row)

    def open_promise(self, case_id: int, session: Optional[Session] = None) -> Optional[PromiseRecord]:
        """The case's promise not kept yet with the earliest due time (None: none)."""
        with (nullcontext(session) if session is not None else self.store.session()) as s:
            row = s.execute(select(Promise).where(
                Promise.case_id == case_id, Promise.kept_at.is_(None), Promise.due_at.is_not(None),
            ).order_by(Promise.due_at, Promise.id)).scalars().first()
            return _promise(row) if row is not None else None

    def promises(self, case_id: int) -> List[PromiseRecord]:
        with self.store.session() as s:
            rows = s.execute(select(Promise).where(Promise.case_id == case_id).order_by(Promise.id)).scalars()
            return [_promise(r) for r in rows]

    def running_promises(self, case_ids: Iterable[int]) -> Dict[int, PromiseRecord]:
        """The cases' earliest promises not yet kept (``earliest_promises``), by case id."""
        ids = list(set(case_ids))
        if not ids:
            return {}
        with self.store.session() as s:
            return earliest_promises(_promise(p) for p in s.execute(
                select(Promise).where(Promise.case_id.in_(ids), Promise.kept_at.is_(None))).scalars())

    def due(self, now: datetime, include_resolved: bool = False, include_closed: bool = False) -> List[DueCase]:
        """The cases by due time (``due_order``); resolved and closed ones only if asked."""
        hidden = [] if include_closed else [CaseState.CLOSED.value]
        if not include_resolved:
            hidden.append(CaseState.RESOLVED.value)
        with self.store.session() as s:
            cases = [_record(c) for c in s.execute(select(Case).where(Case.state.not_in(hidden))).scalars()]
            ids = [c.id for c in cases]
            promises = [_promise(p) for p in s.execute(
                select(Promise).where(Promise.case_id.in_(ids), Promise.kept_at.is_(None))).scalars()]
        return due_order(cases, promises, now)

    def open_case_for_evidence(self, conversation_id: str, order_id: Optional[str] = None) -> Optional[CaseRecord]:
        """The conversation's case that takes photos (one still open, ``OPEN_FOR_EVIDENCE``):
        one about ``order_id`` (the order the conversation is about now) first, then one
        waiting for the customer, then the most recently updated."""
        with self.store.session() as s:
            cases = [_record(c) for c in s.execute(select(Case).where(
                Case.conversation_id == conversation_id, Case.state.in_(OPEN_FOR_EVIDENCE),
            ).order_by(Case.updated_at.desc(), Case.id.desc())).scalars()]
        cases.sort(key=lambda c: (order_id is not None and c.order_id != order_id,
                                  c.state != CaseState.WAITING_CUSTOMER))  # stable: newest first within
        return cases[0] if cases else None

    def open_cases_of(self, conversation_id: str) -> List[CaseRecord]:
        """The conversation's cases not resolved or closed, the most recently updated first."""
        with self.store.session() as s:
            return [_record(c) for c in s.execute(select(Case).where(
                Case.conversation_id == conversation_id, Case.state.in_(OPEN_FOR_EVIDENCE),
            ).order_by(Case.updated_at.desc(), Case.id.desc())).scalars()]

    def resolve(self, case_id: int, next_step: str, now: datetime, handler: Optional[str] = None
                ) -> Optional[CaseRecord]:
        """The shop did what the case asked: it is resolved (the customer may still come back)."""
        case = self.move_on(case_id, CaseState.RESOLVED, next_step, now)
        if case is not None and handler:
            with self.store.transaction() as s:
                row = s.get(Case, case_id)
                row.handler = handler
                s.flush()
                case = _record(row)
        return case

    def move_on(self, case_id: int, state: CaseState, next_step: str, now: datetime) -> Optional[CaseRecord]:
        """A case's new state and next step (its note stays); None if it is closed or unknown."""
        with self.store.transaction() as s:
            case = s.get(Case, case_id)
            if case is None or case.state == CaseState.CLOSED.value:
                return None
            case.state = state.value
            case.next_step = next_step
            case.updated_at = now
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
               before_commit: Optional[Callable[[CaseRecord], None]] = None) -> Optional[CaseRecord]:
        """A supervisor's decision on a case awaiting approval: approved, the shop acts
        (waiting_shop); denied, it is resolved. ``before_commit``, if given, runs inside
        the transaction: if it raises, the case stays as it was. None when
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
            if before_commit is not None:
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
