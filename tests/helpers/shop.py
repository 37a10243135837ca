"""What the tests share besides fixtures: a fixed clock, the buyer-token secret,
a tracker builder, and readers of what an action did."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.access.identity import order_pass, sign
from bot.access.order_access import ANONYMOUS

# A fixed "now" (naive UTC): 2026-11-20 06:00 UTC is 14:00 in Shanghai.
NOW = datetime(2026, 11, 20, 6, 0)
SECRET = "test-buyer-token-secret"
# the domain as the order form's validation action needs it
DOMAIN = {"forms": {"order_form": {"required_slots": ["order_id"]}}}


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    text: str = "",
    intent: str = "inform",
    entities: Optional[List[Dict[str, Any]]] = None,
    sender_id: str = "anonymous-visitor",
    active_loop: Optional[str] = None,
    buyer: Optional[str] = None,
) -> Tracker:
    """A tracker at the customer's latest message.

    ``buyer``: the shop page signed that this buyer is logged in. An ``order_id``
    slot comes with the pass the order form gives once the order is found.
    """
    metadata = {"buyer_token": sign(buyer, SECRET, NOW)} if buyer else {}
    slots = dict(slots or {})
    sender_id = buyer or sender_id
    if slots.get("order_id") and "order_checked_for" not in slots:
        slots["order_checked_for"] = order_pass(SECRET, sender_id, slots["order_id"], buyer or ANONYMOUS)
    return Tracker(
        sender_id=sender_id,
        slots=slots,
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": entities or [],
            "metadata": metadata,
        },
        events=list(events or []),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


class WireDispatcher(CollectingDispatcher):
    """A dispatcher that refuses what could not go over the wire to Rasa (JSON only)."""

    def utter_message(self, *args: Any, **kwargs: Any) -> None:
        super().utter_message(*args, **kwargs)
        json.dumps(self.messages[-1], ensure_ascii=False)  # TypeError on a Phrase or a datetime


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    """The response names the dispatcher was asked to send."""
    return [m["response"] for m in dispatcher.messages]


def slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots a list of events sets."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
