"""Answers to the bot's own questions on the conversation's open case, and the notice
that a case changed (``EXTERNAL_case_changed``, said by ``python -m bot cases``)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.order_form import ActionReceiveOrder
from actions.scenario import database_unavailable
from bot.access.ids import find_order_id, find_tracking_number
from bot.playbook import followups
from bot.playbook.render import resolved
from bot.playbook.scenarios import Reply
from bot.shop.casefacts import CaseChange

logger = logging.getLogger(__name__)


class _FollowUp(UsesDeps, Action, ABC):
    """Run ``answer`` on the open case; say its reply (abstract: the SDK registers only
    the concrete actions)."""

    what = ""

    @abstractmethod
    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        """The reply to the customer's answer, after moving its case on."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        try:
            reply = self.answer(self.deps, tracker)
        except SQLAlchemyError:
            return database_unavailable(dispatcher, self.what, tracker.sender_id)
        dispatcher.utter_message(response=reply.response, **reply.facts)
        return []


class ActionStillNotFound(_FollowUp):
    what = "note the courier contact"

    def name(self) -> str:
        return "action_still_not_found"

    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        return followups.still_not_found(deps.cases, deps.notes, deps.store, deps.policy, tracker.sender_id,
                                         tracker.get_slot("order_id"), deps.clock())


class ActionReturnWaybill(_FollowUp):
    """The return waybill; a number sent with no return case open is an order or tracking
    number to look up (``ActionReceiveOrder``), as it was before this intent existed."""

    what = "record a return waybill"

    def name(self) -> str:
        return "action_return_waybill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        text = _text(tracker)
        try:
            open_return = followups.case_for(self.deps.cases.open_cases_of(tracker.sender_id),
                                             followups.RETURN_CASES, None)
        except SQLAlchemyError:
            return database_unavailable(dispatcher, self.what, tracker.sender_id)
        if open_return is None and (find_order_id(text) or find_tracking_number(text)):
            return await ActionReceiveOrder(self._deps).run(dispatcher, tracker, domain)
        return await super().run(dispatcher, tracker, domain)

    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        return followups.return_waybill(deps.cases, deps.notes, deps.store, deps.policy, tracker.sender_id,
                                        tracker.get_slot("order_id"), _text(tracker), deps.clock())


class ActionRefundAccount(_FollowUp):
    what = "record a refund account"

    def name(self) -> str:
        return "action_refund_account"

    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        return followups.refund_account(deps.cases, deps.notes, deps.store, tracker.sender_id,
                                        tracker.get_slot("order_id"), _text(tracker), deps.clock())


class ActionCaseChanged(UsesDeps, Action):
    """Tell the customer their case changed (entities ``case_id`` and ``change``)."""

    def name(self) -> str:
        return "action_case_changed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        case_id, change = _entity(tracker, "case_id"), _entity(tracker, "change")
        try:
            known = CaseChange(change) if change else None
            reply = followups.case_changed(self.deps.cases, self.deps.policy, int(case_id or ""), known) \
                if known is not None else None
        except ValueError:
            reply = None
        except SQLAlchemyError:
            logger.exception("database unavailable: could not tell %s of case %s", tracker.sender_id, case_id)
            return []
        if reply is None:
            logger.warning("case change %r of case %r for %s: nothing to tell", change, case_id, tracker.sender_id)
            return []
        reply = resolved(reply, self.deps.responses)  # phrases (who pays the shipping) filled
        for bubble in reply.bubbles:
            dispatcher.utter_message(response=bubble, **reply.facts)
        return []


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _entity(tracker: Tracker, name: str) -> Optional[str]:
    value = next(tracker.get_latest_entity_values(name), None)
    return None if value is None else str(value)
