"""Conversation repair: 「不是这个订单」 and the satisfaction rating."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import UsesDeps
from actions.scenario import database_unavailable
from bot.access.ids import find_order_id
from bot.playbook.ratings import parse_rating


class ActionForgetOrder(UsesDeps, Action):
    """The customer means another order: forget this one (and do not pick it again).

    The cases just opened about the wrong order are closed, so that the next
    shift does not follow them up.
    """

    def name(self) -> str:
        return "action_forget_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        new = find_order_id(tracker.latest_message.get("text") or "")
        if new:  # 「不是这个，是 3027…」: NLU has already put it in the slot
            return [SlotSet("order_id", new)]
        current = tracker.get_slot("order_id")
        rejected = list(tracker.get_slot("rejected_orders") or [])
        if current and current not in rejected:
            rejected.append(current)
            deps = self.deps
            try:
                reason = deps.notes.note("utter_ask_other_order")
                deps.cases.close_for_order(tracker.sender_id, current, deps.clock(), reason)
            except SQLAlchemyError:
                # keep the order and its cases as they are: the turn is replayed later
                return database_unavailable(dispatcher, "close the cases", current)
        dispatcher.utter_message(response="utter_ask_other_order")
        return [SlotSet("rejected_orders", rejected), SlotSet("order_id", None)]


class ActionSaveRating(UsesDeps, Action):
    def name(self) -> str:
        return "action_save_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        case_id = tracker.get_slot("rating_case")
        rating = parse_rating(tracker.latest_message.get("text") or "")
        if case_id is None:
            dispatcher.utter_message(response="utter_ok")
            return []
        if rating is None:
            dispatcher.utter_message(response="utter_rating_not_understood")
            return []
        deps = self.deps
        try:
            deps.cases.rate(int(case_id), rating, deps.clock())
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "store the rating", case_id)
        dispatcher.utter_message(response="utter_rating_thanks", rating=rating)
        return [SlotSet("rating_case", None)]
