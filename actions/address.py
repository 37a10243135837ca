"""改地址 before shipping: take the new address and change it in the store."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import UsesDeps
from actions.scenario import database_unavailable, register_case, send_answer
from bot.playbook import faults
from bot.playbook.scenarios import Reply, change_address, order_facts

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
            # the new address and its case are written together, or neither is
            with deps.store.transaction() as session:
                changed = deps.store.change_address(order.order_id, address, session=session)
                logger.info("order %s: address change to %s: %s", order.order_id, address, changed)
                if changed:
                    order = replace(order, address=address)
                    reply = Reply("utter_address_changed",
                                  {**order_facts(order, deps.policy), "new_address": address})
                    case = register_case(deps, tracker, "change_address", reply, order, session=session)
            if not changed:  # shipped in the meantime: answer from its current state
                current = deps.store.get_order(order.order_id)
                assert current is not None
                order, reply = current, change_address(current, deps.clock(), deps.policy)
                case = register_case(deps, tracker, "change_address", reply, order)
        except SQLAlchemyError:
            # keep new_address: the turn is replayed once the database is back
            return database_unavailable(dispatcher, "change the address", order_id)
        return send_answer(dispatcher, reply, case) + reset
