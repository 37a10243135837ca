"""Asking when unsure: 「您是想问：」 with the likeliest topics, or a hand-over after two misses.

Pure decisions over what NLU said. The confidence below which the assistant asks is
the FallbackClassifier's (config.yml, calibrated by `make eval`); this module decides
what to offer and when to stop asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Sequence, Tuple

FALLBACK = "nlu_fallback"
# intents a customer would not pick from a list of topics
NOT_TOPICS = frozenset({FALLBACK, "out_of_scope", "greet", "thank", "goodbye", "affirm", "deny",
                        "inform", "correct_order", "rate"})
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
        if name and name not in NOT_TOPICS and name not in names:
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
