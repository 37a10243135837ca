"""Drafting replies: which response of the domain answers, filled with which facts.

Each scenario function looks at the order's real state and the shop policy
and returns a ``Reply``: the name of a response in ``domain/`` and the facts
its template needs. The text itself lives in the domain, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from bot.playbook.policy import (
    RETURN_REASONS,
    ShopPolicy,
    courier_answer_deadline,
    missing_item_report_open,
    return_window,
    ship_deadline,
    to_shop_time,
    who_pays_return_shipping,
)
from bot.playbook.variants import requested_variant
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.store import SHIPPED_NOT_SIGNED, ItemFacts, OrderFacts, OrderState


@dataclass(frozen=True)
class Reply:
    response: str
    facts: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a scenario may need beyond the order: the message, stock, earlier cases."""

    text: str = ""
    entities: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label → values
    variants: Mapping[int, Sequence[Tuple[str, int]]] = field(default_factory=dict)
    cases: Sequence[CaseRecord] = ()


NO_CONTEXT = Context()

# The entity types a scenario reads from the message (``Context.entities``).
CONTEXT_ENTITIES = ("aspect",)


# -- formatting ------------------------------------------------------------------


def fmt_date(local: datetime, clock: bool = False) -> str:
    """A date as customers read it, 11月21日, or with ``clock`` 11月21日 09:00.

    The one place the format is written; ``local`` is already the shop's time.
    """
    day = f"{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if clock else day


def fmt_time(moment: Optional[datetime], policy: ShopPolicy) -> str:
    """A naive-UTC moment as the shop's local date and clock."""
    if moment is None:
        return "暂无"
    return fmt_date(to_shop_time(moment, policy.timezone), clock=True)


def fmt_day(moment: Optional[datetime], policy: ShopPolicy) -> str:
    """A naive-UTC moment as the shop's local date."""
    if moment is None:
        return "暂无"
    return fmt_date(to_shop_time(moment, policy.timezone))


def fmt_money(amount: Decimal) -> str:
    return f"¥{amount:.2f}"


def fmt_items(items: Iterable[ItemFacts]) -> str:
    return "、".join(i.label for i in items) or "无"


def order_facts(order: OrderFacts, policy: ShopPolicy) -> Dict[str, Any]:
    """Facts every scenario may use."""
    facts: Dict[str, Any] = {
        "order_id": order.order_id,
        "items": fmt_items(order.goods),
        "gifts": fmt_items(order.gifts),
        "amount": fmt_money(order.amount_paid),
        "order_time": fmt_time(order.created_at, policy),
    }
    shipment = order.shipment
    if shipment is not None:
        facts.update(
            courier=shipment.courier,
            tracking_number=shipment.tracking_number,
            shipped_time=fmt_time(shipment.shipped_at, policy),
            eta=fmt_day(shipment.eta, policy),
            signed_time=fmt_time(shipment.signed_at, policy),
            signed_by=shipment.signed_by or "暂无",
        )
        last = shipment.last_event
        if last is not None:
            facts.update(
                last_event=last.description,
                last_event_time=fmt_time(last.time, policy),
                last_event_place=last.place,
            )
    return facts


def return_facts(policy: ShopPolicy) -> Dict[str, Any]:
    """Where and how goods come back; ``payer_<reason>`` names who pays the shipping."""
    facts: Dict[str, Any] = {
        "return_address": policy.return_address,
        "return_receiver": policy.return_receiver,
        "return_phone": policy.return_phone,
        "handling_days": policy.handling_days,
        "window_days": policy.return_window_days,
        "must_return": policy.must_return,
        "cod_rule": policy.cod_rule,
    }
    for reason in RETURN_REASONS:
        facts[f"payer_{reason}"] = policy.payer_names[who_pays_return_shipping(reason, policy)]
    return facts


def _reply(name: str, order: OrderFacts, policy: ShopPolicy, **extra: Any) -> Reply:
    facts = order_facts(order, policy)
    facts.update(extra)
    return Reply(name, facts)


def _not_shipped(name: str, order: OrderFacts, policy: ShopPolicy) -> Reply:
    deadline = ship_deadline(order.paid_at, order.ship_by, policy)
    return _reply(name, order, policy, ship_by=fmt_time(deadline, policy))


