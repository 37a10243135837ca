"""Agents' feedback on suggestions, and the examples an export for review takes from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import select

from bot.shop.schema import Feedback
from bot.shop.store import OrderStore

VERDICTS = ("used", "edited", "rejected")


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    message: str
    intent: str
    verdict: str


class FeedbackLog:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def record(
        self, *, message: str, intent: str, verdict: str, now: datetime,
        order_id: Optional[str] = None, final_text: Optional[str] = None, agent: Optional[str] = None,
    ) -> int:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        if not message.strip() or not intent.strip():
            raise ValueError("message and intent are required")
        with self.store.session() as s, s.begin():
            row = Feedback(created_at=now, message=message.strip(), intent=intent, verdict=verdict,
                           order_id=order_id, final_text=final_text, agent=agent)
            s.add(row)
            s.flush()
            return int(row.id)

    def all(self) -> List[FeedbackRecord]:
        with self.store.session() as s:
            return [FeedbackRecord(r.id, r.message, r.intent, r.verdict)
                    for r in s.execute(select(Feedback).order_by(Feedback.id)).scalars()]

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
