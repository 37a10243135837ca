"""Drafting replies: which response of the domain answers, filled with which facts.

Each scenario function looks at the order's real state and the shop policy
and returns a ``Reply``: the name of a response in ``domain/`` and the facts
its template needs. The text itself lives in the domain, never here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from bot.playbook.policy import (
    ShopPolicy,
    courier_answer_deadline,
    missing_item_report_open,
    price_protected,
    quality_claim_open,
    return_window,
    returned_handling_deadline,
    ship_deadline,
    shipping_deadline_passed,
    to_shop_time,
    unopened_only,
    who_pays_return_shipping,
)
from bot.playbook.variants import requested_variant
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.store import SHIPPED_NOT_SIGNED, ItemFacts, OrderFacts, OrderState, ShipmentFacts

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Phrase:
    """A piece of a reply chosen by the order's data: a domain response, filled with
    ``facts`` and put into the reply's template (``bot.playbook.render``)."""

    response: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderNoteSpec:
    """A note the reply's sending writes on the order first (插旗备注: its case note's
    text); with ``due_at``, the promise the reply makes. A reply says 「已备注」 only
    when it carries one."""

    kind: str
    due_at: Optional[datetime] = None


@dataclass(frozen=True)
class Reply:
    """The response that answers (its case note names the case) and its facts;
    ``more``: further bubbles sent after it with the same facts."""

    response: str
    facts: Dict[str, Any] = field(default_factory=dict)
    more: Tuple[str, ...] = ()
    promised: Optional[datetime] = None  # a deadline the reply gives the customer (naive UTC)
    order_note: Optional[OrderNoteSpec] = None
    case_intent: Optional[str] = None  # the case it belongs to, when not the scenario's own

    @property
    def bubbles(self) -> Tuple[str, ...]:
        return (self.response, *self.more)


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

# A short count inside a bottle (「粒数不够」「少了几粒」) is a product defect, not a
# shortage in the parcel: the quality path answers it (000 产品问题 3).
SHORT_COUNT = re.compile(r"粒|颗数")
# Damage done by the courier (「箱子压烂了」「快递把外包装摔破了」), not a product defect.
COURIER_DAMAGE = re.compile(r"压(?:烂|坏|扁|变形)|外箱|外包装|箱子.{0,4}(?:破|烂|坏)|快递.{0,6}(?:摔|压|弄)")


# -- formatting ------------------------------------------------------------------


def fmt_date(local: datetime, clock: bool = False) -> str:
    """A date as customers read it, 11月21日, or with ``clock`` 11月21日 09:00.

    The one place the format is written; ``local`` is already the shop's time.
    """
    day = f"{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if clock else day


def fmt_time(moment: datetime, policy: ShopPolicy) -> str:
    """A naive-UTC moment as the shop's local date and clock."""
    return fmt_date(to_shop_time(moment, policy.timezone), clock=True)


def fmt_day(moment: datetime, policy: ShopPolicy) -> str:
    """A naive-UTC moment as the shop's local date."""
    return fmt_date(to_shop_time(moment, policy.timezone))


# A promise is rounded up for people to the next of these local times: never minute-exact.
PROMISE_TIMES = ((time(12, 0), "中午12点前"), (time(18, 0), "下午6点前"), (time(22, 0), "晚上10点前"))


def round_promise(moment: datetime, policy: ShopPolicy) -> Tuple[datetime, str]:
    """``moment`` rounded up to 12:00, 18:00 or 22:00 shop time (naive UTC) and how to say it:
    「11月21日下午6点前」."""
    local = to_shop_time(moment, policy.timezone)
    for day in (local.date(), local.date() + timedelta(days=1)):
        for at, words in PROMISE_TIMES:
            rounded = datetime.combine(day, at, tzinfo=policy.timezone)
            if rounded >= local:
                return rounded.astimezone(_UTC).replace(tzinfo=None), f"{fmt_date(rounded)}{words}"
    raise AssertionError("unreachable: the next day has a promise time")


def fmt_money(amount: Decimal) -> str:
    return f"¥{amount:.2f}"


