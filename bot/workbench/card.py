"""The order card of the conversation view: items, amounts, state, tracking, cases, attachments."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Dict, Iterable, Mapping, Optional

from bot.assist import STATES
from bot.playbook.evidence import awaiting_review
from bot.playbook.payouts import WHAT
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import fmt_money, fmt_time
from bot.shop.cases import CaseRecord, CaseState, PromiseRecord
from bot.shop.compensation import CompensationRecord, CompensationState
from bot.shop.store import OrderFacts
from bot.shop.uploads import AttachmentRecord

CASE_STATES = {
    CaseState.RESOLVED: "已解决", CaseState.WAITING_CUSTOMER: "等客户",
    CaseState.WAITING_SHOP: "等店铺处理", CaseState.NEEDS_APPROVAL: "待主管审批",
    CaseState.ESCALATED: "已转人工", CaseState.CLOSED: "已关闭",
}


def overdue(case: CaseRecord, now: datetime, policy: ShopPolicy,
            promise: Optional[PromiseRecord] = None) -> bool:
    """The shop is late on the case. With a promise still running (its earliest not yet
    kept, ``CaseLog.running_promises``) that is the promise's due time and nothing else:
    a payout due in 48 hours, or a return's handling that starts when the parcel arrives,
    is not late after a day. Without one: the case has waited for the shop (the courier's
    answer, the warehouse) longer than shop.yml's courier answer time."""
    if promise is not None:
        return promise.overdue(now)
    return (case.state == CaseState.WAITING_SHOP
            and now - case.updated_at > timedelta(hours=policy.courier_answer_hours))


def case_card(case: CaseRecord, now: datetime, policy: ShopPolicy,
              promise: Optional[PromiseRecord] = None) -> Dict[str, Any]:
    return {
        "id": case.id, "intent": case.intent, "state": case.state.value,
        "state_text": CASE_STATES[case.state], "next_step": case.next_step, "note": case.note,
        "handler": case.handler, "customer_message": case.customer_message,
        "updated": fmt_time(case.updated_at, policy), "overdue": overdue(case, now, policy, promise),
        "photo_review": awaiting_review(case),  # photos wait for a verdict (web/photo_review.py)
    }


def order_card(order: OrderFacts, cases: Iterable[CaseRecord], now: datetime,
               policy: ShopPolicy, attachments: Iterable[AttachmentRecord] = (),
               compensations: Iterable[CompensationRecord] = (),
               payout_due: Mapping[int, datetime] = MappingProxyType({}),
               promises: Mapping[int, PromiseRecord] = MappingProxyType({})) -> Dict[str, Any]:
    """What an agent sees of the order, with the customer's photos about it (uploads:
    ``attachments_of_order``) as {"id", "case_id", "url", "thumbnail", "at"}, and the money
    recorded on its cases (``compensations_of_order``): what, how much, who, when, by when
    it is to be paid (``payout_due``: case id → its payout promise's due time) and if paid."""
    shipment = order.shipment
    open_cases = [c for c in cases if c.state != CaseState.CLOSED]
    return {
        "order_id": order.order_id,
        "buyer": order.buyer_account,
        "buyer_name": order.buyer_name,
        "state": order.state.value,
        "state_text": STATES[order.state],
        "created": fmt_time(order.created_at, policy),
        "items": [{"label": i.label, "price_paid": fmt_money(i.price_paid),
                   "current_price": fmt_money(i.current_price), "gift": i.is_gift} for i in order.items],
        "shipping_fee": fmt_money(order.shipping_fee),
        "amount_paid": fmt_money(order.amount_paid),
        "cash_on_delivery": order.cash_on_delivery,
        "refund": fmt_money(order.refund_amount) if order.refund_amount is not None else None,
        "shipment": None if shipment is None else {
            "courier": shipment.courier, "tracking_number": shipment.tracking_number,
            "shipped": fmt_time(shipment.shipped_at, policy),
            "signed": fmt_time(shipment.signed_at, policy) if shipment.signed_at else None,
            "signed_by": shipment.signed_by,
            "events": [{"time": fmt_time(e.time, policy), "place": e.place, "description": e.description}
                       for e in reversed(shipment.events)],  # newest first
        },
        "cases": [case_card(c, now, policy, promises.get(c.id)) for c in open_cases],
        "attachments": [{"id": a.id, "case_id": a.case_id, "url": a.url, "thumbnail": a.thumbnail_url,
                         "at": fmt_time(a.created_at, policy)} for a in attachments],
        "compensations": [compensation_card(c, policy, payout_due.get(c.case_id), now) for c in compensations],
    }


COMPENSATION_STATES = {CompensationState.GRANTED: "已批出", CompensationState.PENDING: "待主管审批",
                       CompensationState.APPROVED: "主管已批准", CompensationState.DENIED: "主管未批准",
                       CompensationState.PAID: "已打款"}


def compensation_card(given: CompensationRecord, policy: ShopPolicy, due_at: Optional[datetime] = None,
                      now: Optional[datetime] = None) -> Dict[str, Any]:
    """A compensation as the order card shows it; ``payable``: an agent may mark it paid
    (「已打款」, web/payouts.py); ``due``/``overdue``: its case's payout promise."""
    due = due_at if given.to_be_paid else None
    return {
        "id": given.id, "case_id": given.case_id, "kind": given.kind.value, "what": WHAT[given.kind],
        "problem": given.problem, "amount": fmt_money(given.amount),
        "state": given.state.value, "state_text": COMPENSATION_STATES[given.state],
        "offered_by": given.offered_by, "offered": fmt_time(given.offered_at, policy),
        "decided_by": given.decided_by,
        "decided": fmt_time(given.decided_at, policy) if given.decided_at else None,
        "payable": given.to_be_paid,
        "due": fmt_time(due, policy) if due else None,
        "overdue": bool(due and now and due < now),
        "paid_by": given.paid_by, "paid": fmt_time(given.paid_at, policy) if given.paid_at else None,
        "reference": given.payment_ref,
    }

