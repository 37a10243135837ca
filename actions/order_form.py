"""``validate_order_form``: find out which order the customer means.

``bot.access.order_access.OrderAccess`` decides what the customer may see and
``bot.playbook.lookups`` what they are told; the actions here map the answers
to slots and responses.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import UsesDeps
from actions.scenario import database_unavailable
from bot.access.ids import find_tracking_number, order_number_problem
from bot.access.order_access import Lookup, OrderAccess, PassDecision
from bot.playbook import faults
from bot.playbook.followups import return_waybill, waybill_for_open_return
from bot.playbook.lookups import (
    lookup_response,
    order_buttons,
    other_order_chosen,
    pick_recent_order,
)
from bot.playbook.render import resolved
from bot.shop.store import OrderFacts

logger = logging.getLogger(__name__)

NOT_FOUND: Dict[str, Any] = {"order_id": None, "order_checked_for": None}


def resolve(value: str, dispatcher: CollectingDispatcher, access: OrderAccess) -> Optional[Lookup]:
    """What ``value`` names for this customer: a found order, or (anonymous) a
    number waiting for the phone check; ``None`` after telling the customer why not."""
    try:
        found = access.find(value)
    except SQLAlchemyError:
        logger.exception("order store unavailable while validating an order")
        dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
        return None
    return None if explain(dispatcher, found) else found


def explain(dispatcher: CollectingDispatcher, found: Lookup) -> bool:
    """Tell the customer why ``found`` opened no order, with what they typed;
    ``False`` (nothing said) if it opened one or the phone check comes next."""
    response = lookup_response(found)
    if response is None:
        return False
    facts: Dict[str, Any] = {"given": found.given}
    if found.problem is not None:
        facts.update({"digits": found.problem.digits, "length": len(found.problem.digits)})
    dispatcher.utter_message(response=response, **facts)
    return True


def order_slots(found: Optional[Lookup], access: OrderAccess) -> Dict[str, Any]:
    """The slots for what ``resolve`` found: an order with its pass, or the
    number an anonymous customer gave, waiting for the phone check."""
    if found is None:
        return dict(NOT_FOUND)
    if found.order is None:
        return {"order_id": found.given, "order_checked_for": None, "phone_tail": None}
    return {"order_id": found.order.order_id, "order_checked_for": access.issue_pass(found.order)}


class ValidateOrderForm(UsesDeps, FormValidationAction):
    """Which order the customer means, and whether they may see it.

    A verified buyer names one of their own orders (or has it picked); an
    anonymous customer names an order and then gives the last four digits of
    its phone number (``phone_tail``).
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
        order_id, token = tracker.get_slot("order_id"), tracker.get_slot("order_checked_for")
        if access.needs_phone_check(order_id, token):
            return [*domain_slots, "phone_tail"]
        return domain_slots

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Order numbers come from NLU; this adds what NLU cannot know.

        A tracking number or a malformed number is passed on as it was typed so
        ``validate_order_id`` can resolve or explain it; a known buyer with a
        single recent order gets that order when the form starts. 「其他订单」
        (the last order button) answers the question with no order, so that it
        is asked again, for a typed number (``ActionAskOrderId``).
        """
        if tracker.get_slot("order_id"):
            return {}
        text = tracker.latest_message.get("text") or ""
        asked = tracker.get_slot(REQUESTED_SLOT) == "order_id"
        if asked and other_order_chosen(text):
            return {"order_id": None}
        if find_tracking_number(text) or (asked and order_number_problem(text)):
            return {"order_id": text}
        if asked:
            return {}
        try:
            return self._pick_recent_order(dispatcher, tracker)
        except SQLAlchemyError:
            logger.exception("order store unavailable while picking a recent order")
            return {}

    def _pick_recent_order(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        """A known buyer's only recent order, or the one the message names (顺丰, 水壶)."""
        deps = self.deps
        picked = pick_recent_order(
            deps.orders(tracker).recent_orders(deps.policy.recent_order_days),
            rejected=tracker.get_slot("rejected_orders") or [],
            policy=deps.policy,
            couriers=tracker.get_latest_entity_values("courier"),
            products=tracker.get_latest_entity_values("product"),
        )
        if picked is None:
            return {}
        order, reply = picked
        dispatcher.utter_message(response=reply.response, **resolved(reply, deps.responses).facts)
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
        decision = access.keep_or_forget(
            str(slot_value),
            tracker.get_slot("order_checked_for"),
            tracker.latest_message.get("text") or "",
        )
        if decision is PassDecision.KEEP:
            return {"order_id": slot_value}
        if decision is PassDecision.FORGET:
            return dict(NOT_FOUND)
        return order_slots(resolve(str(slot_value), dispatcher, access), access)

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
        explain(dispatcher, found)
        if found.status == "no_tail":
            return {"phone_tail": None}  # ask for the digits again
        return {"phone_tail": None, **NOT_FOUND}


class ActionAskOrderId(UsesDeps, Action):
    """The form's question for the order: a known buyer taps one of their recent
    orders (``order_buttons``); after 「其他订单」, or for anyone else, the number is asked for."""

    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        recent: List[OrderFacts] = []
        if not other_order_chosen(tracker.latest_message.get("text") or ""):
            try:
                recent = deps.orders(tracker).recent_orders(deps.policy.recent_order_days)
            except SQLAlchemyError:
                logger.exception("order store unavailable while asking for the order")
        buttons = order_buttons(recent, tracker.get_slot("rejected_orders") or [], deps.policy)
        if buttons is None:
            dispatcher.utter_message(response="utter_ask_order_id")
        else:
            dispatcher.utter_message(response="utter_ask_order_id_choose", buttons=buttons)
        return []


class ActionReceiveOrder(UsesDeps, Action):
    """An order number on its own, outside a question: check it, then ask what about it."""

    def name(self) -> str:
        return "action_receive_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        deps = self.deps
        try:  # a return parcel's waybill answers the open return case first
            waybill = waybill_for_open_return(deps.cases, deps.store, tracker.sender_id, text)
            if waybill is not None:
                reply = return_waybill(deps.cases, deps.notes, deps.store, deps.policy, tracker.sender_id,
                                       tracker.get_slot("order_id"), text, deps.clock())
                dispatcher.utter_message(response=reply.response, **reply.facts)
                return []
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "record a return waybill", tracker.sender_id)
        access = deps.orders(tracker)
        found = resolve(text, dispatcher, access)
        if found is not None:
            dispatcher.utter_message(response="utter_what_about_order")
        return [SlotSet(slot, value) for slot, value in order_slots(found, access).items()]