def _goods_not_received(order: OrderFacts, policy: ShopPolicy) -> Reply:
    """The goods have not reached the buyer: say where they are instead."""
    if order.state == OrderState.NOT_SHIPPED:
        return _not_shipped("utter_goods_not_shipped_yet", order, policy)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_goods_on_the_way", order, policy)
    return _reply("utter_goods_going_back", order, policy)


# -- the five core scenarios ---------------------------------------------------------


def track_parcel(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    state = order.state
    if state == OrderState.NOT_SHIPPED:
        return _not_shipped("utter_track_not_shipped", order, policy)
    if state == OrderState.IN_TRANSIT:
        return _reply("utter_track_in_transit", order, policy)
    if state == OrderState.OUT_FOR_DELIVERY:
        return _reply("utter_track_out_for_delivery", order, policy)
    if state == OrderState.SIGNED:
        return _reply("utter_track_signed", order, policy)
    if state == OrderState.REFUSED_RETURNING:
        return _reply("utter_track_returning", order, policy)
    return _reply("utter_track_back_at_shop", order, policy)


def signed_not_received(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.SIGNED:
        if order.state == OrderState.NOT_SHIPPED:
            return _not_shipped("utter_snr_not_shipped", order, policy)
        if order.state in SHIPPED_NOT_SIGNED:
            return _reply("utter_snr_not_signed_yet", order, policy)
        return _reply("utter_goods_going_back", order, policy)
    answer_by = fmt_time(courier_answer_deadline(now, policy), policy)
    assert order.shipment is not None
    if order.shipment.signed_by == "本人":
        return _reply("utter_snr_signed_self", order, policy, answer_by=answer_by)
    return _reply("utter_snr_signed_other", order, policy, answer_by=answer_by)


def wrong_item(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, policy)
    aspects = ctx.entities.get("aspect") or ()
    if aspects:  # 「颜色发错了」: say what they told us was wrong
        return _reply("utter_wrong_item_aspect", order, policy, aspect=aspects[0], **return_facts(policy))
    return _reply("utter_wrong_item", order, policy, **return_facts(policy))


def quality_issue(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state in SHIPPED_NOT_SIGNED:
        # before signing, courier damage is the shop's: inspect and refuse (001)
        return _reply("utter_quality_before_signing", order, policy)
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, policy)
    return _reply("utter_quality_issue", order, policy, **return_facts(policy))


def refund_after_shipping(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    state = order.state
    if state == OrderState.NOT_SHIPPED:
        return _reply("utter_refund_cancel_unshipped", order, policy)
    if state in SHIPPED_NOT_SIGNED:
        return _reply("utter_refund_refuse_delivery", order, policy)
    if state == OrderState.REFUSED_RETURNING:
        return _reply("utter_refund_parcel_returning", order, policy)
    if state == OrderState.RETURNED:
        return _reply(
            "utter_refund_returned_processing", order, policy,
            handling_days=policy.handling_days,
        )
    if state == OrderState.REFUNDED:
        return _reply(
            "utter_refund_already_done", order, policy,
            refund_amount=fmt_money(order.refund_amount or Decimal("0")),
            refund_time=fmt_time(order.refunded_at, policy),
        )
    assert order.shipment is not None and order.shipment.signed_at is not None
    is_open, closes, days_left = return_window(order.shipment.signed_at, now, policy)
    facts = dict(return_facts(policy), window_last_day=_last_day(closes))
    if not is_open:
        return _reply("utter_refund_window_closed", order, policy, **facts)
    return _reply("utter_refund_return_in_window", order, policy, days_left=days_left, **facts)


# -- the rest of the playbook -----------------------------------------------------------


def urge_shipment(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.NOT_SHIPPED:
        if order.state in SHIPPED_NOT_SIGNED:
            return _reply("utter_urge_already_shipped", order, policy)
        return track_parcel(order, now, policy, ctx)
    deadline = ship_deadline(order.paid_at, order.ship_by, policy)
    if order.ship_by is not None:
        return _not_shipped("utter_urge_campaign", order, policy)
    if deadline is not None and now > deadline:
        return _not_shipped("utter_urge_overdue", order, policy)
    return _not_shipped("utter_urge_not_shipped", order, policy)


def missing_item(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, policy)
    assert order.shipment is not None and order.shipment.signed_at is not None
    hours = policy.missing_report_hours
    if missing_item_report_open(order.shipment.signed_at, now, policy):
        return _reply("utter_missing_item", order, policy, report_hours=hours)
    return _reply("utter_missing_item_late", order, policy, report_hours=hours)


def return_or_exchange(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state == OrderState.NOT_SHIPPED:
        return _reply("utter_refund_cancel_unshipped", order, policy)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_refund_refuse_delivery", order, policy)
    if order.state != OrderState.SIGNED:
        return refund_after_shipping(order, now, policy, ctx)
    assert order.shipment is not None and order.shipment.signed_at is not None
    is_open, closes, days_left = return_window(order.shipment.signed_at, now, policy)
    facts = dict(return_facts(policy), window_last_day=_last_day(closes))
    if not is_open:
        return _reply("utter_refund_window_closed", order, policy, **facts)
    facts.update(days_left=days_left, exclusions=policy.exclusions)
    for item in order.goods:
        wanted = requested_variant(ctx.text, item.variant, ctx.variants.get(item.product_id, ()))
        if wanted is None:
            continue
        name, stock = wanted
        facts.update(product=item.name, from_variant=item.variant, to_variant=name)
        if stock > 0:
            return _reply("utter_exchange_available", order, policy, **facts)
        in_stock = [v for v, n in ctx.variants.get(item.product_id, ()) if n > 0]
        return _reply(
            "utter_exchange_out_of_stock", order, policy,
            in_stock="、".join(in_stock) or "暂无", **facts,
        )
    return _reply("utter_return_or_exchange", order, policy, **facts)


def price_drop_refund(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    dropped = [i for i in order.goods if i.current_price < i.price_paid]
    if not dropped:
        return _reply("utter_price_no_drop", order, policy)
    difference = sum(((i.price_paid - i.current_price) * i.quantity for i in dropped), Decimal(0))
    return _reply(
        "utter_price_drop_approval", order, policy,
        price_items="、".join(
            f"{i.name}（{fmt_money(i.price_paid)} → {fmt_money(i.current_price)}）" for i in dropped
        ),
        difference=fmt_money(difference),
    )


def can_change_address(order: OrderFacts) -> bool:
    """Whether the address can still change: only until the order ships. When it
    can, ``change_address`` asks for the new address and the conversation takes it."""
    return order.state == OrderState.NOT_SHIPPED


def change_address(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if can_change_address(order):
        return _reply("utter_change_address_ask", order, policy, address=order.address)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_change_address_shipped", order, policy)
    return _reply("utter_change_address_too_late", order, policy)


CASE_STATE_RESPONSES = {
    CaseState.WAITING_CUSTOMER: "utter_refund_status_waiting_customer",
    CaseState.WAITING_SHOP: "utter_refund_status_waiting_shop",
    CaseState.NEEDS_APPROVAL: "utter_refund_status_needs_approval",
    CaseState.ESCALATED: "utter_refund_status_escalated",
}


def refund_status(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state in (
        OrderState.REFUSED_RETURNING, OrderState.RETURNED, OrderState.REFUNDED,
    ):
        return refund_after_shipping(order, now, policy, ctx)
    for case in ctx.cases:  # newest first
        if case.intent != "refund_status" and case.state in CASE_STATE_RESPONSES:
            return _reply(
                CASE_STATE_RESPONSES[case.state], order, policy,
                case_id=case.id, case_time=fmt_time(case.updated_at, policy),
            )
    return _reply("utter_refund_status_none", order, policy)


def _last_day(closes: datetime) -> str:
    return fmt_date(closes - timedelta(days=1))  # the window closes at 00:00 after the last day


Scenario = Callable[[OrderFacts, datetime, ShopPolicy, Context], Reply]

SCENARIOS: Dict[str, Scenario] = {
    "track_parcel": track_parcel,
    "signed_not_received": signed_not_received,
    "wrong_item": wrong_item,
    "quality_issue": quality_issue,
    "refund_after_shipping": refund_after_shipping,
    "urge_shipment": urge_shipment,
    "missing_item": missing_item,
    "return_or_exchange": return_or_exchange,
    "price_drop_refund": price_drop_refund,
    "change_address": change_address,
    "refund_status": refund_status,
}


def draft(
    scenario: str,
    order: OrderFacts,
    now: datetime,
    policy: ShopPolicy,
    ctx: Optional[Context] = None,
) -> Reply:
    """The reply for ``scenario`` about ``order`` at ``now``."""
    return SCENARIOS[scenario](order, now, policy, ctx or NO_CONTEXT)
