"""Asking when unsure: 「您是想问：」 with the likeliest topics, or a hand-over after two misses.

Pure decisions over what NLU said. The confidence below which the assistant asks is
the FallbackClassifier's (config.yml, calibrated by `make eval`); this module decides
what to offer and when to stop asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Tuple

FALLBACK = "nlu_fallback"
# the topics a customer can pick, each with the response holding its button title
# (domain.yml); small talk, out_of_scope and order numbers are never offered
TOPICS: Dict[str, str] = {
    "track_parcel": "utter_topic_track_parcel",
    "urge_shipment": "utter_topic_urge_shipment",
    "signed_not_received": "utter_topic_signed_not_received",
    "wrong_item": "utter_topic_wrong_item",
    "missing_item": "utter_topic_missing_item",
    "quality_issue": "utter_topic_quality_issue",
    "refund_after_shipping": "utter_topic_refund_after_shipping",
    "return_or_exchange": "utter_topic_return_or_exchange",
    "price_drop_refund": "utter_topic_price_drop_refund",
    "change_address": "utter_topic_change_address",
    "refund_status": "utter_topic_refund_status",
    "complaint": "utter_topic_complaint",
    "product_no_effect": "utter_topic_product_no_effect",
    "confirm_receipt": "utter_topic_confirm_receipt",
}
NONE_OF_THEM = ("request_human", "utter_topic_request_human")  # 「都不是，转人工」
# the payloads of the question's buttons, ``/<intent>``: the only commands the channels
# let through (channels/sanitise.py)
BUTTON_INTENTS = frozenset([*TOPICS, NONE_OF_THEM[0]])
MAX_CANDIDATES = 3
MISSES_BEFORE_HANDOVER = 2


@dataclass(frozen=True)
class Question:
    """What to do with a message NLU was unsure about."""

    candidates: Tuple[str, ...]  # intents to offer as buttons, likeliest first
    hand_over: bool  # the second miss in a row: an agent takes over instead


def candidates(ranking: Iterable[Mapping[str, Any]], limit: int = MAX_CANDIDATES) -> Tuple[str, ...]:
    """The likeliest topics of an ``intent_ranking``, best first."""
    ranked = sorted(ranking or [], key=lambda r: -float(r.get("confidence") or 0.0))
    names: List[str] = []
    for r in ranked:
        name = str(r.get("name") or "")
        if name in TOPICS and name not in names:
            names.append(name)
    return tuple(names[:limit])


def misses_in_a_row(intents: Sequence[str]) -> int:
    """How many of the latest user messages (oldest first) in a row NLU did not understand."""
    count = 0
    for intent in reversed(intents):
        if intent != FALLBACK:
            break
        count += 1
    return count


def plan_question(ranking: Iterable[Mapping[str, Any]], recent_intents: Sequence[str]) -> Question:
    """``recent_intents``: the user messages' intents so far, oldest first, the current one last."""
    return Question(candidates(ranking), misses_in_a_row(recent_intents) >= MISSES_BEFORE_HANDOVER)