def fmt_items(items: Iterable[ItemFacts]) -> str:
    return "、".join(i.label for i in items)


def order_facts(order: OrderFacts, policy: ShopPolicy, now: Optional[datetime] = None) -> Dict[str, Any]:
    """Facts every scenario may use; every one of them is there for every order of its
    state, data missing or not (a phrase says what is missing in the customer's words)."""
    gifts = fmt_items(order.gifts)
    facts: Dict[str, Any] = {
        "order_id": order.order_id,
        "items": fmt_items(order.goods),
        "gifts_part": Phrase("utter_phrase_gifts", {"gifts": gifts}) if gifts else "",
        "amount": fmt_money(order.amount_paid),
        "order_time": fmt_time(order.created_at, policy),
    }
    shipment = order.shipment
    if shipment is not None:
        facts.update(
            courier=shipment.courier,
            tracking_number=shipment.tracking_number,
            shipped_time=fmt_time(shipment.shipped_at, policy),
            latest=_latest(shipment, policy),
            eta_note=_eta(shipment, now, policy),
        )
        if shipment.signed_at is not None:
            facts["signed_time"] = fmt_time(shipment.signed_at, policy)
            facts["signer"] = (
                Phrase("utter_phrase_signer", {"signed_by": shipment.signed_by})
                if shipment.signed_by else Phrase("utter_phrase_no_signer")
            )
    return facts


def _latest(shipment: ShipmentFacts, policy: ShopPolicy) -> Phrase:
    last = shipment.last_event
    if last is None:  # the label is printed, the courier has scanned nothing yet
        return Phrase("utter_phrase_no_event")
    return Phrase("utter_phrase_latest", {"time": fmt_time(last.time, policy), "event": last.description})


def _eta(shipment: ShipmentFacts, now: Optional[datetime], policy: ShopPolicy) -> Phrase:
    eta = shipment.eta
    if eta is None or (now is not None and fmt_day(eta, policy) != fmt_day(now, policy) and eta < now):
        return Phrase("utter_phrase_no_eta")  # no estimate, or one already past
    return Phrase("utter_phrase_eta", {"eta": fmt_day(eta, policy)})


def fee(reason: str, policy: ShopPolicy) -> Phrase:
    """Who pays the shipping for ``reason``, said the way that payer's rule works."""
    if who_pays_return_shipping(reason, policy) == "shop":
        return Phrase("utter_phrase_fee_shop", {"fee_cap": fmt_money(policy.return_fee_cap)})
    return Phrase("utter_phrase_fee_buyer")


def return_facts(policy: ShopPolicy) -> Dict[str, Any]:
    """Where and how goods come back, and who pays (phrases chosen by ``shop.yml``)."""
    return {
        "return_address": policy.return_address,
        "return_receiver": policy.return_receiver,
        "return_phone": policy.return_phone,
        "handling_days": policy.handling_days,
        "window_days": policy.return_window_days,
        "must_return": policy.must_return,
        "exclusions": policy.exclusions,
        "cod_rule": policy.cod_rule,
        "fee_personal": fee("dislike", policy),
        "fee_fault": fee("wrong_item", policy),
        "fee_quality": fee("quality_issue", policy),
        "fee_wrong_item": fee("wrong_item", policy),
        "exchange_fee": Phrase(f"utter_phrase_exchange_fee_{policy.exchange_shipping}"),
    }


def _reply(name: str, order: OrderFacts, policy: ShopPolicy, *more: str, **extra: Any) -> Reply:
    promised = extra.pop("promised", None)
    note = extra.pop("order_note", None)
    now = extra.pop("now", None)
    case_intent = extra.pop("case_intent", None)
    facts = order_facts(order, policy, now)
    facts.update(extra)
    return Reply(name, facts, tuple(more), promised, note, case_intent)


def _returning(name: str, order: OrderFacts, policy: ShopPolicy, now: datetime, *more: str, **extra: Any) -> Reply:
    """A reply whose goods come back: the return address bubble and its facts added."""
    return _reply(name, order, policy, *more, "utter_return_address", now=now,
                  **{**return_facts(policy), **extra})


