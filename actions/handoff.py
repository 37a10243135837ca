"""转人工 and 投诉: hand over within shift hours, else take a message."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.scenario import database_unavailable, register_case
from bot.playbook.handoff import plan_handover, take_message
from bot.playbook.scenarios import Reply
from bot.shop.cases import CaseRecord, Escalation
from bot.shop.store import OrderFacts

logger = logging.getLogger(__name__)


def log_handover(
    deps: Deps, tracker: Tracker, intent: str, reply: Reply, customer_message: Optional[str] = None,
    escalation: Optional[Escalation] = None, order: Optional[OrderFacts] = None,
) -> CaseRecord:
    """Log the case a human agent picks the conversation up from.

    It names the conversation's order when the store can say which: a failed
    read of the order does not stop the hand-over, a failed write of the case
    does (``SQLAlchemyError``). ``order`` names it when the caller found it otherwise;
    ``escalation`` flags the case (a complaint, a supervisor's).
    """
    if order is None:
        order = safe_conversation_order(deps, tracker)
    return register_case(deps, tracker, intent, reply, order, customer_message=customer_message,
                         escalation=escalation)


def safe_conversation_order(deps: Deps, tracker: Tracker) -> Optional[OrderFacts]:
    """The conversation's order, or None when the store cannot say (logged)."""
    try:
        return deps.conversation_order(tracker)
    except SQLAlchemyError:
        logger.exception("order store unavailable during a hand-over: the case names no order")
        return None


HANDOVER_INTENTS = ("complaint", "request_human")


def handover_intent(tracker: Tracker) -> str:
    """What the customer asked the hand-over for: a complaint stays a complaint when
    the message is taken outside shift hours (the next shift must see it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name in HANDOVER_INTENTS:
                return str(name)
    return "request_human"


class ActionHandoff(UsesDeps, Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "request_human"
        request = tracker.latest_message.get("text") or ""
        plan = plan_handover(intent, request, deps.clock(), deps.policy)
        for reply in plan.opening:
            dispatcher.utter_message(response=reply.response, **reply.facts)
        if plan.case is not None:
            try:
                log_handover(deps, tracker, intent, plan.case)
            except SQLAlchemyError:
                return database_unavailable(dispatcher, "log the hand-over", tracker.sender_id)
        dispatcher.utter_message(response=plan.reply.response, **plan.reply.facts)
        if plan.to_agent:
            return [SlotSet("handoff", "agent"), ConversationPaused()]
        return [SlotSet("handoff", "message")]


class ActionTakeMessage(UsesDeps, Action):
    def name(self) -> str:
        return "action_take_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        message = tracker.get_slot("customer_message") or ""
        reply = take_message(message, deps.clock(), deps.policy)
        try:
            log_handover(deps, tracker, handover_intent(tracker), reply, customer_message=message)
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "take the message", tracker.sender_id)
        dispatcher.utter_message(response=reply.response, **reply.facts)
        return [SlotSet("customer_message", None), SlotSet("handoff", None)]
