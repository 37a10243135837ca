"""转人工 and 投诉: hand over within shift hours, else take a message."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.scenario import database_unavailable, logger, register_case
from bot.playbook.handoff import handoff, next_shift_text
from bot.playbook.scenarios import Reply
from bot.shop.store import OrderFacts


def conversation_order(deps: Deps, tracker: Tracker) -> Optional[OrderFacts]:
    """The order this conversation is about, if any (only ever the customer's own)."""
    try:
        return deps.conversation_order(tracker)
    except SQLAlchemyError:
        logger.exception("order store unavailable during a hand-over")
        return None


class ActionHandoff(UsesDeps, Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "request_human"
        reply = handoff(deps.clock(), deps.policy)
        if reply.response == "utter_handoff_now":
            # the case is how the human agent finds the conversation: no case, no hand-over
            request = tracker.latest_message.get("text") or ""
            logged = Reply(reply.response, {**reply.facts, "request": request})
            try:
                register_case(deps, tracker, intent, logged, conversation_order(deps, tracker))
            except SQLAlchemyError:
                if intent == "complaint":
                    dispatcher.utter_message(response="utter_complaint_apology")
                return database_unavailable(dispatcher, "log the hand-over", tracker.sender_id)
        if intent == "complaint":
            dispatcher.utter_message(response="utter_complaint_apology")
        dispatcher.utter_message(response=reply.response, **reply.facts)
        if reply.response != "utter_handoff_now":
            return [SlotSet("handoff", "message")]
        return [SlotSet("handoff", "agent"), ConversationPaused()]


class ActionTakeMessage(UsesDeps, Action):
    def name(self) -> str:
        return "action_take_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        message = tracker.get_slot("customer_message") or ""
        facts = {"next_shift": next_shift_text(deps.clock(), deps.policy), "request": message}
        try:
            case = register_case(
                deps, tracker, "request_human", Reply("utter_message_taken", facts),
                conversation_order(deps, tracker), customer_message=message,
            )
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "take the message", tracker.sender_id)
        dispatcher.utter_message(response="utter_message_taken", case_id=case.id, **facts)
        return [SlotSet("customer_message", None), SlotSet("handoff", None)]
