"""Lock stores whose ticket operations are atomic across Rasa processes.

Rasa 3.6's ``RedisLockStore`` issues and returns a conversation's tickets by
reading the lock, changing it and writing it back: two instances that take a
ticket for the same conversation at the same moment can both read the empty
lock, both get ticket 1 and both process the conversation at once, and one of
them then overwrites the other's tracker events (`make test-scale` sends two
messages of one conversation at the same moment and caught it). This subclass
does the same read-change-write in a Redis transaction (WATCH/MULTI, retried
when another instance changed the lock meanwhile). It is configured like
``type: redis`` (``endpoints.yml``: ``type: rasa_adapter.lockstore.AtomicRedisLockStore``
with ``url``, ``port``, ``db``, ``key_prefix``).

``SQLiteLockStore`` does the same in an SQLite file (a ``BEGIN IMMEDIATE``
transaction per change), for several Rasa processes on one machine without Redis
(``type: rasa_adapter.lockstore.SQLiteLockStore`` with ``db``). Rasa accepts more
than one Sanic worker (``SANIC_WORKERS``) with any lock store but the in-memory one
(``rasa.core.utils.number_of_sanic_workers``); docs/performance.md says why
``make run`` still runs one.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Callable, Optional, Tuple, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore, RedisLockStore

T = TypeVar("T")
# what a change returns, and whether the lock is kept (else deleted)
Change = Callable[[TicketLock], Tuple[T, bool]]


class AtomicTickets(LockStore):
    """Rasa's ticket operations, each one read-change-write of the lock done atomically
    by ``_change`` (the store's transaction)."""

    def _change(self, conversation_id: str, change: Change[T], create: bool = False) -> Optional[T]:
        raise NotImplementedError

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            ticket = self._change(
                conversation_id, lambda lock: (lock.issue_ticket(lock_lifetime), True), create=True
            )
        except Exception as e:
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e
        assert ticket is not None
        return ticket

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: (lock.remove_expired_tickets(), True))

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._change(conversation_id, lambda lock: (lock.remove_ticket_for(ticket_number), True))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock) -> Tuple[None, bool]:
            lock.remove_ticket_for(ticket_number)
            return None, lock.is_someone_waiting()

        self._change(conversation_id, finish)


class AtomicRedisLockStore(AtomicTickets, RedisLockStore):
    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        # Rasa builds a lock store named by module path from its endpoint config
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Change[T], create: bool = False) -> Optional[T]:
        from redis.exceptions import WatchError

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None and not create:
                        pipe.unwatch()
                        return None
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else self.create_lock(conversation_id)
                    result, keep = change(lock)
                    pipe.multi()
                    if keep:
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another instance changed the lock: read it again


class SQLiteLockStore(AtomicTickets):
    """Tickets in an SQLite file shared by the Rasa processes of one machine."""

    def __init__(self, endpoint_config: Any = None, db: str = "var/locks.db", busy_timeout: float = 15.0) -> None:
        if endpoint_config is not None:
            db = str(endpoint_config.kwargs.get("db", db))
        super().__init__()
        Path(db).parent.mkdir(parents=True, exist_ok=True)
        self.db = db
        self.connection = sqlite3.connect(db, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS locks (conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)")

    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        row = self.connection.execute("SELECT lock FROM locks WHERE conversation_id = ?",
                                      (conversation_id,)).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    def delete_lock(self, conversation_id: str) -> None:
        self.connection.execute("DELETE FROM locks WHERE conversation_id = ?", (conversation_id,))

    def save_lock(self, lock: TicketLock) -> None:
        self.connection.execute("INSERT OR REPLACE INTO locks (conversation_id, lock) VALUES (?, ?)",
                                (lock.conversation_id, lock.dumps()))

    def _change(self, conversation_id: str, change: Change[T], create: bool = False) -> Optional[T]:
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")  # the write lock first: no other process between read and write
        try:
            lock = self.get_lock(conversation_id)
            if lock is None and not create:
                connection.execute("COMMIT")
                return None
            lock = lock or self.create_lock(conversation_id)
            result, keep = change(lock)
            if keep:
                self.save_lock(lock)
            else:
                self.delete_lock(conversation_id)
            connection.execute("COMMIT")
            return result
        except BaseException:
            connection.execute("ROLLBACK")
            raise
