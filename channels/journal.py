"""The pending-turn journal: customer turns that got no real answer, to replay later.

A turn lands here when the action server failed (Rasa 3.6 swallows the error
and the customer would see silence) or when an action answered that the shop
database was unavailable. The replay worker (``channels.replay``) runs them
again once the action server is healthy, so the case is recorded after all.

The journal lives in the tracker store's database (``SQLTrackerStore``): it
stays writable when the shop database is down, and every Rasa instance of a
multi-instance deployment shares it. Claims are atomic ``UPDATE``s, so two
instances never replay the same turn; ``message_id`` is unique, so a turn is
journaled once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

PENDING = "pending"  # waiting for the action server (or the database) to be back
REPLAYING = "replaying"  # claimed by one Rasa instance
DONE = "done"  # replayed and answered
SUPERSEDED = "superseded"  # the customer went on and got answers; not replayable any more
FAILED = "failed"  # gave up after the maximum number of attempts

# The defaults of a replay: PENDING_TURNS_MAX_ATTEMPTS and PENDING_TURNS_RETRY_SECONDS
# override them (channels.runtime.FaultSettings).
MAX_ATTEMPTS = 8  # attempts before a turn is given up (FAILED)
RETRY_SECONDS = 5.0  # the wait after the first failed attempt; it doubles after each

metadata = MetaData()

pending_turns = Table(
    "pending_turns",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("input_channel", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("metadata_json", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("claimed_by", String(255)),
    Column("claimed_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("last_error", Text),
)


@dataclass(frozen=True)
class PendingTurn:
    id: int
    message_id: str
    sender_id: str
    input_channel: str
    text: str
    metadata: Dict[str, Any]
    reason: str
    status: str
    attempts: int
    created_at: float


def _turn(row: Any) -> PendingTurn:
    return PendingTurn(
        id=row.id,
        message_id=row.message_id,
        sender_id=row.sender_id,
        input_channel=row.input_channel,
        text=row.text,
        metadata=json.loads(row.metadata_json or "{}"),
        reason=row.reason,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
    )


class PendingTurnJournal:
    """The journal over an SQLAlchemy engine (blocking calls: run them in a thread)."""

    def __init__(self, engine: Engine, max_attempts: int = MAX_ATTEMPTS,
                 retry_seconds: float = RETRY_SECONDS, claim_timeout: float = 300.0) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.claim_timeout = claim_timeout

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    def record(self, *, message_id: str, sender_id: str, input_channel: str, text: str,
               metadata: Optional[Dict[str, Any]], reason: str, now: Optional[float] = None) -> bool:
        """Journal a turn; ``False`` if it already is (a turn is journaled once)."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as conn:
                conn.execute(pending_turns.insert().values(
                    message_id=message_id, sender_id=sender_id, input_channel=input_channel,
                    text=text, metadata_json=json.dumps(metadata or {}, ensure_ascii=False),
                    reason=reason, status=PENDING, attempts=0, next_attempt_at=now,
                    created_at=now, updated_at=now,
                ))
            return True
        except IntegrityError:
            # already journaled: a replayed turn that failed again stays one row
            with self.engine.begin() as conn:
                conn.execute(update(pending_turns).where(
                    pending_turns.c.message_id == message_id,
                    pending_turns.c.status.in_([DONE, SUPERSEDED]),
                ).values(status=PENDING, next_attempt_at=now, updated_at=now, reason=reason))
            return False

    def due_senders(self, now: Optional[float] = None) -> List[str]:
        """Conversations with a turn that may be replayed now (or a stale claim)."""
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(pending_turns.c.sender_id).where(self._claimable(now)).distinct()
            ).all()
        return [r.sender_id for r in rows]

    def claim(self, sender_id: str, worker: str, now: Optional[float] = None) -> List[PendingTurn]:
        """Atomically claim the conversation's replayable turns, oldest first.

        Only one worker (of any instance) gets a given turn: the ``UPDATE``
        matches it only while it is unclaimed (or its claim went stale).
        """
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            ids = [r.id for r in conn.execute(
                select(pending_turns.c.id).where(
                    pending_turns.c.sender_id == sender_id, self._claimable(now))
            ).all()]
            claimed = []
            for turn_id in ids:
                result = conn.execute(update(pending_turns).where(
                    pending_turns.c.id == turn_id, self._claimable(now)
                ).values(status=REPLAYING, claimed_by=worker, claimed_at=now, updated_at=now))
                if result.rowcount == 1:
                    claimed.append(turn_id)
            if not claimed:
                return []
            rows = conn.execute(select(pending_turns).where(pending_turns.c.id.in_(claimed))
                                .order_by(pending_turns.c.created_at, pending_turns.c.id)).all()
        return [_turn(r) for r in rows]

    def finish(self, turn_id: int, status: str, error: Optional[str] = None) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(update(pending_turns).where(pending_turns.c.id == turn_id).values(
                status=status, updated_at=now, claimed_by=None, claimed_at=None, last_error=error))

    def retry_later(self, turn_id: int, error: str) -> str:
        """Count a failed attempt; back off, or give up after ``max_attempts``."""
        now = time.time()
        with self.engine.begin() as conn:
            attempts = conn.execute(select(pending_turns.c.attempts)
                                    .where(pending_turns.c.id == turn_id)).scalar_one() + 1
            status = FAILED if attempts >= self.max_attempts else PENDING
            conn.execute(update(pending_turns).where(pending_turns.c.id == turn_id).values(
                status=status, attempts=attempts, updated_at=now, claimed_by=None, claimed_at=None,
                next_attempt_at=now + self.retry_seconds * 2 ** (attempts - 1), last_error=error))
        return status

    def release(self, turn_id: int) -> None:
        """Give a claimed turn back untouched (the action server went away again)."""
        with self.engine.begin() as conn:
            conn.execute(update(pending_turns).where(pending_turns.c.id == turn_id).values(
                status=PENDING, claimed_by=None, claimed_at=None, updated_at=time.time()))

    def turns(self, sender_id: Optional[str] = None) -> List[PendingTurn]:
        query = select(pending_turns).order_by(pending_turns.c.created_at, pending_turns.c.id)
        if sender_id is not None:
            query = query.where(pending_turns.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            return [_turn(r) for r in conn.execute(query).all()]

    def _claimable(self, now: float) -> Any:
        return or_(
            and_(pending_turns.c.status == PENDING, pending_turns.c.next_attempt_at <= now),
            and_(pending_turns.c.status == REPLAYING,
                 pending_turns.c.claimed_at < now - self.claim_timeout),
        )
