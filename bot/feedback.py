"""Agents' feedback on suggestions, and its export as Rasa NLU training data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

import yaml
from sqlalchemy import select

from bot.schema import Feedback
from bot.store import OrderStore

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

    def export_nlu_yaml(self) -> str:
        """Messages whose suggestion an agent used or edited, under its intent: for review."""
        by_intent: Dict[str, List[str]] = {}
        for record in self.all():
            if record.verdict in ("used", "edited"):
                texts = by_intent.setdefault(record.intent, [])
                # one line per example: a pasted message's line breaks must not make more
                text = " ".join(record.message.split())
                if text not in texts:
                    texts.append(text)
        blocks = [
            {"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)}
            for intent, texts in sorted(by_intent.items())
        ]
        header = (
            "# Exported from agents' feedback (python -m bot export-feedback).\n"
            "# Review before moving examples into data/nlu/; then make validate && make train.\n"
        )
        return header + yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True,
                                       sort_keys=False)
