"""Agents' feedback on suggestions, and the examples an export for review takes from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import select

from bot.shop.masking import mask
from bot.shop.schema import Feedback
from bot.shop.store import OrderStore

# own: the agent wrote the reply without a draft (the workbench records it on sending)
VERDICTS = ("used", "edited", "rejected", "own")
# a suggestion of these says the assistant has no answer: its label teaches nothing
NO_ANSWER = ("out_of_scope", "nlu_fallback")

@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    message: str
    intent: str
    verdict: str
    chosen_intent: Optional[str] = None

    @property
    def label(self) -> Optional[str]:
        """The intent to learn the message under, if the feedback says one: the intent the
        agent chose; else the suggestion's, when used or edited and not a no-answer."""
        if self.chosen_intent:
            return self.chosen_intent
        if self.verdict == "used" or (self.verdict == "edited" and self.intent not in NO_ANSWER):
            return self.intent
        return None


class FeedbackLog:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def record(
        self, *, message: str, intent: str, verdict: str, now: datetime,
        order_id: Optional[str] = None, final_text: Optional[str] = None, agent: Optional[str] = None,
        chosen_intent: Optional[str] = None,
    ) -> int:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        if not message.strip() or not intent.strip():
            raise ValueError("message and intent are required")
        with self.store.session() as s, s.begin():
            row = Feedback(created_at=now, message=message.strip(), intent=intent, verdict=verdict,
                           order_id=order_id, final_text=final_text, agent=agent,
                           chosen_intent=(chosen_intent or "").strip() or None)
            s.add(row)
            s.flush()
            return int(row.id)

    def all(self) -> List[FeedbackRecord]:
        with self.store.session() as s:
            return [FeedbackRecord(r.id, r.message, r.intent, r.verdict, r.chosen_intent)
                    for r in s.execute(select(Feedback).order_by(Feedback.id)).scalars()]

    def training_examples(self) -> Tuple[List[Tuple[str, str]], List[FeedbackRecord]]:
        """(intent, message masked) for review, one per message, under the intent the agent
        chose (the suggestion's when used, or edited and not a no-answer); and the records
        an agent rewrote without saying what they are about (a reviewer labels them)."""
        found: List[Tuple[str, str]] = []
        unlabelled: List[FeedbackRecord] = []
        for record in self.all():
            label = record.label
            if label is None:
                if record.verdict == "edited":
                    unlabelled.append(record)
                continue
            example = (label, mask(" ".join(record.message.split())))
            if example not in found:
                found.append(example)
        return found, unlabelled

    def accepted_examples(self) -> List[Tuple[str, str]]:
        """(intent, message) of the suggestions an agent used or edited, one line per message."""
        found: List[Tuple[str, str]] = []
        for record in self.all():
            if record.verdict in ("used", "edited"):
                # one line per example: a pasted message's line breaks must not make more
                example = (record.intent, " ".join(record.message.split()))
                if example not in found:
                    found.append(example)
        return found
