"""「您是想问：」: a message NLU was unsure about gets the likeliest topics as buttons."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.playbook.clarify import plan_question

TOPIC_RESPONSE = "utter_topic_{}"  # domain.yml: a topic's button title


def topic_title(domain: Dict[str, Any], intent: str) -> str:
    """The button title of an intent, from its ``utter_topic_<intent>`` response ("" if none)."""
    variants = (domain.get("responses") or {}).get(TOPIC_RESPONSE.format(intent)) or []
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
        buttons = [{"title": title, "payload": f"/{intent}"}
                   for intent in question.candidates if (title := topic_title(domain, intent))]
        if not buttons:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons.append({"title": topic_title(domain, "request_human"), "payload": "/request_human"})
        dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        return []
