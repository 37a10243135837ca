"""The base of every scenario action: look the order up, draft, answer."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import UsesDeps
from bot.lookup import visible_to
from bot.replies import draft

logger = logging.getLogger(__name__)


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
    ) -> List[Dict[str, Any]]:
        order_id = tracker.get_slot("order_id")
        if not order_id:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        deps = self.deps
        try:
            order = deps.store.get_order(order_id)
            account = deps.account_of(tracker)
        except SQLAlchemyError:
            logger.exception("order store unavailable in %s", self.name())
            dispatcher.utter_message(response="utter_order_lookup_failed")
            return []
        if order is None or not visible_to(order, account):
            dispatcher.utter_message(response="utter_order_not_found", given=order_id)
            return [SlotSet("order_id", None)]
        reply = draft(self.scenario, order, deps.clock(), deps.policy)
        dispatcher.utter_message(response=reply.response, **reply.facts)
        return []
