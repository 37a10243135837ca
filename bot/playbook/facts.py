"""The facts replies are filled with: formatting for people, the facts every order has,
and the named fact sets and promises a row of ``playbook.yml`` asks for.

Numbers come from the shop policy (``shop.yml``) only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from bot.playbook.conditions import (
    courier_answer_given,
    returned_at,
    signed_at,
    status_case,
    unopened_goods,
    variant_wanted,
)
from bot.playbook.context import PriceDifferenceAsked, Situation
from bot.playbook.policy import (
    ShopPolicy,
    courier_answer_deadline,
    payout_deadline,
    return_window,
    returned_handling_deadline,
    ship_deadline,
    to_shop_time,
    who_pays_return_shipping,
)
from bot.shop.store import ItemFacts, OrderFacts, ShipmentFacts

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Phrase:
    """A piece of a reply chosen by the order's data: a domain response, filled with
    ``facts`` and put into the reply's template (``bot.playbook.render``)."""

    response: str
    facts: Mapping[str, Any] = field(default_factory=dict)


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


# -- named fact sets and promises (playbook.yml ``facts:`` and ``promise:``) ----------------

Facts = Dict[str, Any]


@dataclass(frozen=True)
class FactSet:
    """Facts a row adds to the order's: ``keys`` are the names it always gives (the
    validation checks a response's placeholders against them)."""

    keys: Tuple[str, ...]
    compute: Callable[[Situation], Facts]


def _deadline(sit: Situation) -> datetime:
    due = ship_deadline(sit.order.paid_at, sit.order.ship_by, sit.policy)
    assert due is not None, "a shipping deadline needs a paid order"
    return due


def _window(sit: Situation) -> Facts:
    _, closes, _ = return_window(signed_at(sit.order), sit.now, sit.policy)
    return {"window_days": sit.policy.return_window_days, "window_last_day": last_day(closes)}


def _refund(sit: Situation) -> Facts:
    order = sit.order
    refund = order.refund_amount if order.refund_amount is not None else order.amount_paid
    return {"refund_amount": fmt_money(refund), "refund_day": fmt_day(order.refunded_at or sit.now, sit.policy)}


def _missed_answer_by(sit: Situation) -> Facts:
    given = courier_answer_given(sit)
    assert given is not None and given.due_at is not None
    return {"missed_answer_by": round_promise(given.due_at, sit.policy)[1]}


# 「换货」 inside a quality case: an exchange; anything else (「退货」「退款」) a return
EXCHANGE_WORD = re.compile(r"换")


def _choice(sit: Situation) -> Facts:
    choice = "exchange" if EXCHANGE_WORD.search(sit.ctx.text) else "return"
    return {"choice": Phrase(f"utter_phrase_choice_{choice}")}


def _aspect(sit: Situation) -> Facts:
    return {"aspect": (sit.ctx.entities.get("aspect") or ("",))[0]}


def price_difference(order: OrderFacts) -> Tuple[Tuple[ItemFacts, ...], Decimal]:
    """The goods that cost less now than was paid, and the difference owed for them (退差价)."""
    dropped = tuple(i for i in order.goods if i.current_price < i.price_paid)
    return dropped, sum(((i.price_paid - i.current_price) * i.quantity for i in dropped), Decimal(0))


def price_items(dropped: Iterable[ItemFacts]) -> str:
    return "、".join(f"{i.name} {fmt_money(i.price_paid)} → {fmt_money(i.current_price)}" for i in dropped)


def _price_difference(sit: Situation) -> Facts:
    dropped, difference = price_difference(sit.order)
    return {"price_items": price_items(dropped), "difference": fmt_money(difference)}


def _asked(sit: Situation) -> PriceDifferenceAsked:
    asked = sit.ctx.price_difference
    assert asked is not None, "a row with a price difference's record needs a price_difference_* condition"
    return asked


def _difference_owed(sit: Situation) -> Facts:
    """An approved 退差价: its amount and the time its payout promise gives (from the
    decision when no promise is open)."""
    asked = _asked(sit)
    due = asked.pay_due or payout_deadline(asked.decided_at or sit.now, sit.policy)
    return {"difference": fmt_money(asked.amount), "pay_by": round_promise(due, sit.policy)[1]}


def _difference_paid(sit: Situation) -> Facts:
    asked = _asked(sit)
    return {"difference": fmt_money(asked.amount), "paid_time": fmt_time(asked.paid_at or sit.now, sit.policy),
            "reference": f"，打款记录：{asked.reference}" if asked.reference else ""}


def _difference_denied(sit: Situation) -> Facts:
    asked = _asked(sit)
    return {"difference": fmt_money(asked.amount), "reason": asked.reason or "不符合退差价的条件"}


def _exchange(sit: Situation) -> Facts:
    wanted = variant_wanted(sit)
    assert wanted is not None, "a row with the exchange facts needs variant_requested"
    item, name, _, _ = wanted
    return {"product": item.name, "from_variant": item.variant, "to_variant": name}


