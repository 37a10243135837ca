"""Agent-facing case notes (``case_notes.yml``): state, next step and 插旗备注 per reply."""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml
from sqlalchemy.orm import Session

from bot.playbook.payouts import record_price_difference
from bot.playbook.policy import (
    ShopPolicy,
    courier_answer_deadline,
    handling_days_promised,
    payout_deadline,
    ship_deadline,
    supervisor_answer_deadline,
)
from bot.playbook.scenarios import Reply
from bot.shop.cases import CaseLog, CaseRecord, CaseState, Escalation, PromiseKind, PromiseTerms
from bot.shop.store import OrderFacts

logger = logging.getLogger(__name__)

# money a reply may submit for a supervisor's approval (case_notes.yml ``owes``)
OWES = "price_difference"


@dataclass(frozen=True)
class CaseNote:
    state: CaseState
    next_step: str
    note: str
    promise: Optional[PromiseKind] = None  # what the reply promised (case_notes.yml ``promise``)
    ask_rating: bool = False  # resolved for the customer: a satisfaction rating may follow
    owes: bool = False  # the reply submits a 退差价: it is recorded, pending a supervisor (``owes``)


def promise_terms(kind: Optional[PromiseKind], order: Optional[OrderFacts], now: datetime,
                  policy: ShopPolicy) -> Tuple[PromiseTerms, ...]:
    """The promise a reply made, with its due time by the shop's rules (none without ``kind``)."""
    if kind is None:
        return ()
    if kind == PromiseKind.ANSWER_BY:
        return (PromiseTerms(kind, due_at=courier_answer_deadline(now, policy)),)
    if kind == PromiseKind.SUPERVISOR_ANSWER:
        return (PromiseTerms(kind, due_at=supervisor_answer_deadline(now, policy)),)
    if kind == PromiseKind.SHIP_BY:
        due = ship_deadline(order.paid_at, order.ship_by, policy) if order is not None else None
        return (PromiseTerms(kind, due_at=due),)
    if kind == PromiseKind.PAYOUT:
        return (PromiseTerms(kind, due_at=payout_deadline(now, policy)),)
    if kind == PromiseKind.HANDLE_AFTER_RETURN:  # the clock starts when the return arrives
        return (PromiseTerms(kind, days=handling_days_promised(policy)),)
    return (PromiseTerms(kind),)  # an approval: pending until a supervisor decides


class CaseNotes:
    def __init__(self, templates: Mapping[str, Mapping[str, str]]) -> None:
        self.templates = templates

    @classmethod
    def load(cls, path: Path) -> CaseNotes:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for response, entry in raw.items():
            missing = {"state", "next_step", "note"} - set(entry or {})
            if missing:
                raise ValueError(f"{path}: {response} lacks {', '.join(sorted(missing))}")
            if entry["state"] not in {s.value for s in CaseState}:
                raise ValueError(f"{path}: {response}.state: unknown state {entry['state']!r}")
            if entry.get("promise") not in {None, *(k.value for k in PromiseKind)}:
                raise ValueError(f"{path}: {response}.promise: unknown promise {entry['promise']!r}")
            if entry.get("owes") not in (None, OWES):
                raise ValueError(f"{path}: {response}.owes: only {OWES} is recorded from a reply")
        return cls(raw)

    def covers(self, response: str) -> bool:
        """Whether a reply with this response opens or moves a case."""
        return response in self.templates

    def note(self, response: str) -> str:
        """The bare note text of a response that needs no facts (e.g. why a case closed)."""
        return str(self.templates[response]["note"])

    def reason(self, response: str) -> str:
        """A refusal's reason in a few words (its entry's ``reason``; the response's name
        when it has none)."""
        return str(self.templates.get(response, {}).get("reason") or response)

    def for_reply(self, reply: Reply, **extra: Any) -> CaseNote:
        """The case note for ``reply``, filled with its facts."""
        entry = self.templates[reply.response]
        facts: Dict[str, Any] = {**reply.facts, **extra}
        return CaseNote(
            state=CaseState(entry["state"]),
            next_step=_fill(reply.response, entry["next_step"], facts),
            note=_fill(reply.response, entry["note"], facts),
            promise=PromiseKind(entry["promise"]) if entry.get("promise") else None,
            ask_rating=bool(entry.get("ask_rating", False)),
            owes=entry.get("owes") == OWES,
        )


def _fill(response: str, text: str, facts: Mapping[str, Any]) -> str:
    """The note filled with the reply's facts. A fact the reply lacks never loses the case:
    it shows as 〔name?〕 for the agent and is logged (the enumeration test keeps it at zero)."""
    names = [name for _, name, _, _ in string.Formatter().parse(text) if name]
    missing = [n for n in names if n not in facts]
    if missing:
        logger.error("case note of %s: no fact %s", response, ", ".join(missing))
    return text.format_map({n: facts[n] if n in facts else f"〔{n}?〕" for n in names})


def log_case(
    cases: CaseLog,
    notes: CaseNotes,
    *,
    conversation: str,
    intent: str,
    reply: Reply,
    order: Optional[OrderFacts],
    now: datetime,
    customer_message: Optional[str] = None,
    policy: Optional[ShopPolicy] = None,
    escalation: Optional[Escalation] = None,
    session: Optional[Session] = None,
) -> CaseRecord:
    """Log the case ``reply`` answers, with its note (in ``session``'s transaction if given),
    flagged with ``escalation`` if given and, given the ``policy``, the promise the reply
    made (``promise_terms``); a 退差价 the reply submits (``owes``) is recorded pending.

    Raises ``SQLAlchemyError`` when the database is unavailable; nothing is
    half-written then.
    """
    note = notes.for_reply(reply, conversation=conversation)
    case = cases.register(
        conversation_id=conversation,
        intent=intent,
        state=note.state,
        next_step=note.next_step,
        note=note.note,
        now=now,
        order_id=order.order_id if order else None,
        buyer_account=order.buyer_account if order else None,
        customer_message=customer_message,
        promises=promise_terms(note.promise, order, now, policy) if policy is not None else (),
        escalation=escalation,
        session=session,
    )
    if note.owes and order is not None:  # a 退差价 submitted: recorded, a supervisor decides
        record_price_difference(cases.store, case.id, order, now, session=session)
    return case