# -- states every scenario shares ----------------------------------------------------


def _not_shipped(name: str, order: OrderFacts, now: datetime, policy: ShopPolicy) -> Reply:
    """An unshipped order: unpaid, overdue (no past date restated as a promise), or ``name``
    with the shipping deadline as the promise."""
    if order.paid_at is None:
        return _reply("utter_order_unpaid", order, policy, now=now,
                      ship_within_hours=policy.ship_within_hours)
    deadline = ship_deadline(order.paid_at, order.ship_by, policy)
    assert deadline is not None
    if shipping_deadline_passed(deadline, now):
        return _reply(
            "utter_not_shipped_overdue", order, policy, now=now,
            missed_day=fmt_day(deadline, policy),
            order_note=OrderNoteSpec("urgent"),
        )
    promised, ship_by = round_promise(deadline, policy)
    return _reply(name, order, policy, now=now, ship_by=ship_by, promised=promised)


def _back_at_shop(order: OrderFacts, now: datetime, policy: ShopPolicy) -> Reply:
    """Goods on their way back, back, or refunded: said as the data says, never more."""
    state = order.state
    if state == OrderState.REFUSED_RETURNING:
        return _reply("utter_parcel_returning", order, policy, now=now)
    if state == OrderState.RETURNED:
        returned_at = order.returned_at or _last_event_time(order) or now
        due = returned_handling_deadline(returned_at, policy)
        facts = dict(returned_day=fmt_day(returned_at, policy), handling_days=policy.handling_days)
        if now > due:
            return _reply(
                "utter_return_received_overdue", order, policy, now=now,
                order_note=OrderNoteSpec("urgent_refund"),
                **facts,
            )
        promised, handle_by = round_promise(due, policy)
        return _reply("utter_return_received", order, policy, now=now, handle_by=handle_by,
                      promised=promised, **facts)
    refund = order.refund_amount if order.refund_amount is not None else order.amount_paid
    facts = dict(refund_amount=fmt_money(refund),
                 refund_day=fmt_day(order.refunded_at or now, policy))
    if refund < order.amount_paid:
        return _reply("utter_refunded_partly", order, policy, now=now, **facts)
    return _reply("utter_refunded", order, policy, now=now, **facts)


def _last_event_time(order: OrderFacts) -> Optional[datetime]:
    last = order.shipment.last_event if order.shipment else None
    return last.time if last else None


def _goods_not_received(order: OrderFacts, now: datetime, policy: ShopPolicy) -> Reply:
    """The goods have not reached the buyer: say where they are instead."""
    if order.state == OrderState.NOT_SHIPPED:
        return _not_shipped("utter_goods_not_shipped_yet", order, now, policy)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_goods_on_the_way", order, policy, now=now)
    return _back_at_shop(order, now, policy)


def _signed_at(order: OrderFacts) -> datetime:
    assert order.shipment is not None and order.shipment.signed_at is not None
    return order.shipment.signed_at


# -- the five core scenarios ---------------------------------------------------------


