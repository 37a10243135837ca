"""The one function that drafts a scenario's reply with its whole context.

The bot's scenario actions (actions/scenario.py) and the agents' drafts
(bot/assist.py) both call ``scenario_reply``: the same order, the same message and
entities, the same variants' stock and the same cases, so an agent's draft never
contradicts what the bot would say (review W7).
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping, Optional, Sequence

from bot.playbook.payouts import price_difference_asked
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import CONTEXT_ENTITIES, Context, Reply, draft
from bot.shop.cases import CaseLog
from bot.shop.store import OrderFacts, OrderStore

# what a scenario reads beyond the message and the order's cases: the variants' stock
NEEDS_VARIANTS = frozenset({"return_or_exchange"})
# ... and the order's 退差价 asked before: asking again is answered from its record
NEEDS_PRICE_DIFFERENCE = frozenset({"price_drop_refund"})


def scenario_context(
    scenario: str, order: OrderFacts, store: Optional[OrderStore], text: str = "",
    entities: Optional[Mapping[str, Sequence[str]]] = None, conversation: Optional[str] = None,
) -> Context:
    """Everything ``draft`` may need for ``scenario`` about ``order`` (reads the store;
    without one, only the message and its entities). The order's cases come newest first,
    those of ``conversation`` before the others: 「换货」 answers this conversation's
    quality case, not a newer case another conversation opened about the same order."""
    entities = entities or {}
    cases = CaseLog(store).cases_for_order(order.order_id) if store is not None else []
    if conversation is not None:
        cases = sorted(cases, key=lambda c: c.conversation_id != conversation)  # stable: newest first
    return Context(
        text=text,
        entities={e: list(entities.get(e) or ()) for e in CONTEXT_ENTITIES},
        variants={i.product_id: store.variants(i.product_id) for i in order.goods}
        if store is not None and scenario in NEEDS_VARIANTS else {},
        # every scenario: an open case changes the answer (a promise already given, the
        # quality case a 「换货」 belongs to, the refund status)
        cases=tuple(cases),
        price_difference=price_difference_asked(CaseLog(store), order.order_id)
        if store is not None and scenario in NEEDS_PRICE_DIFFERENCE else None,
    )


def scenario_reply(
    scenario: str, order: OrderFacts, now: datetime, policy: ShopPolicy, store: Optional[OrderStore],
    text: str = "", entities: Optional[Mapping[str, Sequence[str]]] = None,
    conversation: Optional[str] = None,
) -> Reply:
    """The reply to ``scenario`` about ``order`` in ``conversation``: the bot's answer and
    the agent's draft."""
    return draft(scenario, order, now, policy,
                 scenario_context(scenario, order, store, text, entities, conversation))
