"""A photo from the shop page arrived (the web service triggers ``EXTERNAL_photo_received``),
or the customer says in text that they sent one."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.deps import Deps, UsesDeps
from actions.followups import _FollowUp
from actions.scenario import database_unavailable
from bot.playbook.evidence import photo_said_sent, photos_received
from bot.playbook.scenarios import Reply

logger = logging.getLogger(__name__)


class ActionPhotoReceived(UsesDeps, Action):
    """Acknowledge the photo in the conversation and move its case on."""

    def name(self) -> str:
        return "action_photo_received"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        deps = self.deps
        try:
            reply = photos_received(deps.cases, deps.notes, deps.store, tracker.sender_id,
                                    deps.policy.uploads_per_case, deps.clock())
        except SQLAlchemyError:
            return database_unavailable(dispatcher, "acknowledge a photo", tracker.sender_id)
        if reply is None:  # the case was closed between the upload and now: nothing to say
            logger.warning("a photo arrived for %s without an open case", tracker.sender_id)
            return []
        dispatcher.utter_message(response=reply.response, **reply.facts)
        return []


class ActionPhotoSentText(_FollowUp):
    """「照片发你了」: what the open case has received, or how to send a photo."""

    what = "count the photos"

    def name(self) -> str:
        return "action_photo_sent_text"

    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        return photo_said_sent(deps.cases, deps.store, tracker.sender_id, tracker.get_slot("order_id"),
                               deps.policy.uploads_per_case)
