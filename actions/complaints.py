"""投诉 as seed 004 says: the standard opening, listen (what happened, which order),
record the complaint, and hand it to a supervisor when it holds a threat or the signs
of a 职业差评师. No remedy is promised before triage."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.handoff import log_handover, safe_conversation_order
from actions.scenario import database_unavailable
from bot.access.ids import find_order_id
from bot.playbook import complaints
from bot.playbook.policy import supervisor_answer_deadline
from bot.playbook.scenarios import Reply
from bot.shop.cases import CaseRecord, CaseState, Escalation, PromiseKind
from bot.shop.store import OrderFacts

EventList = List[Dict[str, Any]]


def customer_messages(tracker: Tracker) -> List[str]:
    """The customer's messages of this conversation, the latest last. A live tracker's
    events end with the latest message (whose ``latest_message`` text may be the
    normalised form of it, so the two are not compared); without events, the latest."""
    said = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return said or [tracker.latest_message.get("text") or ""]


def order_words(order: Optional[OrderFacts], words: str) -> str:
    """How the case names the order: the conversation's verified one, else a number the
    customer wrote (said to be unchecked), else none."""
    if order is not None:
        return f"订单{order.order_id}"
    named = find_order_id(words)
    return f"客户说的订单号{named}（未核验）" if named else "未说明订单"


class ComplaintStep:
    """One step of a complaint: the case is logged with the customer's words so far."""

    def __init__(self, deps: Deps, tracker: Tracker, words: str) -> None:
        self.deps, self.tracker, self.words = deps, tracker, words
        self.order = safe_conversation_order(deps, tracker)
        self.signs = complaints.escalation_signs(customer_messages(tracker), deps.signs)

    def log(self, response: str, escalation: Escalation, **facts: Any) -> CaseRecord:
        case = Reply(response, {**facts, "request": self.words, "order": order_words(self.order, self.words)})
        return log_handover(self.deps, self.tracker, "complaint", case, customer_message=self.words,
                            escalation=escalation, order=self.order)

    def to_supervisor(self, dispatcher: CollectingDispatcher) -> EventList:
        """Record the case in the supervisor's queue and tell the customer by when they answer.
        A promise already made stands: its date is the one said again."""
        case = self.log("utter_complaint_supervisor", Escalation(
            kind="complaint", priority=complaints.PRIORITY_SUPERVISOR, to=complaints.SUPERVISOR,
            reason="、".join(self.signs)), signs="、".join(self.signs))
        due = next((p.due_at for p in self.deps.cases.promises(case.id)
                    if p.kind == PromiseKind.SUPERVISOR_ANSWER and p.kept_at is None and p.due_at), None)
        reply = complaints.supervisor_reply(due or supervisor_answer_deadline(self.deps.clock(), self.deps.policy),
                                            self.deps.policy)
        dispatcher.utter_message(response=reply.response, case_id=case.id, **reply.facts)
        return [SlotSet("complaint", "supervisor"), SlotSet("complaint_case", case.id)]


class ActionComplaint(UsesDeps, Action):
    """The standard opening; then a supervisor (signs found) or the question what happened."""

    def name(self) -> str:
        return "action_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> EventList:
        dispatcher.utter_message(response=complaints.OPENING.response)
        text = tracker.latest_message.get("text") or ""
        try:
            earlier = self.deps.cases.get(tracker.get_slot("complaint_case") or -1)  # said before: kept
            step = ComplaintStep(self.deps, tracker, complaints.complaint_words(
                earlier.customer_message if earlier and earlier.state != CaseState.CLOSED else None, text))
            if step.signs:
                return step.to_supervisor(dispatcher)
            case = step.log(complaints.ASK_DETAILS, Escalation(kind="complaint", priority=complaints.PRIORITY_COMPLAINT))
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "log the complaint", tracker.sender_id)
        return [SlotSet("complaint", "listen"), SlotSet("complaint_case", case.id), SlotSet("complaint_details", None)]


class ActionAskComplaintDetails(UsesDeps, Action):
    """The complaint form's question: what happened, and which order unless it is known."""

    def name(self) -> str:
        return "action_ask_complaint_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> EventList:
        order = safe_conversation_order(self.deps, tracker)
        if order is not None:
            dispatcher.utter_message(response="utter_complaint_ask_details_order", order_id=order.order_id)
        else:
            dispatcher.utter_message(response=complaints.ASK_DETAILS)
        return []


class ActionComplaintRecord(UsesDeps, Action):
    """The customer told what happened: the complaint is recorded with their words; a
    supervisor takes it (signs found), else a human now or the next shift."""

    def name(self) -> str:
        return "action_complaint_record"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> EventList:
        deps = self.deps
        details = tracker.get_slot("complaint_details") or ""
        try:
            first = deps.cases.get(tracker.get_slot("complaint_case") or -1)
            words = complaints.complaint_words(first.customer_message if first else None, details)
            step = ComplaintStep(deps, tracker, words)
            if step.signs:
                return step.to_supervisor(dispatcher)
            reply = complaints.recorded_reply(deps.clock(), deps.policy)
            case = step.log(reply.response, Escalation(kind="complaint", priority=complaints.PRIORITY_COMPLAINT),
                            **reply.facts)
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "record the complaint", tracker.sender_id)
        dispatcher.utter_message(response=reply.response, case_id=case.id, **reply.facts)
        if reply.response == "utter_complaint_recorded_now":
            return [SlotSet("complaint", "agent"), ConversationPaused()]
        return [SlotSet("complaint", "message")]
