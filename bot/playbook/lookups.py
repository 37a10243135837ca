"""Which order the customer means: what to say about a lookup, and which recent order to pick.

``bot.access.order_access.OrderAccess`` decides what a customer may see; this
module decides what the customer is told: why a number opened no order, and
which of a verified buyer's recent orders the message is about.
"""

from __future__ import annotations

from typing import Collection, Dict, Iterable, List, Optional, Tuple

from bot.access.order_access import Lookup, order_matching
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import Reply, fmt_items, fmt_time, order_facts
from bot.shop.store import OrderFacts

# At most this many recent orders are listed to choose from.
LISTED_ORDERS = 5

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


def order_choice(
    recent: List[OrderFacts], rejected: Collection[str], policy: ShopPolicy
) -> Optional[str]:
    """The list a verified buyer picks their order from when asked which one
    (newest first, one per line); ``None`` unless there are two to choose
    from, once the orders they said were not the one are left out."""
    choices = [o for o in recent if o.order_id not in rejected]
    if len(choices) < 2:
        return None
    return "\n".join(
        f"{o.order_id}  {fmt_items(o.goods)}  {fmt_time(o.created_at, policy)}"
        for o in choices[:LISTED_ORDERS]
    )