def _in_stock(sit: Situation) -> Facts:
    wanted = variant_wanted(sit)
    assert wanted is not None, "a row with the in_stock facts needs variant_requested"
    return {"in_stock": "、".join(wanted[3])}


def _case_time(sit: Situation) -> Facts:
    case = status_case(sit)
    assert case is not None, "a row with the case_time facts needs a status_case_* condition"
    return {"case_time": fmt_time(case.updated_at, sit.policy)}


RETURN_KEYS = ("return_address", "return_receiver", "return_phone", "handling_days", "window_days",
               "must_return", "exclusions", "cod_rule", "fee_personal", "fee_fault", "fee_quality",
               "fee_wrong_item", "exchange_fee")

FACT_SETS: Dict[str, FactSet] = {
    "ship_within_hours": FactSet(("ship_within_hours",),
                                 lambda s: {"ship_within_hours": s.policy.ship_within_hours}),
    "missed_day": FactSet(("missed_day",), lambda s: {"missed_day": fmt_day(_deadline(s), s.policy)}),
    "stale_hours": FactSet(("stale_hours",), lambda s: {"stale_hours": s.policy.tracking_stale_hours}),
    "returned": FactSet(("returned_day", "handling_days"), lambda s: {
        "returned_day": fmt_day(returned_at(s.order, s.now), s.policy), "handling_days": s.policy.handling_days}),
    "refund": FactSet(("refund_amount", "refund_day"), _refund),
    "return": FactSet(RETURN_KEYS, lambda s: return_facts(s.policy)),
    "window": FactSet(("window_days", "window_last_day"), _window),
    "days_left": FactSet(("days_left",), lambda s: {
        "days_left": return_window(signed_at(s.order), s.now, s.policy)[2]}),
    "unopened_goods": FactSet(("unopened_goods",), lambda s: {
        "unopened_goods": "、".join(unopened_goods(s.order, s.policy))}),
    "missed_answer_by": FactSet(("missed_answer_by",), _missed_answer_by),
    "choice": FactSet(("choice",), _choice),
    "aspect": FactSet(("aspect",), _aspect),
    "after_signing": FactSet(("after_signing",), lambda s: {"after_signing": Phrase(
        f"utter_phrase_damage_after_signing_{s.policy.courier_damage_after_signing}")}),
    "claim_days": FactSet(("claim_days",), lambda s: {"claim_days": s.policy.quality_claim_days}),
    "report_hours": FactSet(("report_hours",), lambda s: {"report_hours": s.policy.missing_report_hours}),
    "price_drop_days": FactSet(("price_drop_days",), lambda s: {"price_drop_days": s.policy.price_drop_days}),
    "price_difference": FactSet(("price_items", "difference"), _price_difference),
    "difference_asked": FactSet(("difference",), lambda s: {"difference": fmt_money(_asked(s).amount)}),
    "difference_owed": FactSet(("difference", "pay_by"), _difference_owed),
    "difference_paid": FactSet(("difference", "paid_time", "reference"), _difference_paid),
    "difference_denied": FactSet(("difference", "reason"), _difference_denied),
    "address": FactSet(("address",), lambda s: {"address": s.order.address}),
    "exchange": FactSet(("product", "from_variant", "to_variant"), _exchange),
    "in_stock": FactSet(("in_stock",), _in_stock),
    "case_time": FactSet(("case_time",), _case_time),
}


@dataclass(frozen=True)
class PromiseRule:
    """A time the reply promises: given to the customer as the fact ``fact`` (rounded for
    people), kept as the reply's ``promised`` (rounded, or ``exact`` when made before)."""

    fact: str
    due: Callable[[Situation], datetime]
    exact: bool = False


def _held_answer(sit: Situation) -> datetime:
    given = courier_answer_given(sit)
    assert given is not None and given.due_at is not None
    return given.due_at


PROMISES: Dict[str, PromiseRule] = {
    "ship_by": PromiseRule("ship_by", _deadline),
    "handle_by": PromiseRule("handle_by", lambda s: returned_handling_deadline(returned_at(s.order, s.now), s.policy)),
    "answer_by": PromiseRule("answer_by", lambda s: courier_answer_deadline(s.now, s.policy)),
    # asked again while the case is open: the first promise stands
    "answer_by_held": PromiseRule("answer_by", _held_answer, exact=True),
}


def promised(rule: PromiseRule, sit: Situation) -> Tuple[datetime, str]:
    """The promised moment (naive UTC) and how it is said."""
    due = rule.due(sit)
    rounded, words = round_promise(due, sit.policy)
    return (due if rule.exact else rounded), words


def last_day(closes: datetime) -> str:
    return fmt_date(closes - timedelta(days=1))  # the window closes at 00:00 after the last day
