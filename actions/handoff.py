"""转人工 and 投诉: hand over within shift hours, else take a message."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.scenario import logger
from bot.cases import CaseState
from bot.handoff import handoff, next_shift_text


def _log(deps: Deps, tracker: Tracker, intent: str, next_step: str, note: str, message=None):  # type: ignore[no-untyped-def]
    try:
        order_id = tracker.get_slot("order_id")
        order = deps.store.get_order(order_id) if order_id else None
        return deps.cases.register(
            conversation_id=tracker.sender_id,
            intent=intent,
            state=CaseState.ESCALATED,
            next_step=next_step,
            note=note,
            now=deps.clock(),
            order_id=order.order_id if order else None,
            buyer_account=order.buyer_account if order else None,
            customer_message=message,
        )
    except SQLAlchemyError:
        logger.exception("could not log the hand-over of %s", tracker.sender_id)
        return None


class ActionHandoff(UsesDeps, Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "request_human"
        if intent == "complaint":
            dispatcher.utter_message(response="utter_complaint_apology")
        reply = handoff(deps.clock(), deps.policy)
        dispatcher.utter_message(response=reply.response, **reply.facts)
        text = tracker.latest_message.get("text") or ""
        if reply.response == "utter_handoff_now":
            _log(deps, tracker, intent, "人工客服接待中；处理完后在 Rasa 恢复对话（python -m bot release）",
                 f"{'投诉' if intent == 'complaint' else '转人工'}：{text}")
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
        next_shift = next_shift_text(deps.clock(), deps.policy)
        case = _log(deps, tracker, "request_human", f"{next_shift} 上班后回复客户留言", f"非工作时间留言：{message}", message)
        dispatcher.utter_message(
            response="utter_message_taken", case_id=case.id if case else "-", next_shift=next_shift
        )
        return [SlotSet("customer_message", None), SlotSet("handoff", None)]
