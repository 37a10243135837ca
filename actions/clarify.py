"""「您是想问：」: a message NLU was unsure about gets the likeliest topics as buttons."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.playbook.clarify import NONE_OF_THEM, TOPICS, plan_question


def title(domain: Dict[str, Any], response: str) -> str:
    """A button title: the text of a response of domain.yml ("" if none)."""
    variants = (domain.get("responses") or {}).get(response) or []
    return str(variants[0].get("text") or "") if variants else ""


class ActionClarifyIntent(Action):
    def name(self) -> str:
        return "action_clarify_intent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        recent = [(e.get("parse_data") or {}).get("intent", {}).get("name") or ""
                  for e in tracker.events if e.get("event") == "user"]
        question = plan_question(tracker.latest_message.get("intent_ranking") or [], recent)
        if question.hand_over:
            return [FollowupAction("action_handoff")]
        buttons = [{"title": text, "payload": f"/{intent}"}
                   for intent in question.candidates if (text := title(domain, TOPICS[intent]))]
        if not buttons:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        intent, response = NONE_OF_THEM
        buttons.append({"title": title(domain, response), "payload": f"/{intent}"})
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []
