"""改地址 before shipping: take the new address and change it in the store."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import UsesDeps
from actions.scenario import answer
from bot.replies import Reply, change_address, order_facts

logger = logging.getLogger(__name__)

MIN_ADDRESS_LENGTH = 8


class ValidateAddressForm(FormValidationAction):
    def name(self) -> str:
        return "validate_address_form"

    async def validate_new_address(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        address = " ".join(str(slot_value or "").split())
        if len(address) < MIN_ADDRESS_LENGTH:
            dispatcher.utter_message(response="utter_address_too_short")
            return {"new_address": None}
        return {"new_address": address}


class ActionSaveAddress(UsesDeps, Action):
    def name(self) -> str:
        return "action_save_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        order_id, address = tracker.get_slot("order_id"), tracker.get_slot("new_address")
        reset = [SlotSet("new_address", None), SlotSet("address_change", None)]
        try:
            order = deps.conversation_order(tracker)
            if order is None:
                dispatcher.utter_message(response="utter_order_not_found", given=order_id)
                return reset
            changed = deps.store.change_address(order.order_id, address)
            logger.info("order %s: address change to %s: %s", order.order_id, address, changed)
            order = deps.store.get_order(order.order_id)
        except SQLAlchemyError:
            logger.exception("could not change the address of %s", order_id)
            dispatcher.utter_message(response="utter_order_lookup_failed")
            return reset
        assert order is not None
        if changed:
            reply = Reply("utter_address_changed", {**order_facts(order, deps.policy), "new_address": address})
        else:  # shipped in the meantime
            reply = change_address(order, deps.clock(), deps.policy)
        return answer(dispatcher, deps, tracker, "change_address", reply, order) + reset
