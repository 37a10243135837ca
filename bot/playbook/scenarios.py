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
from bot.shop.cases import CaseState
from bot.shop.store import SHIPPED_NOT_SIGNED, OrderFacts, OrderState


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
    note = OrderNoteSpec(row.order_note, due if row.note_until_promise else None) if row.order_note else None
    assert row.reply is not None
    return Reply(row.reply, facts, row.more, due, note, row.case)


def from_table(name: str, sit: Situation, table: Optional[playbook.Table] = None) -> Optional[Reply]:
    """The reply of the first row of ``name`` (an intent or block) that holds, if any."""
    found = playbook.match(table or default_table(), name, sit.order.state,
                           lambda condition: CONDITIONS[condition](sit))
    return row_reply(found, sit) if found is not None else None


def _block(name: str, order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT) -> Reply:
    """A block the table answers for every state it is used for."""
    reply = from_table(name, Situation(order, now, policy, ctx))
    assert reply is not None, f"playbook.yml: block {name} has no row for {order.state.value}"
    return reply


def _reply(name: str, order: OrderFacts, policy: ShopPolicy, *more: str, **extra: Any) -> Reply:
    promised_at = extra.pop("promised", None)
    note = extra.pop("order_note", None)
    now = extra.pop("now", None)
    case_intent = extra.pop("case_intent", None)
    facts = order_facts(order, policy, now)
    facts.update(extra)
    return Reply(name, facts, tuple(more), promised_at, note, case_intent)


# -- states every scenario shares (the table's blocks) ------------------------------------


def _back_at_shop(order: OrderFacts, now: datetime, policy: ShopPolicy) -> Reply:
    """Goods on their way back, back, or refunded: the table's ``back_at_shop`` block."""
    return _block("back_at_shop", order, now, policy)


# -- the scenarios the table decides -------------------------------------------------------


def _tabled(intent: str) -> Callable[..., Reply]:
    def scenario(order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT) -> Reply:
        reply = from_table(intent, Situation(order, now, policy, ctx))
        assert reply is not None, f"playbook.yml: {intent} has no row for {order.state.value}"
        return reply

    scenario.__name__ = scenario.__qualname__ = intent
    return scenario


track_parcel = _tabled("track_parcel")
signed_not_received = _tabled("signed_not_received")
urge_shipment = _tabled("urge_shipment")
refund_after_shipping = _tabled("refund_after_shipping")
wrong_item = _tabled("wrong_item")
quality_issue = _tabled("quality_issue")
missing_item = _tabled("missing_item")
price_drop_refund = _tabled("price_drop_refund")
change_address = _tabled("change_address")
return_or_exchange = _tabled("return_or_exchange")


# -- the scenarios still decided here --------------------------------------------------------


def can_change_address(order: OrderFacts) -> bool:
    """Whether the address can still change: only until the order ships. When it
    can, ``change_address`` asks for the new address and the conversation takes it."""
    return order.state == OrderState.NOT_SHIPPED


def takes_new_address(order: OrderFacts) -> bool:
    """Whether the conversation asks for a new address: to change it before shipping,
    or to note it for the courier to redirect the parcel on its way (001 售前)."""
    return can_change_address(order) or order.state in SHIPPED_NOT_SIGNED


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
