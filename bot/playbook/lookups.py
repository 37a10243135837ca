"""Which order the customer means: what to say about a lookup, and which recent order to pick.

``bot.access.order_access.OrderAccess`` decides what a customer may see; this
module decides what the customer is told: why a number opened no order, and
which of a verified buyer's recent orders the message is about.
"""

from __future__ import annotations

from typing import Collection, Dict, Iterable, List, Optional, Tuple

from bot.access.order_access import Lookup, order_matching
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import Reply, fmt_day, order_facts
from bot.shop.store import OrderFacts

# At most this many recent orders are offered as buttons to choose from.
LISTED_ORDERS = 5
# A product name on an order button is cut to this many characters.
LABEL_NAME_CHARS = 14
# The last button under the recent orders: the order is another one (typed).
OTHER_ORDER = "其他订单"

# Lookups that open an order (found), or go on to the phone check (unproven):
# nothing is said about them.
OPENED = frozenset({"found", "unproven"})

# Why a lookup opened no order, by its status.
LOOKUP_RESPONSES: Dict[str, str] = {
    "unknown": "utter_order_not_found",
    "malformed": "utter_order_number_missing",  # no digits that could be a number
    "no_tail": "utter_phone_tail_invalid",
    "mismatch": "utter_phone_tail_mismatch",
    "locked": "utter_order_check_locked",
}

# A malformed number that looks like something else, by its problem.
PROBLEM_RESPONSES: Dict[str, str] = {
    "too_short": "utter_order_number_too_short",
    "too_long": "utter_order_number_too_long",
    "phone": "utter_order_number_is_phone",
}


def lookup_response(found: Lookup) -> Optional[str]:
    """The response telling the customer why ``found`` opened no order;
    ``None`` when it opened one or the phone check comes next."""
    if found.status in OPENED:
        return None
    if found.problem is not None:
        return PROBLEM_RESPONSES[found.problem.kind]
    return LOOKUP_RESPONSES[found.status]


def pick_recent_order(
    recent: List[OrderFacts],
    rejected: Collection[str],
    policy: ShopPolicy,
    couriers: Iterable[str] = (),
    products: Iterable[str] = (),
) -> Optional[Tuple[OrderFacts, Reply]]:
    """The order a verified buyer means without naming it, and the reply naming it.

    Their only recent order is picked; among several, the one the named
    couriers and products fit (顺丰, 水壶). An order the customer said was not
    the one (``rejected``) is never picked again.
    """
    order: Optional[OrderFacts]
    if len(recent) == 1:
        order, response = recent[0], "utter_order_picked"
    else:
        order = order_matching(recent, couriers=couriers, products=products)
        response = "utter_order_matched"
    if order is None or order.order_id in rejected:
        return None
    return order, Reply(response, order_facts(order, policy))


def order_buttons(
    recent: List[OrderFacts], rejected: Collection[str], policy: ShopPolicy
) -> Optional[List[Dict[str, str]]]:
    """The buttons a verified buyer taps to pick their order when asked which one.

    ``recent`` are the buyer's own recent orders as ``OrderAccess.recent_orders``
    gives them (newest first): at most ``LISTED_ORDERS`` of them, each labelled
    with its goods and order date (「羊毛混纺针织开衫 · 11月3日」), then 「其他订单」 for
    one not listed. ``None`` unless there are two to choose from, once the orders
    they said were not the one are left out.

    A button's payload is the order number, sent as the customer's message: it
    goes through ``OrderAccess.find`` like a typed number, so a forged payload
    naming someone else's order opens nothing.
    """
    choices = [o for o in recent if o.order_id not in rejected][:LISTED_ORDERS]
    if len(choices) < 2:
        return None
    labels = [order_label(o, policy) for o in choices]
    buttons = [
        {"title": f"{label} · 尾号{o.order_id[-4:]}" if labels.count(label) > 1 else label,
         "payload": o.order_id}
        for o, label in zip(choices, labels)
    ]
    return [*buttons, {"title": OTHER_ORDER, "payload": OTHER_ORDER}]


def order_label(order: OrderFacts, policy: ShopPolicy) -> str:
    """An order as a buyer recognises it on a button: its first goods and its date."""
    goods = order.goods or order.items
    name = goods[0].name if goods else ""
    if len(name) > LABEL_NAME_CHARS:
        name = name[: LABEL_NAME_CHARS - 1] + "…"
    more = f" 等{len(goods)}件" if len(goods) > 1 else ""
    return f"{name}{more} · {fmt_day(order.created_at, policy)}"


def other_order_chosen(text: str) -> bool:
    """Whether the customer chose 「其他订单」 (tapped, or typed as shown)."""
    return text.strip() == OTHER_ORDER