def track_parcel(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    state = order.state
    if state == OrderState.NOT_SHIPPED:
        return _not_shipped("utter_track_not_shipped", order, now, policy)
    if state in SHIPPED_NOT_SIGNED:
        name = "utter_track_in_transit" if state == OrderState.IN_TRANSIT else "utter_track_out_for_delivery"
        last = _last_event_time(order)
        if last is not None and now - last > timedelta(hours=policy.tracking_stale_hours):
            # no move for too long: apologise, and the shop chases the courier (000 催件)
            return _reply("utter_track_stale", order, policy, name, now=now,
                          stale_hours=policy.tracking_stale_hours)
        return _reply(name, order, policy, now=now)
    if state == OrderState.SIGNED:
        return _reply("utter_track_signed", order, policy, now=now)
    return _back_at_shop(order, now, policy)


COURIER_ANSWER = "courier_answer"


def signed_not_received(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state == OrderState.NOT_SHIPPED:
        return _not_shipped("utter_snr_not_shipped", order, now, policy)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_snr_not_signed_yet", order, policy, now=now)
    if order.state != OrderState.SIGNED:
        return _back_at_shop(order, now, policy)
    given = order.promise(COURIER_ANSWER) if _case_open(ctx, "signed_not_received") else None
    if given is not None and given.due_at is not None:  # asked again: the first promise stands
        _, answer_by = round_promise(given.due_at, policy)
        if now > given.due_at:
            return _reply("utter_snr_promise_overdue", order, policy, now=now, missed_answer_by=answer_by)
        return _reply("utter_snr_signed", order, policy, "utter_snr_steps", now=now,
                      answer_by=answer_by, promised=given.due_at)
    promised, answer_by = round_promise(courier_answer_deadline(now, policy), policy)
    return _reply("utter_snr_signed", order, policy, "utter_snr_steps", now=now,
                  answer_by=answer_by, promised=promised,
                  order_note=OrderNoteSpec(COURIER_ANSWER, promised))


def _case_open(ctx: Context, intent: str) -> bool:
    """Whether the order has a case of ``intent`` not closed yet: its promise still holds."""
    return any(c.intent == intent and c.state != CaseState.CLOSED for c in ctx.cases)


def wrong_item(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, now, policy)
    aspects = ctx.entities.get("aspect") or ()
    if aspects:  # 「颜色发错了」: what they told us, not yet a fact
        return _returning("utter_wrong_item_aspect", order, policy, now, "utter_wrong_item_steps",
                          aspect=aspects[0])
    return _returning("utter_wrong_item", order, policy, now, "utter_wrong_item_steps")


def quality_issue(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state in SHIPPED_NOT_SIGNED:
        # before signing, courier damage is the shop's: inspect and refuse (001)
        return _reply("utter_quality_before_signing", order, policy, now=now,
                      after_signing=Phrase(f"utter_phrase_damage_after_signing_{policy.courier_damage_after_signing}"))
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, now, policy)
    if not quality_claim_open(_signed_at(order), now, policy):
        return _reply("utter_quality_claim_late", order, policy, now=now,
                      claim_days=policy.quality_claim_days)
    if COURIER_DAMAGE.search(ctx.text) and policy.courier_damage_after_signing == "buyer":
        # the box crushed on the way, noticed after signing: the signer's (001)
        return _reply("utter_quality_courier_damage_signed", order, policy, now=now)
    return _returning("utter_quality_issue", order, policy, now, "utter_quality_steps")


def refund_after_shipping(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    state = order.state
    if state == OrderState.NOT_SHIPPED:
        if order.paid_at is None:
            return _reply("utter_refund_unpaid", order, policy, now=now)
        return _reply("utter_refund_cancel_unshipped", order, policy, now=now)
    if state in SHIPPED_NOT_SIGNED:
        return _reply("utter_refund_refuse_delivery", order, policy, now=now)
    if state != OrderState.SIGNED:
        return _back_at_shop(order, now, policy)
    if _in_quality_case(ctx):
        return _quality_choice(order, now, policy, ctx)
    is_open, closes, days_left = return_window(_signed_at(order), now, policy)
    if not is_open:
        return _reply("utter_refund_window_closed", order, policy, now=now,
                      window_days=policy.return_window_days, window_last_day=_last_day(closes))
    return _returning(
        "utter_refund_return_in_window", order, policy, now, "utter_refund_return_steps",
        *_unopened_bubble(order, policy),
        days_left=days_left, window_last_day=_last_day(closes), **_unopened_facts(order, policy),
    )


def _in_quality_case(ctx: Context) -> bool:
    """The order's newest case is a quality problem waiting for the customer's choice."""
    newest = ctx.cases[0] if ctx.cases else None
    return newest is not None and newest.intent == "quality_issue" and newest.state == CaseState.WAITING_CUSTOMER


# 「换货」 inside a quality case: an exchange; anything else (「退货」「退款」) a return
EXCHANGE_WORD = re.compile(r"换")


def _quality_choice(order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context) -> Reply:
    """「退货」or「换货」 answered inside a quality case stays a quality case (W13): the
    shop's shipping rule for quality problems, never the no-reason return's."""
    choice = "exchange" if EXCHANGE_WORD.search(ctx.text) else "return"
    return _returning("utter_quality_choice", order, policy, now,
                      choice=Phrase(f"utter_phrase_choice_{choice}"), case_intent="quality_issue")


def _unopened_goods(order: OrderFacts, policy: ShopPolicy) -> List[str]:
    return [i.name for i in order.goods if unopened_only(i.name, policy)]


def _unopened_bubble(order: OrderFacts, policy: ShopPolicy) -> Tuple[str, ...]:
    return ("utter_return_unopened_only",) if _unopened_goods(order, policy) else ()


def _unopened_facts(order: OrderFacts, policy: ShopPolicy) -> Dict[str, Any]:
    names = _unopened_goods(order, policy)
    return {"unopened_goods": "、".join(names)} if names else {}


# -- the rest of the playbook -----------------------------------------------------------


def urge_shipment(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.NOT_SHIPPED:
        if order.state in SHIPPED_NOT_SIGNED:
            return _reply("utter_urge_already_shipped", order, policy, now=now)
        return track_parcel(order, now, policy, ctx)
    reply = _not_shipped(
        "utter_urge_campaign" if order.ship_by is not None else "utter_urge_not_shipped",
        order, now, policy,
    )
    if reply.response in ("utter_urge_campaign", "utter_urge_not_shipped"):
        # the reply says 「已在订单上备注」: the note is written before it is sent
        return Reply(reply.response, reply.facts, reply.more, reply.promised,
                     OrderNoteSpec("urgent"))
    return reply


def missing_item(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state != OrderState.SIGNED:
        return _goods_not_received(order, now, policy)
    if SHORT_COUNT.search(ctx.text):
        return quality_issue(order, now, policy, ctx)
    hours = policy.missing_report_hours
    if missing_item_report_open(_signed_at(order), now, policy):
        return _reply("utter_missing_item", order, policy, "utter_missing_item_steps", now=now)
    name = "utter_missing_item_late" if policy.late_missing_reports == "supervisor" else "utter_missing_item_refused"
    return _reply(name, order, policy, now=now, report_hours=hours)


def return_or_exchange(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state == OrderState.NOT_SHIPPED:
        return _change_before_shipping(order, now, policy, ctx)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_refund_refuse_delivery", order, policy, now=now)
    if order.state != OrderState.SIGNED:
        return _back_at_shop(order, now, policy)
    if _in_quality_case(ctx):
        return _quality_choice(order, now, policy, ctx)
    is_open, closes, days_left = return_window(_signed_at(order), now, policy)
    window = dict(window_days=policy.return_window_days, window_last_day=_last_day(closes))
    if not is_open:
        return _reply("utter_refund_window_closed", order, policy, now=now, **window)
    facts = dict(window, days_left=days_left, **_unopened_facts(order, policy))
    unopened = _unopened_bubble(order, policy)
    for item in order.goods:
        stock = ctx.variants.get(item.product_id, ())
        wanted = requested_variant(ctx.text, item.variant, stock)
        if wanted is None:
            continue
        name, left = wanted
        facts.update(product=item.name, from_variant=item.variant, to_variant=name)
        if left > 0:
            return _returning("utter_exchange_available", order, policy, now, "utter_exchange_steps", **facts)
        others = [v for v, n in stock if n > 0 and v not in (item.variant, name)]
        if not others:
            return _reply("utter_exchange_none_in_stock", order, policy, now=now, **facts)
        return _reply("utter_exchange_out_of_stock", order, policy, now=now,
                      in_stock="、".join(others), **facts)
    return _returning("utter_return_or_exchange", order, policy, now, "utter_return_or_exchange_steps",
                      "utter_return_exclusions", *unopened, **facts)


def _change_before_shipping(order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context) -> Reply:
    """A size or colour change before shipping is a change to the order, noted (001 售前)."""
    if order.paid_at is None:
        return _reply("utter_order_unpaid", order, policy, now=now, ship_within_hours=policy.ship_within_hours)
    for item in order.goods:
        wanted = requested_variant(ctx.text, item.variant, ctx.variants.get(item.product_id, ()))
        if wanted is None:
            continue
        name, left = wanted
        facts = dict(product=item.name, from_variant=item.variant, to_variant=name)
        if left <= 0:
            return _reply("utter_change_variant_out_of_stock", order, policy, now=now, **facts)
        return _reply("utter_change_variant_noted", order, policy, now=now,
                      order_note=OrderNoteSpec("change_variant"), **facts)
    return _reply("utter_change_before_shipping", order, policy, now=now)


def price_drop_refund(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state not in (OrderState.NOT_SHIPPED, OrderState.SIGNED, *SHIPPED_NOT_SIGNED):
        return _back_at_shop(order, now, policy)  # returned or refunded: no difference to pay
    if order.paid_at is None:
        return _reply("utter_order_unpaid", order, policy, now=now, ship_within_hours=policy.ship_within_hours)
    dropped = [i for i in order.goods if i.current_price < i.price_paid]
    if not dropped:
        return _reply("utter_price_no_drop", order, policy, now=now)
    if not price_protected(order.created_at, now, policy):
        return _reply("utter_price_drop_too_old", order, policy, now=now,
                      price_drop_days=policy.price_drop_days)
    difference = sum(((i.price_paid - i.current_price) * i.quantity for i in dropped), Decimal(0))
    return _reply(
        "utter_price_drop_approval", order, policy, now=now,
        price_items="、".join(
            f"{i.name} {fmt_money(i.price_paid)} → {fmt_money(i.current_price)}" for i in dropped
        ),
        difference=fmt_money(difference),
    )


def can_change_address(order: OrderFacts) -> bool:
    """Whether the address can still change: only until the order ships. When it
    can, ``change_address`` asks for the new address and the conversation takes it."""
    return order.state == OrderState.NOT_SHIPPED


def takes_new_address(order: OrderFacts) -> bool:
    """Whether the conversation asks for a new address: to change it before shipping,
    or to note it for the courier to redirect the parcel on its way (001 售前)."""
    return can_change_address(order) or order.state in SHIPPED_NOT_SIGNED


def change_address(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if can_change_address(order):
        return _reply("utter_change_address_ask", order, policy, now=now, address=order.address)
    if order.state in SHIPPED_NOT_SIGNED:
        return _reply("utter_change_address_shipped", order, policy, now=now)
    return _reply("utter_change_address_too_late", order, policy, now=now)


# refund_status: what an open case means depends on what it is about (W6)
REFUND_INTENTS = frozenset({"refund_after_shipping", "return_or_exchange", "quality_issue", "wrong_item"})
CASE_STATUS_RESPONSES = {
    (True, CaseState.WAITING_CUSTOMER): "utter_refund_status_waiting_customer",
    (True, CaseState.WAITING_SHOP): "utter_refund_status_waiting_shop",
    (True, CaseState.NEEDS_APPROVAL): "utter_refund_status_needs_approval",
    (True, CaseState.ESCALATED): "utter_refund_status_escalated",
    (False, CaseState.WAITING_CUSTOMER): "utter_case_status_waiting_customer",
    (False, CaseState.WAITING_SHOP): "utter_case_status_waiting_shop",
    (False, CaseState.NEEDS_APPROVAL): "utter_case_status_needs_approval",
    (False, CaseState.ESCALATED): "utter_refund_status_escalated",
}


def refund_status(
    order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT
) -> Reply:
    if order.state in (OrderState.REFUSED_RETURNING, OrderState.RETURNED, OrderState.REFUNDED):
        return _back_at_shop(order, now, policy)
    for case in ctx.cases:  # newest first
        key = (case.intent in REFUND_INTENTS, case.state)
        if case.intent != "refund_status" and key in CASE_STATUS_RESPONSES:
            return _reply(CASE_STATUS_RESPONSES[key], order, policy, now=now,
                          case_time=fmt_time(case.updated_at, policy))
    return _reply("utter_refund_status_none", order, policy, now=now)


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
