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
from actions.scenario import database_unavailable, send_answer
from bot.playbook import faults
from bot.playbook.address import change_address_now
from bot.playbook.render import resolved

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
        except SQLAlchemyError:
            logger.exception("could not look up %s to change its address", order_id)
            dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
            return reset
        if order is None:
            dispatcher.utter_message(response="utter_order_not_found", given=order_id)
            return reset
        try:
            reply, case = change_address_now(
                deps.store, deps.cases, deps.notes, deps.policy,
                access=deps.orders(tracker), token=tracker.get_slot("order_checked_for"),
                order=order, address=address,
            )
        except SQLAlchemyError:
            # keep new_address: the turn is replayed once the database is back
            return database_unavailable(dispatcher, "change the address", order_id)
        reply = resolved(reply, deps.responses)
        ask = deps.notes.for_reply(reply).ask_rating
        return send_answer(dispatcher, reply, case, ask, tracker) + reset
