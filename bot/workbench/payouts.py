"""An agent marks money owed as paid (「已打款」 on the workbench, ``python -m bot cases paid``):
a granted 折价 or an approved 退差价, once the transfer is made (001: finance pays, the
agent sends the customer the transfer record). Recorded first (who, when, the reference),
then the case's ``payout`` promise is kept and the case resolved when nothing else is
owed on it, then the customer is told in their conversation (``tell_case_changed``: at
once, or when they come back). Paid at most once; a pending or denied one is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from bot.playbook.casenotes import CaseNotes
from bot.playbook.followups import Say, tell_case_changed
from bot.playbook.payouts import COMPENSATION_PAID, what_is_owed
from bot.playbook.scenarios import Reply
from bot.shop.casefacts import CaseChange, NoticeRecord
from bot.shop.cases import CaseLog, CaseRecord, PromiseKind
from bot.shop.compensation import (
    CompensationRecord,
    CompensationState,
    get,
    latest_for_case,
    mark_paid,
    unpaid_of_case,
)
from bot.workbench.photo_review import ReviewRefused

MAX_REFERENCE = 64
WHY_NOT = {CompensationState.PENDING: "is waiting for a supervisor's approval: nothing is owed yet",
           CompensationState.DENIED: "was denied by a supervisor: nothing is owed"}


class PayoutRefused(ReviewRefused):
    """Money that cannot be marked paid; ``status`` is the HTTP status it maps to."""


@dataclass(frozen=True)
class PayoutOutcome:
    compensation: CompensationRecord
    case: CaseRecord
    notice: Optional[NoticeRecord]  # the customer told (delivered) or to be told again


def clean_reference(raw: object) -> Optional[str]:
    """The transfer's reference as given (optional): a short line of text, no placeholders."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise PayoutRefused(400, "reference must be text")
    text = raw.strip()
    if len(text) > MAX_REFERENCE or any(c in text for c in "{}\n\r"):
        raise PayoutRefused(400, f"reference: at most {MAX_REFERENCE} characters on one line, no braces")
    return text or None


def to_pay_on_case(cases: CaseLog, case_id: int) -> int:
    """The compensation ``cases paid CASE_ID`` pays: the case's oldest unpaid one, else its
    latest (refused then with its reason: pending, denied, paid already)."""
    unpaid = unpaid_of_case(cases.store, case_id)
    if unpaid:
        return unpaid[0].id
    latest = latest_for_case(cases.store, case_id)
    if latest is None:
        raise PayoutRefused(404, f"case {case_id} has no 折价 or 退差价 recorded")
    return latest.id


def pay_compensation(cases: CaseLog, notes: CaseNotes, compensation_id: int, agent: str, now: datetime,
                     say: Optional[Say], reference: Optional[str] = None) -> PayoutOutcome:
    """Record that ``agent`` paid compensation ``compensation_id``, then tell the customer
    (``say`` None: the customer is not told, ``cases paid --no-notice``)."""
    store = cases.store
    given = get(store, compensation_id)
    if given is None:
        raise PayoutRefused(404, f"no compensation {compensation_id}")
    if given.state in WHY_NOT:
        raise PayoutRefused(409, f"compensation {compensation_id} {WHY_NOT[given.state]}")
    paid = mark_paid(store, compensation_id, agent, now, reference)
    if paid is None:  # paid already (perhaps a moment ago, by someone else)
        again = get(store, compensation_id)
        by = f" by {again.paid_by}" if again is not None and again.paid_by else ""
        raise PayoutRefused(409, f"compensation {compensation_id} was paid already{by}")
    if not unpaid_of_case(store, paid.case_id):  # nothing else owed on the case: it is done
        cases.keep(paid.case_id, PromiseKind.PAYOUT, now)
        note = notes.for_reply(Reply(COMPENSATION_PAID, {
            "request": what_is_owed(paid), "agent": agent,
            "reference": f"（打款记录 {paid.payment_ref}）" if paid.payment_ref else ""}))
        cases.resolve(paid.case_id, note.next_step, now, handler=agent)
    notice = (tell_case_changed(cases, store, paid.case_id, CaseChange.COMPENSATION_PAID, say, now)
              if say is not None else None)
    case = cases.get(paid.case_id)
    assert case is not None
    return PayoutOutcome(paid, case, notice)
