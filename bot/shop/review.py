"""The trainers' review queue: customer messages the assistant was unsure of, waiting for a
trainer to say which intent they are (docs/nlu.md, "The review queue").

Messages join from live traffic: every customer message NLU fell back on (``nlu_fallback``:
the assistant asked 「您是想问：」, or to rephrase inside a form) or read as ``out_of_scope``,
taken from the conversations' events; every draft an agent rejected, rewrote or wrote
without (``bot.shop.feedback``); and a log run through the model (``make review``). A
message joins once (its text, numbers replaced by the training data's placeholders), in the
shop database, so every web service of a scaled stack sees the same queue.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bot.shop.feedback import FeedbackLog
from bot.shop.masking import mask
from bot.shop.schema import ReviewCursor, ReviewItem
from bot.shop.store import OrderStore

DROP = "-"  # a trainer's "not an example": discarded
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
# what brought a message: NLU below its threshold, read as out of scope, an agent's
# verdict on its draft, a log run through the model
SOURCES = ("fallback", OUT_OF_SCOPE, "feedback", "log")
UNSURE_INTENTS = (FALLBACK, OUT_OF_SCOPE)
MAX_CANDIDATES = 3
Ranking = Sequence[Tuple[str, float]]


@dataclass(frozen=True)
class QueueItem:
    id: int
    text: str
    predicted: str
    confidence: Optional[float]
    source: str
    candidates: Tuple[Tuple[str, float], ...] = ()  # the model's best intents, best first
    label: Optional[str] = None
    applied: bool = False

    def as_dict(self) -> Dict[str, object]:
        return {"id": self.id, "text": self.text, "predicted": self.predicted,
                "confidence": self.confidence, "source": self.source,
                "candidates": [list(c) for c in self.candidates], "label": self.label}


@dataclass(frozen=True)
class UnsureMessage:
    """A customer message of live traffic: the id of its event, what NLU said."""

    event_id: int
    text: str
    intent: str
    ranking: Ranking  # (intent, confidence), best first


def guess(intent: str, ranking: Ranking) -> Tuple[str, Optional[float], Tuple[Tuple[str, float], ...]]:
    """The model's guess behind a fallback: its best real intent, that intent's confidence,
    and the best few (``nlu_fallback`` is no intent a trainer can pick)."""
    real = tuple((name, round(float(conf), 3)) for name, conf in ranking if name != FALLBACK)
    best = real[0] if real else (OUT_OF_SCOPE if intent == FALLBACK else intent, 0.0)
    return best[0], best[1], real[:MAX_CANDIDATES]


_OPEN = (ReviewItem.label.is_(None), ReviewItem.applied_at.is_(None))
_REVIEWED = (ReviewItem.label.is_not(None), ReviewItem.label != DROP, ReviewItem.applied_at.is_(None))


def _matching(search: Optional[str]) -> Tuple[Any, ...]:
    """The condition "the text contains ``search``" (none for an empty search)."""
    return (ReviewItem.text.contains(search, autoescape=True),) if search else ()


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _item(row: ReviewItem) -> QueueItem:
    try:
        candidates = tuple((str(n), float(c)) for n, c in json.loads(row.candidates or "[]"))
    except (ValueError, TypeError):
        candidates = ()
    return QueueItem(row.id, row.text, row.predicted, row.confidence, row.source, candidates,
                     row.label, row.applied_at is not None)


class ReviewQueue:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    # -- joining ---------------------------------------------------------------------------

    def add(self, text: str, predicted: str, confidence: Optional[float], source: str, now: datetime,
            candidates: Ranking = ()) -> Optional[QueueItem]:
        """A message joins the queue once: one line, its numbers masked; None if known."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}")
        text = mask(" ".join(text.split()))
        if not text:
            return None
        row = ReviewItem(key=_key(text), text=text, predicted=predicted, confidence=confidence,
                         candidates=json.dumps([list(c) for c in candidates], ensure_ascii=False),
                         source=source, created_at=now)
        try:
            with self.store.transaction() as s:
                if s.execute(select(ReviewItem.id).where(ReviewItem.key == row.key)).first():
                    return None
                s.add(row)
                s.flush()
                return _item(row)
        except IntegrityError:  # another web service added it meanwhile
            return None

    def take_traffic(self, read: Callable[[int], List[UnsureMessage]], now: datetime,
                     latest_id: Optional[Callable[[], int]] = None) -> int:
        """The unsure messages of live traffic since the last time: ``read(after_id)`` gives
        those whose event id is above ``after_id``, oldest first. ``latest_id``: the newest
        event's id; below the cursor, the tracker store was made afresh and is read again
        from its start (the messages known already do not join twice)."""
        if latest_id is not None and latest_id() < self._cursor("traffic"):
            with self.store.transaction() as s:
                s.execute(update(ReviewCursor).where(ReviewCursor.source == "traffic").values(last_id=0))
        added = 0
        while True:
            messages = read(self._cursor("traffic"))
            if not messages:
                return added
            for message in messages:
                if message.intent in UNSURE_INTENTS and not message.text.startswith("/"):
                    predicted, confidence, best = guess(message.intent, message.ranking)
                    source = "fallback" if message.intent == FALLBACK else OUT_OF_SCOPE
                    added += self.add(message.text, predicted, confidence, source, now, best) is not None
            self._advance("traffic", max(m.event_id for m in messages))

    def take_feedback(self, feedback: FeedbackLog, now: datetime) -> int:
        """The drafts an agent rejected, rewrote or wrote without since the last time, under
        the draft's intent (and the one the agent named, if any, as a candidate)."""
        after = self._cursor("feedback")
        records = [r for r in feedback.all() if r.id > after]
        added = 0
        for r in records:
            if r.verdict != "used":
                named = ((r.chosen_intent, 1.0),) if r.chosen_intent else ()
                added += self.add(r.message, r.intent, None, "feedback", now, named) is not None
        if records:
            self._advance("feedback", max(r.id for r in records))
        return added

    def _cursor(self, source: str) -> int:
        with self.store.session() as s:
            return int(s.execute(select(ReviewCursor.last_id).where(ReviewCursor.source == source))
                       .scalar() or 0)

    def _advance(self, source: str, last_id: int) -> None:
        try:
            with self.store.transaction() as s:
                cursor = s.get(ReviewCursor, source)
                if cursor is None:
                    s.add(ReviewCursor(source=source, last_id=last_id))
                else:
                    cursor.last_id = max(cursor.last_id, last_id)
        except IntegrityError:  # another web service made the cursor meanwhile: it moves on
            with self.store.transaction() as s:
                s.execute(update(ReviewCursor).where(ReviewCursor.source == source,
                                                     ReviewCursor.last_id < last_id).values(last_id=last_id))

    # -- reviewing ---------------------------------------------------------------------------

    def items(self, *where: Any) -> List[QueueItem]:
        with self.store.session() as s:
            query = select(ReviewItem).where(*where).order_by(ReviewItem.id)
            return [_item(r) for r in s.execute(query).scalars()]

    def get(self, item_id: int) -> Optional[QueueItem]:
        with self.store.session() as s:
            row = s.get(ReviewItem, item_id)
            return _item(row) if row is not None else None

    def open_items(self) -> List[QueueItem]:
        return self.items(*_OPEN)

    def counts(self, search: Optional[str] = None) -> Dict[str, int]:
        """How many open items each predicted intent has (those whose text contains
        ``search``), the largest group first."""
        with self.store.session() as s:
            query = (select(ReviewItem.predicted, func.count()).where(*_OPEN, *_matching(search))
                     .group_by(ReviewItem.predicted))
            rows = [(str(intent), int(n)) for intent, n in s.execute(query)]
        return dict(sorted(rows, key=lambda g: (-g[1], g[0])))

    def page(self, intent: str, offset: int = 0, limit: Optional[int] = None,
             search: Optional[str] = None) -> List[QueueItem]:
        """The open items guessed as ``intent``, least confident first, from ``offset`` on
        (at most ``limit``; None: all)."""
        with self.store.session() as s:
            query = (select(ReviewItem).where(*_OPEN, ReviewItem.predicted == intent, *_matching(search))
                     .order_by(func.coalesce(ReviewItem.confidence, 0.0), ReviewItem.id)
                     .offset(offset).limit(limit))
            return [_item(r) for r in s.execute(query).scalars()]

    def grouped(self, limit: Optional[int] = None, search: Optional[str] = None) -> Dict[str, List[QueueItem]]:
        """Open items by predicted intent (the largest group first), least confident first:
        the first ``limit`` of each group (None: all)."""
        return {intent: self.page(intent, 0, limit, search) for intent in self.counts(search)}

    def assign(self, item_id: int, intent: Optional[str], intents: Iterable[str],
               by: Optional[str] = None) -> QueueItem:
        """The trainer's intent for an item (``DROP``: not an example; None: back to open);
        it can change until the item is applied."""
        if intent is not None and intent != DROP and intent not in set(intents):
            raise ValueError(f"{intent} is not an intent of domain.yml")
        with self.store.transaction() as s:
            row = s.get(ReviewItem, item_id)
            if row is None:
                raise KeyError(f"no item {item_id} in the review queue")
            if row.applied_at is not None:
                raise ValueError(f"item {item_id} is already in the training data")
            row.label, row.labelled_by = intent, by
            s.flush()
            return _item(row)

    def reviewed(self) -> List[QueueItem]:
        """The items labelled with an intent and not yet written into the training data."""
        return self.items(*_REVIEWED)

    def reviewed_count(self) -> int:
        with self.store.session() as s:
            return int(s.execute(select(func.count()).select_from(ReviewItem).where(*_REVIEWED)).scalar() or 0)

    def remask(self) -> Tuple[int, int]:
        """The masking of today on the items not yet in the training data, queued before it
        (names and addresses were kept then): (rewritten, merged into an item of the same
        masked words). A merged item's label goes to the one it joins if that has none."""
        rewritten = merged = 0
        with self.store.transaction() as s:
            for row in s.execute(select(ReviewItem).where(ReviewItem.applied_at.is_(None))
                                 .order_by(ReviewItem.id)).scalars().all():
                text = mask(row.text)
                if text == row.text:
                    continue
                same = s.execute(select(ReviewItem).where(ReviewItem.key == _key(text))).scalar()
                if same is None:
                    row.text, row.key = text, _key(text)
                    rewritten += 1
                    s.flush()
                    continue
                if same.label is None and same.applied_at is None:
                    same.label, same.labelled_by = row.label, row.labelled_by
                s.delete(row)
                merged += 1
                s.flush()
        return rewritten, merged

    def mark_applied(self, item_ids: Iterable[int], now: datetime) -> None:
        ids = list(item_ids)
        if ids:
            with self.store.transaction() as s:
                s.execute(update(ReviewItem).where(ReviewItem.id.in_(ids)).values(applied_at=now))


def intent_choices(item: QueueItem, intents: Sequence[str]) -> List[str]:
    """The intents to offer for an item: the model's best first, then the rest of the
    domain's in its order."""
    first = [name for name, _ in item.candidates if name in intents]
    if item.predicted in intents and item.predicted not in first:
        first.append(item.predicted)
    return first + [i for i in intents if i not in first]
