"""``validate_order_form``: find out which order the customer means."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from bot.ids import find_tracking_number, normalise_digits, order_number_problem
from bot.lookup import lookup_order, order_matching
from bot.replies import fmt_items, fmt_time, order_facts
from bot.store import OrderFacts

logger = logging.getLogger(__name__)


def entity_values(tracker: Tracker, entity: str) -> List[str]:
    """The values of ``entity`` in the latest message (after synonym mapping)."""
    return [
        str(e["value"]) for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == entity
    ]

ANONYMOUS = "anonymous"

PROBLEM_RESPONSES = {
    "too_short": "utter_order_number_too_short",
    "too_long": "utter_order_number_too_long",
    "phone": "utter_order_number_is_phone",
}


class ValidateOrderForm(UsesDeps, FormValidationAction):
    def name(self) -> str:
        return "validate_order_form"

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Order numbers come from NLU; this adds what NLU cannot know.

        A tracking number or a malformed number is passed on as it was typed so
        ``validate_order_id`` can resolve or explain it; a known buyer with a
        single recent order gets that order when the form starts.
        """
        if tracker.get_slot("order_id"):
            return {}
        text = tracker.latest_message.get("text") or ""
        asked = tracker.get_slot(REQUESTED_SLOT) == "order_id"
        if find_tracking_number(text) or (asked and order_number_problem(text)):
            return {"order_id": text}
        if asked:
            return {}
        try:
            return self._pick_recent_order(dispatcher, tracker, self.deps)
        except SQLAlchemyError:
            logger.exception("order store unavailable while picking a recent order")
            return {}

    def _pick_recent_order(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, deps: Deps
    ) -> Dict[str, Any]:
        """A known buyer's only recent order, or the one the message names (顺丰, 水壶)."""
        account = deps.account_of(tracker)
        if account is None:
            return {}
        recent = deps.store.recent_orders(account, deps.clock(), deps.policy.recent_order_days)
        order: Optional[OrderFacts]
        if len(recent) == 1:
            order, response = recent[0], "utter_order_picked"
        else:
            order = order_matching(
                recent,
                couriers=entity_values(tracker, "courier"),
                products=entity_values(tracker, "product"),
            )
            response = "utter_order_matched"
        if order is None or order.order_id in (tracker.get_slot("rejected_orders") or []):
            return {}
        dispatcher.utter_message(response=response, **order_facts(order, deps.policy))
        return {"order_id": order.order_id}

    async def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        if not slot_value:  # cleared (「不是这个订单」): nothing to check or explain
            return {"order_id": None}
        account = self.deps.account_of(tracker)
        text = normalise_digits(tracker.latest_message.get("text") or "")
        typed_now = str(slot_value) in text or find_tracking_number(text) is not None
        if account is None and not typed_now and tracker.get_slot("order_checked_for") != ANONYMOUS:
            # an order this conversation holds for someone else: the anonymous
            # customer must type the number themselves
            return {"order_id": None, "order_checked_for": None}
        order_id = self.resolve(str(slot_value), dispatcher, account)
        return {"order_id": order_id, "order_checked_for": (account or ANONYMOUS) if order_id else None}

    def resolve(
        self, value: str, dispatcher: CollectingDispatcher, account: Optional[str]
    ) -> Optional[str]:
        """The order id ``value`` means for ``account`` (``None``: anonymous), or
        ``None`` after telling the customer why."""
        deps = self.deps
        try:
            found = lookup_order(deps.store, value, account)
        except SQLAlchemyError:
            logger.exception("order store unavailable while validating an order")
            dispatcher.utter_message(response="utter_order_lookup_failed")
            return None
        if found.order is not None:
            return found.order.order_id
        if found.status == "unknown":
            dispatcher.utter_message(response="utter_order_not_found", given=found.given)
        elif found.problem is not None:
            dispatcher.utter_message(
                response=PROBLEM_RESPONSES[found.problem.kind],
                digits=found.problem.digits,
                length=len(found.problem.digits),
            )
        else:
            dispatcher.utter_message(response="utter_order_number_missing")
        return None


class ActionAskOrderId(UsesDeps, Action):
    """The form's question for the order: a known buyer sees their recent orders."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        try:
            account = deps.account_of(tracker)
            recent = (
                deps.store.recent_orders(account, deps.clock(), deps.policy.recent_order_days)
                if account else []
            )
        except SQLAlchemyError:
            logger.exception("order store unavailable while asking for the order")
            recent = []
        rejected = set(tracker.get_slot("rejected_orders") or [])
        recent = [o for o in recent if o.order_id not in rejected]
        if len(recent) < 2:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        listing = "\n".join(
            f"{o.order_id}  {fmt_items(o.goods)}  {fmt_time(o.created_at, deps.policy)}"
            for o in recent[:5]
        )
        dispatcher.utter_message(response="utter_ask_order_id_choose", orders=listing)
        return []


class ActionReceiveOrder(ValidateOrderForm):
    """An order number on its own, outside a question: check it, then ask what about it."""

    def name(self) -> str:
        return "action_receive_order"

    async def run(  # type: ignore[override]
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        account = self.deps.account_of(tracker)
        order_id = self.resolve(text, dispatcher, account)
        if order_id is None:
            return [SlotSet("order_id", None), SlotSet("order_checked_for", None)]
        dispatcher.utter_message(response="utter_what_about_order")
        return [SlotSet("order_id", order_id), SlotSet("order_checked_for", account or ANONYMOUS)]
