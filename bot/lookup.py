"""Finding the order a customer means, without revealing other buyers' orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional

from bot.ids import (
    NumberProblem,
    find_order_id,
    find_tracking_number,
    normalise_digits,
    order_number_problem,
)
from bot.store import OrderFacts, OrderStore


@dataclass(frozen=True)
class Lookup:
    status: str  # "found", "unknown" (no such order for this buyer) or "malformed"
    given: str = ""
    order: Optional[OrderFacts] = None
    problem: Optional[NumberProblem] = None


def visible_to(order: OrderFacts, account: Optional[str]) -> bool:
    """A known buyer sees only their own orders; an anonymous chat needs the number."""
    return account is None or order.buyer_account == account


def lookup_order(store: OrderStore, text: str, account: Optional[str]) -> Lookup:
    """Look up the order named in ``text``: an order number or a tracking number."""
    text = normalise_digits(text.strip())
    order_id = find_order_id(text)
    if order_id is not None:
        order = store.get_order(order_id)
        given = order_id
    else:
        tracking = find_tracking_number(text)
        if tracking is None:
            return Lookup("malformed", given=text, problem=order_number_problem(text))
        order = store.order_by_tracking_number(tracking)
        given = tracking
    if order is None or not visible_to(order, account):
        return Lookup("unknown", given=given)
    return Lookup("found", given=given, order=order)


def order_matching(
    orders: List[OrderFacts], couriers: Iterable[str] = (), products: Iterable[str] = ()
) -> Optional[OrderFacts]:
    """The one order among ``orders`` that the named couriers and products fit, if one.

    A courier fits an order shipped with it; a product word fits an order with
    an item whose name contains it (「水壶」 fits 电热水壶).
    """
    couriers, products = list(couriers), list(products)
    if not couriers and not products:
        return None

    def fits(order: OrderFacts) -> bool:
        courier_ok = not couriers or (
            order.shipment is not None and order.shipment.courier in couriers
        )
        product_ok = not products or any(p in i.name for p in products for i in order.items)
        return courier_ok and product_ok

    matches = [o for o in orders if fits(o)]
    return matches[0] if len(matches) == 1 else None
