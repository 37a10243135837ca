"""The customer's answers to the bot's own questions, on the conversation's open case.

「问过了还是没有」 after signed-not-received, the return parcel's waybill number, the Alipay
account for a shipping-fee refund: each goes to the case that asked for it, moves it on
(state and next step from ``case_notes.yml``) and is answered. With no such case open
the customer is told what the bot can take instead (``NO_CASE``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Callable, Dict, List, Optional, Sequence

from bot.access.ids import find_order_id, find_waybill
from bot.playbook.casenotes import CaseNotes
from bot.playbook.payouts import paid_reply, pay_by
from bot.playbook.policy import ShopPolicy, courier_answer_deadline, handling_days_promised
from bot.playbook.scenarios import Reply, round_promise
from bot.playbook.verdicts import VERDICT_CHANGES, verdict_notice
from bot.shop.casefacts import (
    CaseChange,
    FactKind,
    NoticeRecord,
    claim_notice,
    facts_of,
    mask_account,
    pending_notices,
    record_fact,
    record_notice,
    unclaim_notice,
)
from bot.shop.cases import CaseLog, CaseRecord, PromiseKind, PromiseTerms
from bot.shop.compensation import latest_for_case
from bot.shop.store import OrderStore
from bot.workbench.approvals import compensation_request, decision_reply

COURIER_CONTACTED = "utter_snr_courier_contacted"
WAYBILL_RECORDED = "utter_return_waybill_recorded"
ACCOUNT_RECORDED = "utter_refund_account_recorded"
NO_WAYBILL = "utter_return_waybill_missing"
NO_ACCOUNT = "utter_refund_account_missing"
NO_SNR_CASE = "utter_followup_no_snr_case"
NO_RETURN_CASE = "utter_followup_no_return_case"

# the order note the shop's courier contact leaves (kind), beside W14's courier_answer
COURIER_CONTACT = "courier_contact"
# cases whose goods come back to the shop: they take a return waybill and a fee account
RETURN_CASES = ("return_or_exchange", "quality_issue", "wrong_item", "refund_after_shipping")

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def find_account(text: str) -> Optional[str]:
    """An Alipay account in ``text``: an e-mail address or a mobile number."""
    match = EMAIL.search(text) or PHONE.search(text)
    return match.group(0) if match else None


def case_for(cases: Sequence[CaseRecord], intents: Sequence[str], order_id: Optional[str]) -> Optional[CaseRecord]:
    """The open case of one of ``intents``: about ``order_id`` first, else the latest updated."""
    fitting = [c for c in cases if c.intent in intents]
    fitting.sort(key=lambda c: order_id is not None and c.order_id != order_id)  # stable
    return fitting[0] if fitting else None


def waybill_for_open_return(cases: CaseLog, store: OrderStore, conversation: str, text: str) -> Optional[str]:
    """The waybill number in a bare number the customer sent, when a return case of the
    conversation is open and the number is neither an order number nor the tracking number
    of a parcel the shop sent (those are looked up as ever): it answers that case."""
    waybill = find_waybill(text)
    if waybill is None or find_order_id(text) is not None or store.order_by_tracking_number(waybill):
        return None
    return waybill if case_for(cases.open_cases_of(conversation), RETURN_CASES, None) else None


def still_not_found(cases: CaseLog, notes: CaseNotes, store: OrderStore, policy: ShopPolicy,
                    conversation: str, order_id: Optional[str], now: datetime) -> Reply:
    """「问过了还是没有」: the courier is to be contacted (the case's next step and an order
    note) and the answer-by promise stands (made now if none is open), told rounded."""
    case = case_for(cases.open_cases_of(conversation), ("signed_not_received",), order_id)
    if case is None:
        return Reply(NO_SNR_CASE)
    promise = cases.promise(case.id, PromiseTerms(PromiseKind.ANSWER_BY,
                                                  due_at=courier_answer_deadline(now, policy)), now)
    assert promise.due_at is not None
    _, answer_by = round_promise(promise.due_at, policy)
    reply = Reply(COURIER_CONTACTED, {"order_id": case.order_id or "", "answer_by": answer_by},
                  promised=promise.due_at, case_intent=case.intent)
    note = notes.for_reply(reply)
    cases.move_on(case.id, note.state, note.next_step, now)
    if case.order_id:
        store.add_note(case.order_id, COURIER_CONTACT, note.note, now, promise_id=promise.id)
    return reply


def return_waybill(cases: CaseLog, notes: CaseNotes, store: OrderStore, policy: ShopPolicy,
                   conversation: str, order_id: Optional[str], text: str, now: datetime) -> Reply:
    """The return parcel's waybill number, recorded on the return case. The handling promise
    waits for the parcel (``cases return-arrived`` starts its clock)."""
    case = case_for(cases.open_cases_of(conversation), RETURN_CASES, order_id)
    if case is None:
        return Reply(NO_RETURN_CASE)
    waybill = find_waybill(text)
    if waybill is None:
        return Reply(NO_WAYBILL, case_intent=case.intent)
    record_fact(store, case.id, FactKind.RETURN_WAYBILL, waybill, now)
    cases.promise(case.id, PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=handling_days_promised(policy)), now)
    reply = Reply(WAYBILL_RECORDED, {"order_id": case.order_id or "", "waybill": waybill, "case_id": case.id,
                                     "handling_days": policy.handling_days}, case_intent=case.intent)
    note = notes.for_reply(reply)
    cases.move_on(case.id, note.state, note.next_step, now)
    return reply


def refund_account(cases: CaseLog, notes: CaseNotes, store: OrderStore, conversation: str,
                   order_id: Optional[str], text: str, now: datetime) -> Reply:
    """The Alipay account for the shipping-fee refund: kept in full on the case only,
    said back masked; the fee goes back once the return has arrived."""
    case = case_for(cases.open_cases_of(conversation), RETURN_CASES, order_id)
    if case is None:
        return Reply(NO_RETURN_CASE)
    account = find_account(text)
    if account is None:
        return Reply(NO_ACCOUNT, case_intent=case.intent)
    record_fact(store, case.id, FactKind.REFUND_ACCOUNT, account, now)
    reply = Reply(ACCOUNT_RECORDED, {"order_id": case.order_id or "", "account": mask_account(account),
                                     "case_id": case.id}, case_intent=case.intent)
    note = notes.for_reply(reply)
    cases.move_on(case.id, case.state, note.next_step, now)  # the case waits as it did
    return reply


CHANGE_NOTICES = {CaseChange.RESOLVED: "utter_case_resolved", CaseChange.PROMISE_KEPT: "utter_case_promise_kept",
                  CaseChange.RETURN_ARRIVED: "utter_case_return_arrived"}
DECISIONS = (CaseChange.APPROVED, CaseChange.DENIED)


def case_changed(cases: CaseLog, policy: ShopPolicy, case_id: int, change: CaseChange) -> Optional[Reply]:
    """What the customer is told when their case changed; None for an unknown case, or a
    return arrival whose handling clock has not started. An agent's verdict on the photos
    is told as recorded (bot/playbook/verdicts.py)."""
    if change in VERDICT_CHANGES:
        return verdict_notice(cases, policy, case_id, change)
    case = cases.get(case_id)
    if case is None:
        return None
    if change in DECISIONS:
        reasons = facts_of(cases.store, case_id, FactKind.DECISION_REASON)
        compensation = latest_for_case(cases.store, case_id)
        decided = compensation if compensation is not None and compensation.decided_by else None
        approved = change == CaseChange.APPROVED
        return decision_reply(case, approved, reasons[-1].value if reasons else "",
                              compensation_request(decided),
                              pay_by(cases, policy, case_id) if approved and decided else None)
    if change == CaseChange.COMPENSATION_PAID:
        return paid_reply(cases, case_id)
    facts = {"order_ref": f"（订单 {case.order_id}）" if case.order_id else ""}
    if change == CaseChange.RETURN_ARRIVED:
        due = [p.due_at for p in cases.promises(case_id)
               if p.kind == PromiseKind.HANDLE_AFTER_RETURN and p.kept_at is None and p.due_at is not None]
        if not due:
            return None
        facts["handle_by"] = round_promise(due[0], policy)[1]
    return Reply(CHANGE_NOTICES[change], facts)


# the intent said into the customer's conversation when a case changed (entities case_id, change)
CASE_CHANGED_INTENT = "EXTERNAL_case_changed"
# say(conversation, intent, entities): whether the customer was told now (Rasa's trigger_intent
# on a channel that reaches them); False: not now, the notice waits
Say = Callable[[str, str, Dict[str, str]], bool]


def notice_entities(notice: NoticeRecord) -> Dict[str, str]:
    """The entities of ``CASE_CHANGED_INTENT`` that tell ``notice``."""
    return {"case_id": str(notice.case_id), "change": notice.change.value}


def tell_case_changed(cases: CaseLog, store: OrderStore, case_id: int, change: CaseChange,
                      say: Say, now: datetime) -> Optional[NoticeRecord]:
    """Tell the customer in the case's conversation that it changed: ``say(conversation,
    intent, entities)`` (Rasa's trigger_intent) answers whether they were told. The notice
    is recorded first, so it is never lost: not told now, it stays pending (``delivered``
    false) until the customer comes back (channels/notices.py) or ``tell_pending`` reaches
    them. None for an unknown case."""
    case = cases.get(case_id)
    if case is None:
        return None
    notice = record_notice(store, case_id, case.conversation_id, change, False, now)
    return tell_notice(store, notice, say, now)


def tell_notice(store: OrderStore, notice: NoticeRecord, say: Say, now: datetime) -> NoticeRecord:
    """Tell one pending notice, at most once: it is claimed first (another teller that got it
    already wins) and released again when ``say`` could not tell it."""
    if not claim_notice(store, notice.id, now):
        return replace(notice, delivered=True)
    try:
        told = say(notice.conversation_id, CASE_CHANGED_INTENT, notice_entities(notice))
    except Exception:
        unclaim_notice(store, notice.id)
        raise
    if not told:
        unclaim_notice(store, notice.id)
    return replace(notice, delivered=told)


def tell_pending(store: OrderStore, say: Say, now: datetime) -> List[NoticeRecord]:
    """Retry every pending notice (``python -m bot cases notify``): those told now."""
    told = [tell_notice(store, n, say, now) for n in pending_notices(store)]
    return [n for n in told if n.delivered]
