"""Drafting replies: which response of the domain answers, filled with which facts.

The playbook table (``playbook.yml``, ``bot.playbook.table``) decides the intents it
lists: the first row whose state and named conditions hold gives the response, its
bubbles, facts, promise and order note. The other scenario functions here look at the
order's real state and the shop policy themselves, and use the table's blocks for the
states all scenarios share. Either way the result is a ``Reply``: the name of a response
in the domain and the facts its template needs; the text lives in the domain, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from bot import settings
from bot.playbook import table as playbook
from bot.playbook.conditions import CONDITIONS
from bot.playbook.conditions import COURIER_ANSWER as COURIER_ANSWER
from bot.playbook.context import NO_CONTEXT as NO_CONTEXT
from bot.playbook.context import Context as Context
from bot.playbook.context import Situation
from bot.playbook.facts import (
    FACT_SETS,
    PROMISES,
    order_facts,
    promised,
)
from bot.playbook.facts import fmt_date as fmt_date
from bot.playbook.facts import fmt_day as fmt_day
from bot.playbook.facts import fmt_items as fmt_items
from bot.playbook.facts import fmt_money as fmt_money
from bot.playbook.facts import fmt_time as fmt_time
from bot.playbook.facts import round_promise as round_promise
from bot.playbook.policy import (
    ShopPolicy,
)
from bot.shop.store import SHIPPED_NOT_SIGNED, OrderFacts, OrderState


@dataclass(frozen=True)
class OrderNoteSpec:
    """A note the reply's sending writes on the order (插旗备注: its case note's text);
    ``about_promise``: it refers to the promise the reply makes, recorded on the case
    (its due time is read from there). A reply says 「已备注」 only when it carries one."""

    kind: str
    about_promise: bool = False


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


# The entity types a scenario reads from the message (``Context.entities``).
CONTEXT_ENTITIES = ("aspect",)

# the names of the code a row of playbook.yml may use
KNOWN: playbook.Known = {"conditions": CONDITIONS, "facts": FACT_SETS, "promise": PROMISES}


@cache
def load_table(path: Path) -> playbook.Table:
    return playbook.load(path, KNOWN)


def default_table() -> playbook.Table:
    """The project's playbook table (``SHOP_PLAYBOOK``, else ``playbook.yml``), read once."""
    return load_table(settings.playbook_path())


# -- the table's rows as replies ---------------------------------------------------------


def row_reply(row: playbook.Row, sit: Situation) -> Reply:
    """The reply a matched row gives: the order's facts, the row's fact sets and promise."""
    facts = order_facts(sit.order, sit.policy, sit.now)
    for name in row.facts:
        facts.update(FACT_SETS[name].compute(sit))
    due: Optional[datetime] = None
    if row.promise is not None:
        rule = PROMISES[row.promise]
        due, words = promised(rule, sit)
        facts[rule.fact] = words
    note = OrderNoteSpec(row.order_note, row.note_until_promise and due is not None) if row.order_note else None
    assert row.reply is not None
    return Reply(row.reply, facts, row.more, due, note, row.case)


def from_table(name: str, sit: Situation, table: Optional[playbook.Table] = None) -> Optional[Reply]:
    """The reply of the first row of ``name`` (an intent or block) that holds, if any."""
    found = playbook.match(table or default_table(), name, sit.order.state,
                           lambda condition: CONDITIONS[condition](sit))
    return row_reply(found, sit) if found is not None else None


# -- the scenarios the table decides -------------------------------------------------------


def _tabled(intent: str) -> Callable[[OrderFacts, datetime, ShopPolicy, Context], Reply]:
    def scenario(order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT) -> Reply:
        reply = from_table(intent, Situation(order, now, policy, ctx))
        assert reply is not None, f"playbook.yml: {intent} has no row for {order.state.value}"
        return reply

    scenario.__name__ = scenario.__qualname__ = intent
    return scenario


Scenario = Callable[[OrderFacts, datetime, ShopPolicy, Context], Reply]

# every scenario is decided by its rows in playbook.yml
SCENARIOS: Dict[str, Scenario] = {intent: _tabled(intent) for intent in (
    "track_parcel", "signed_not_received", "wrong_item", "quality_issue", "refund_after_shipping",
    "urge_shipment", "missing_item", "return_or_exchange", "price_drop_refund", "change_address",
    "refund_status",
)}


def change_address(order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT) -> Reply:
    """The answer to an address change (``bot.playbook.address`` answers with it again)."""
    return SCENARIOS["change_address"](order, now, policy, ctx)


# -- what the address conversation asks -----------------------------------------------------


def can_change_address(order: OrderFacts) -> bool:
    """Whether the address can still change: only until the order ships. When it
    can, ``change_address`` asks for the new address and the conversation takes it."""
    return order.state == OrderState.NOT_SHIPPED


def takes_new_address(order: OrderFacts) -> bool:
    """Whether the conversation asks for a new address: to change it before shipping,
    or to note it for the courier to redirect the parcel on its way (001 售前)."""
    return can_change_address(order) or order.state in SHIPPED_NOT_SIGNED


def draft(
    scenario: str,
    order: OrderFacts,
    now: datetime,
    policy: ShopPolicy,
    ctx: Optional[Context] = None,
) -> Reply:
    """The reply for ``scenario`` about ``order`` at ``now``."""
    return SCENARIOS[scenario](order, now, policy, ctx or NO_CONTEXT)
