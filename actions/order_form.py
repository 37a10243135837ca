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
from bot.access.ids import find_tracking_number, normalise_digits, order_number_problem
from bot.access.order_access import Lookup, OrderAccess, order_matching
from bot.playbook import faults
from bot.playbook.scenarios import fmt_items, fmt_time, order_facts
from bot.shop.store import OrderFacts

logger = logging.getLogger(__name__)


def entity_values(tracker: Tracker, entity: str) -> List[str]:
    """The values of ``entity`` in the latest message (after synonym mapping)."""
    return [
        str(e["value"]) for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == entity
    ]

PROBLEM_RESPONSES = {
    "too_short": "utter_order_number_too_short",
    "too_long": "utter_order_number_too_long",
    "phone": "utter_order_number_is_phone",
}

CHECK_RESPONSES = {
    "no_tail": "utter_phone_tail_invalid",
    "mismatch": "utter_phone_tail_mismatch",
    "locked": "utter_order_check_locked",
}


class ValidateOrderForm(UsesDeps, FormValidationAction):
    """Which order the customer means, and whether they may see it.

    A verified buyer names one of their own orders (or has it picked); an
    anonymous customer names an order and then gives the last four digits of
    its phone number (``phone_tail``). ``bot.access.order_access.OrderAccess`` decides.
    """

    def name(self) -> str:
        return "validate_order_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        access = self.deps.orders(tracker)
        if access.account is None and not access.has_pass(
            tracker.get_slot("order_id"), tracker.get_slot("order_checked_for")
        ):
            return [*domain_slots, "phone_tail"]
        return domain_slots

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
        recent = deps.orders(tracker).recent_orders(deps.policy.recent_order_days)
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
        access = self.deps.orders(tracker)
        checked_for = tracker.get_slot("order_checked_for")
        if access.has_pass(str(slot_value), checked_for):
            return {"order_id": slot_value}
        text = normalise_digits(tracker.latest_message.get("text") or "")
        typed_now = str(slot_value) in text or find_tracking_number(text) is not None
        if checked_for and not typed_now:
            # found for someone else on this conversation id: whoever writes
            # now must name the order themselves
            return {"order_id": None, "order_checked_for": None}
        found = self.resolve(str(slot_value), dispatcher, access)
        return self.order_slots(found, access)

    @staticmethod
    def order_slots(found: Optional[Lookup], access: OrderAccess) -> Dict[str, Any]:
        """The slots for what ``resolve`` found: an order with its pass, or the
        number an anonymous customer gave, waiting for the phone check."""
        if found is None:
            return {"order_id": None, "order_checked_for": None}
        if found.order is None:
            return {"order_id": found.given, "order_checked_for": None, "phone_tail": None}
        return {"order_id": found.order.order_id, "order_checked_for": access.issue_pass(found.order)}

    async def extract_phone_tail(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot(REQUESTED_SLOT) != "phone_tail":
            return {}
        return {"phone_tail": tracker.latest_message.get("text") or ""}

    async def validate_phone_tail(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        given = tracker.get_slot("order_id")
        if not given or slot_value is None:
            return {"phone_tail": None}
        access = self.deps.orders(tracker)
        try:
            found = access.prove(str(given), str(slot_value))
        except SQLAlchemyError:
            logger.exception("order store unavailable during a phone check")
            dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
            return {"phone_tail": None}
        if found.order is not None:
            return {
                "phone_tail": "verified",
                "order_id": found.order.order_id,
                "order_checked_for": access.issue_pass(found.order),
            }
        dispatcher.utter_message(response=CHECK_RESPONSES[found.status])
        if found.status == "no_tail":
            return {"phone_tail": None}  # ask for the digits again
        return {"phone_tail": None, "order_id": None, "order_checked_for": None}

    def resolve(
        self, value: str, dispatcher: CollectingDispatcher, access: OrderAccess
    ) -> Optional[Lookup]:
        """What ``value`` names for this customer: a found order, or (anonymous)
        a number waiting for the phone check; ``None`` after telling the
        customer why not."""
        try:
            found = access.find(value)
        except SQLAlchemyError:
            logger.exception("order store unavailable while validating an order")
            dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
            return None
        if found.status in ("found", "unproven"):
            return found
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
            recent = deps.orders(tracker).recent_orders(deps.policy.recent_order_days)
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        access = self.deps.orders(tracker)
        found = self.resolve(text, dispatcher, access)
        if found is not None:
            dispatcher.utter_message(response="utter_what_about_order")
        return [SlotSet(slot, value) for slot, value in self.order_slots(found, access).items()]
