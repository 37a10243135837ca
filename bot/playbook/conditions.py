"""The named conditions a row of ``playbook.yml`` may ask for, each written once here.

A condition is a pure predicate of the ``Situation`` (order, now, shop policy,
message and cases). The numbers they compare with come from ``shop.yml`` only.
A row writes ``when: [name]``, or ``when: [not name]`` for its negation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional

from bot.playbook.context import Situation
from bot.playbook.policy import (
    ShopPolicy,
    return_window,
    returned_handling_deadline,
    ship_deadline,
    shipping_deadline_passed,
    unopened_only,
)
from bot.shop.cases import CaseState
from bot.shop.store import NoteFacts, OrderFacts

# the note a signed-not-received reply writes on the order: the courier's answer promised
COURIER_ANSWER = "courier_answer"


def returned_at(order: OrderFacts, now: datetime) -> datetime:
    """When a return reached the warehouse: recorded, else the parcel's last event, else now."""
    last = order.shipment.last_event if order.shipment else None
    return order.returned_at or (last.time if last else None) or now


def signed_at(order: OrderFacts) -> datetime:
    assert order.shipment is not None and order.shipment.signed_at is not None
    return order.shipment.signed_at


def unopened_goods(order: OrderFacts, policy: ShopPolicy) -> List[str]:
    """The goods that come back only unopened (``returns.unopened_only`` of shop.yml)."""
    return [i.name for i in order.goods if unopened_only(i.name, policy)]


def case_open(sit: Situation, intent: str) -> bool:
    """Whether the order has a case of ``intent`` not closed yet: its promise still holds."""
    return any(c.intent == intent and c.state != CaseState.CLOSED for c in sit.ctx.cases)


def courier_answer_given(sit: Situation) -> Optional[NoteFacts]:
    """The courier answer promised in the order's open signed-not-received case, if any."""
    given = sit.order.promise(COURIER_ANSWER) if case_open(sit, "signed_not_received") else None
    return given if given is not None and given.due_at is not None else None


def _unpaid(sit: Situation) -> bool:
    return sit.order.paid_at is None


def _ship_deadline_passed(sit: Situation) -> bool:
    if sit.order.paid_at is None:
        return False
    return shipping_deadline_passed(ship_deadline(sit.order.paid_at, sit.order.ship_by, sit.policy), sit.now)


def _campaign_date(sit: Situation) -> bool:
    return sit.order.ship_by is not None


def _tracking_stale(sit: Situation) -> bool:
    last = sit.order.shipment.last_event if sit.order.shipment else None
    return last is not None and sit.now - last.time > timedelta(hours=sit.policy.tracking_stale_hours)


def _return_handling_overdue(sit: Situation) -> bool:
    return sit.now > returned_handling_deadline(returned_at(sit.order, sit.now), sit.policy)


def _refunded_partly(sit: Situation) -> bool:
    refund = sit.order.refund_amount
    return refund is not None and refund < sit.order.amount_paid


def _return_window_open(sit: Situation) -> bool:
    return return_window(signed_at(sit.order), sit.now, sit.policy)[0]


def _unopened_goods(sit: Situation) -> bool:
    return bool(unopened_goods(sit.order, sit.policy))


def _in_quality_case(sit: Situation) -> bool:
    """The order's newest case is a quality problem waiting for the customer's choice."""
    newest = sit.ctx.cases[0] if sit.ctx.cases else None
    return newest is not None and newest.intent == "quality_issue" and newest.state == CaseState.WAITING_CUSTOMER


def _courier_answer_held(sit: Situation) -> bool:
    return courier_answer_given(sit) is not None


def _courier_answer_overdue(sit: Situation) -> bool:
    given = courier_answer_given(sit)
    return given is not None and given.due_at is not None and sit.now > given.due_at


Condition = Callable[[Situation], bool]

CONDITIONS: Dict[str, Condition] = {
    "unpaid": _unpaid,  # not paid yet
    "ship_deadline_passed": _ship_deadline_passed,  # paid, and the shipping deadline is past
    "campaign_date": _campaign_date,  # the order ships on a campaign's date (ship_by)
    "tracking_stale": _tracking_stale,  # no tracking event for shipping.tracking_stale_hours
    "return_handling_overdue": _return_handling_overdue,  # returned longer than the handling days
    "refunded_partly": _refunded_partly,  # refunded less than was paid
    "return_window_open": _return_window_open,  # signed within returns.window_days
    "unopened_goods": _unopened_goods,  # the order has goods that come back only unopened
    "in_quality_case": _in_quality_case,  # the newest case is a quality case waiting for the customer
    "courier_answer_held": _courier_answer_held,  # an open case already promised the courier's answer
    "courier_answer_overdue": _courier_answer_overdue,  # ... and that promise has passed
}
