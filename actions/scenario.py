"""The base of every order scenario: look the order up, draft, answer, log the case."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from bot.playbook import faults
from bot.playbook.casenotes import log_case
from bot.playbook.render import bubbles, resolved
from bot.playbook.reply import scenario_reply
from bot.playbook.scenarios import CONTEXT_ENTITIES, Reply
from bot.shop.cases import CaseRecord, CaseState, Escalation
from bot.shop.store import OrderFacts

logger = logging.getLogger(__name__)

EventList = List[Dict[str, Any]]


def register_case(
    deps: Deps,
    tracker: Tracker,
    intent: str,
    reply: Reply,
    order: Optional[OrderFacts],
    customer_message: Optional[str] = None,
    escalation: Optional[Escalation] = None,
) -> CaseRecord:
    """Log the case this reply answers (``bot.playbook.casenotes.log_case``), and write
    the note the reply speaks of on the order (「已备注」; about the case's promise when
    the reply makes one), in one transaction.

    Raises ``SQLAlchemyError`` when the database is unavailable: the caller then
    answers ``utter_service_unavailable`` instead, and nothing is half-written.
    """
    now = deps.clock()
    with deps.store.transaction() as session:
        case = log_case(
            deps.cases, deps.notes, conversation=tracker.sender_id, intent=intent, reply=reply,
            order=order, now=now, customer_message=customer_message, policy=deps.policy,
            escalation=escalation, session=session,
        )
        spec = reply.order_note
        if spec is not None and order is not None:  # the case's 插旗备注, on the order itself
            promise = deps.cases.open_promise(case.id, session) if spec.about_promise else None
            deps.store.add_note(order.order_id, spec.kind, deps.notes.for_reply(reply).note, now,
                                promise_id=promise.id if promise is not None else None, session=session)
        return case


def database_unavailable(dispatcher: CollectingDispatcher, what: str, key: object) -> EventList:
    """The clear reply when a write failed: nothing was changed (the transaction rolled
    back); the channel journals the turn and replays it once the database is back."""
    logger.exception("database unavailable: could not %s for %s", what, key)
    dispatcher.utter_message(response=faults.SERVICE_UNAVAILABLE)
    return []


def rating_asked(tracker: Optional[Tracker]) -> bool:
    """Whether this conversation was already asked for a rating (at most once)."""
    if tracker is None:
        return False
    return any(
        e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") == RATING_RESPONSE
        for e in tracker.events
    )


RATING_RESPONSE = "utter_ask_rating"


def send_answer(
    dispatcher: CollectingDispatcher,
    reply: Reply,
    case: CaseRecord,
    ask_rating: bool = False,
    tracker: Optional[Tracker] = None,
) -> EventList:
    """Send every bubble of ``reply`` (its phrases filled, its case logged); ask for a
    rating only when the case was resolved for the customer and never asked before here."""
    for bubble in reply.bubbles:
        dispatcher.utter_message(response=bubble, **reply.facts)
    if ask_rating and case.state == CaseState.RESOLVED and not rating_asked(tracker):
        dispatcher.utter_message(response=RATING_RESPONSE)
        return [SlotSet("rating_case", case.id)]
    return []


def answer(
    dispatcher: CollectingDispatcher,
    deps: Deps,
    tracker: Tracker,
    intent: str,
    reply: Reply,
    order: Optional[OrderFacts],
) -> Optional[EventList]:
    """Log the case of ``reply``, then send it; ``None`` (after saying so) if the
    database is unavailable: the customer never gets an answer whose case is lost."""
    try:
        bubbles(reply, deps.responses)  # every placeholder of every bubble has its fact
    except KeyError:  # Rasa would send the template unfilled: never show a raw {placeholder}
        logger.exception("%s: a fact of %s is missing", intent, reply.bubbles)
        dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
        return None
    reply = resolved(reply, deps.responses)
    try:
        case = register_case(deps, tracker, reply.case_intent or intent, reply, order)
    except SQLAlchemyError:
        database_unavailable(dispatcher, "log the case", tracker.sender_id)
        return None
    ask = deps.notes.covers(reply.response) and deps.notes.for_reply(reply).ask_rating
    return send_answer(dispatcher, reply, case, ask, tracker)


class ScenarioAction(UsesDeps, Action, ABC):
    """Answers one scenario about the order in the ``order_id`` slot."""

    @property
    @abstractmethod
    def scenario(self) -> str:
        """The intent this action answers, e.g. ``track_parcel``."""

    def name(self) -> str:
        return f"action_{self.scenario}"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> EventList:
        order_id = tracker.get_slot("order_id")
        if not order_id:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        deps = self.deps
        try:
            order = deps.conversation_order(tracker)
            reply = scenario_reply(
                self.scenario, order, deps.clock(), deps.policy, deps.store,
                text=tracker.latest_message.get("text") or "",
                entities={e: list(tracker.get_latest_entity_values(e)) for e in CONTEXT_ENTITIES},
                conversation=tracker.sender_id,
            ) if order else None
        except SQLAlchemyError:
            logger.exception("order store unavailable in %s", self.name())
            dispatcher.utter_message(response=faults.ORDER_LOOKUP_FAILED)
            return []
        if order is None or reply is None:
            # no pass for it: found for someone else on this conversation id, or gone
            dispatcher.utter_message(response="utter_ask_order_id")
            return [SlotSet("order_id", None), SlotSet("order_checked_for", None)]
        events = answer(dispatcher, deps, tracker, self.scenario, reply, order)
        return [] if events is None else events + self.after(order)

    def after(self, order: OrderFacts) -> EventList:
        """Events that steer the conversation after the answer; most have none."""
        return []
