"""rasa_adapter/lockstore.py SQLiteLockStore: one turn of a conversation at a time across processes.

Two stores on one file stand for two Rasa processes (each opens its own connection).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import List

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig

from rasa_adapter.lockstore import SQLiteLockStore

TYPE = "rasa_adapter.lockstore.SQLiteLockStore"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "locks.db")


def test_rasa_builds_it_from_endpoints_and_accepts_several_workers_with_it(db, monkeypatch):
    config = EndpointConfig(type=TYPE, db=db)
    store = LockStore.create(config)
    assert isinstance(store, SQLiteLockStore) and store.db == db
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(config) == 2
    assert number_of_sanic_workers(EndpointConfig(type="in_memory")) == 1


def test_tickets_are_issued_in_turn_across_processes(db):
    one, two = SQLiteLockStore(db=db), SQLiteLockStore(db=db)
    first = one.issue_ticket("c1")
    second = two.issue_ticket("c1")
    assert second == first + 1
    assert not one.get_lock("c1").is_locked(first)
    assert two.get_lock("c1").is_locked(second)  # waits for the first
    one.cleanup("c1", first)
    assert not two.get_lock("c1").is_locked(second)
    two.cleanup("c1", second)
    assert one.get_lock("c1") is None  # nobody waiting: deleted


def test_tickets_taken_at_the_same_moment_are_all_different(db):
    stores = [SQLiteLockStore(db=db) for _ in range(4)]
    tickets: List[int] = []
    guard = threading.Lock()

    def take(store: SQLiteLockStore) -> None:
        for _ in range(25):
            ticket = store.issue_ticket("c1")
            with guard:
                tickets.append(ticket)

    threads = [threading.Thread(target=take, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(100))


async def test_a_second_turn_waits_for_the_first_in_the_other_process(db):
    one, two = SQLiteLockStore(db=db), SQLiteLockStore(db=db)
    order: List[str] = []

    async def turn(store: SQLiteLockStore, name: str, hold: float) -> None:
        async with store.lock("c1", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    first = asyncio.ensure_future(turn(one, "first", 0.1))
    await asyncio.sleep(0.02)
    await asyncio.gather(first, turn(two, "second", 0))
    assert order == ["first in", "first out", "second in", "second out"]
    assert one.get_lock("c1") is None
