"""rasa_adapter/tracker_cache.py: the trackers kept between turns never differ from the database.

Each test runs Rasa's own SQLTrackerStore on a temporary SQLite file and compares what
the cache gives with what Rasa reads from the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import text

from bot import settings
from rasa_adapter import compat
from rasa_adapter.tracker_cache import TrackerCache, event_row, install

DOMAIN = Domain.from_dict({
    "intents": ["greet", "inform"],
    "slots": {
        "order_id": {"type": "text", "mappings": [{"type": "from_entity", "entity": "order_id"}]},
        "phone_tail": {"type": "text", "mappings": [{"type": "custom"}]},
    },
    "forms": {"order_form": {"required_slots": ["order_id"]}},
    "responses": {"utter_greet": [{"text": "您好"}]},
})


def user(text_: str, intent: str = "inform", at: float = 1000.0) -> UserUttered:
    return UserUttered(text_, {"name": intent, "confidence": 0.9},
                       parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [],
                                   "text": text_}, timestamp=at)


def a_turn(number: int, at: float = 1000.0) -> List[Event]:
    """A customer message and what the bot did about it (a form, a slot, a reply)."""
    at += number
    return [user(f"订单 {number}", at=at), ActionExecuted("order_form", timestamp=at),
            ActiveLoop("order_form", timestamp=at), SlotSet("order_id", f"30900{number}", timestamp=at),
            BotUttered(f"好的 {number}", timestamp=at), ActionExecuted("action_listen", timestamp=at)]


def apply(tracker: DialogueStateTracker, events: List[Event]) -> None:
    """The events applied as they are (``update_with_events`` would stamp them now)."""
    for event in events:
        tracker.update(event, DOMAIN)


def state(tracker: DialogueStateTracker) -> Tuple[Any, ...]:
    return (tracker.current_state(EventVerbosity.ALL), tracker.followup_action, tracker.latest_action,
            tracker.active_loop, {name: slot.value for name, slot in tracker.slots.items()})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "tracker.db")


def sql_store(db: str) -> SQLTrackerStore:
    return SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)


@pytest.fixture
def rasa(db: str) -> Iterator[SQLTrackerStore]:
    """Rasa's own store on the database: what a reader without the cache sees."""
    store = sql_store(db)
    yield store
    store.engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(db: str, clock: Clock) -> Iterator[TrackerCache]:
    store = sql_store(db)
    yield TrackerCache(store, size=10, idle_seconds=60, clock=clock)
    store.engine.dispose()


async def new_conversation(cache: TrackerCache, sender: str = "c1", turns: int = 2) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen", timestamp=999.0))
    await cache.save(tracker)
    for number in range(turns):
        tracker = await cache.retrieve(sender)
        apply(tracker, a_turn(number))
        await cache.save(tracker)
    return tracker


def rows(store: SQLTrackerStore) -> List[Tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"))]


async def test_a_kept_conversation_is_what_rasa_reads_from_the_database(cache, rasa):
    await new_conversation(cache)
    hits = cache.hits
    kept = await cache.retrieve("c1")
    assert cache.hits == hits + 1
    read = await rasa.retrieve("c1")
    assert state(kept) == state(read)
    assert kept.active_loop_name == "order_form" and kept.get_slot("order_id") == "309001"


async def test_the_rows_are_the_ones_rasa_writes(cache, db, tmp_path):
    await new_conversation(cache, turns=3)
    plain = sql_store(str(tmp_path / "plain.db"))
    tracker = DialogueStateTracker("c1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_listen", timestamp=999.0))
    await plain.save(tracker)
    for number in range(3):
        tracker = await plain.retrieve("c1")
        apply(tracker, a_turn(number))
        await plain.save(tracker)
    assert rows(cache._tracker_store) == rows(plain)
    assert len(rows(plain)) == 1 + 3 * 6  # each event once
    plain.engine.dispose()


async def test_another_writer_is_seen_at_the_next_read(cache, rasa):
    """Another Rasa instance on the same database (or any tool) wrote to the conversation."""
    await new_conversation(cache)
    other = await rasa.retrieve("c1")
    apply(other, [user("还在吗", at=2000.0), BotUttered("在的", timestamp=2000.0),
                  ConversationPaused(timestamp=2000.0)])
    await rasa.save(other)
    got = await cache.retrieve("c1")
    assert state(got) == state(await rasa.retrieve("c1"))
    assert got.is_paused() and got.latest_message.text == "还在吗"


async def test_a_save_after_another_writer_does_not_lose_or_repeat_events(cache, rasa):
    await new_conversation(cache)
    mine = await cache.retrieve("c1")
    other = await rasa.retrieve("c1")  # a writer that ignored the conversation's lock
    apply(other, [BotUttered("坐席消息", timestamp=1500.0)])
    await rasa.save(other)
    apply(mine, a_turn(7))
    await cache.save(mine)  # Rasa's own save: it counts the stored events
    assert state(await cache.retrieve("c1")) == state(await rasa.retrieve("c1"))
    assert len(rows(rasa)) == 1 + 2 * 6 + 1 + 6 - 1  # Rasa's count-and-slice drops one: as without the cache


async def test_a_turn_that_fails_before_saving_changes_nothing_kept(cache, rasa):
    await new_conversation(cache)
    failed = await cache.retrieve("c1")
    apply(failed, a_turn(5))  # never saved
    failed.slots["phone_tail"].value = "1234"
    got = await cache.retrieve("c1")
    assert state(got) == state(await rasa.retrieve("c1"))
    assert got.get_slot("phone_tail") is None and len(got.events) == len(failed.events) - 6


async def test_callers_get_copies_that_do_not_touch_each_other(cache):
    await new_conversation(cache)
    reader = await cache.retrieve("c1")  # the turn guard, outside the conversation's lock
    turn = await cache.retrieve("c1")
    apply(turn, [ActiveLoop(None), SlotSet("order_id", "1")])
    assert reader.active_loop_name == "order_form" and reader.get_slot("order_id") == "309001"


async def test_only_the_new_events_are_written(cache, rasa):
    await new_conversation(cache)
    tracker = await cache.retrieve("c1")
    apply(tracker, a_turn(3))
    before = len(rows(rasa))
    await cache.save(tracker)
    await cache.save(tracker)  # saved twice: nothing more
    assert len(rows(rasa)) == before + 6
    assert state(await cache.retrieve("c1")) == state(await rasa.retrieve("c1"))


async def test_a_tracker_that_does_not_continue_the_kept_one_is_saved_by_rasa(cache, rasa):
    await new_conversation(cache)
    stranger = await rasa.retrieve("c1")  # the same history, other objects
    apply(stranger, a_turn(4))
    await cache.save(stranger)
    assert "c1" not in cache.kept
    assert state(await cache.retrieve("c1")) == state(await rasa.retrieve("c1"))


@pytest.mark.parametrize("action_at, events_read", [(5000.0, 3), (4999.5, 2)])
async def test_a_new_session_is_read_as_rasa_reads_it(cache, rasa, action_at, events_read):
    tracker = await new_conversation(cache)
    tracker = await cache.retrieve("c1")
    apply(tracker, [ActionExecuted("action_session_start", timestamp=action_at),
                    SessionStarted(timestamp=5000.0), ActionExecuted("action_listen", timestamp=5000.0)])
    await cache.save(tracker)
    hits = cache.hits
    got = await cache.retrieve("c1")
    assert cache.hits == hits + 1
    assert state(got) == state(await rasa.retrieve("c1"))
    assert len(got.events) == events_read  # the latest session only (from its start's timestamp)
    apply(got, a_turn(9, at=5000.0))
    await cache.save(got)
    assert state(await cache.retrieve("c1")) == state(await rasa.retrieve("c1"))
    assert cache.hits == hits + 2


async def test_memory_is_bounded_by_conversations_and_idle_time(cache, clock):
    cache.size = 3
    for number in range(5):
        await new_conversation(cache, f"c{number}", turns=1)
    assert list(cache.kept) == ["c2", "c3", "c4"]
    await cache.retrieve("c2")  # used: the least recently used is now c3
    await new_conversation(cache, "c5", turns=1)
    assert list(cache.kept) == ["c4", "c2", "c5"]
    clock.now += 61
    misses = cache.misses
    assert (await cache.retrieve("c5")) is not None
    assert cache.misses == misses + 1  # expired: read again
    assert list(cache.kept) == ["c5"]


async def test_a_new_model_forgets_every_kept_conversation(cache):
    await new_conversation(cache)
    cache.domain = DOMAIN
    assert not cache.kept


async def test_an_unknown_conversation_is_none(cache):
    assert await cache.retrieve("nobody") is None
    assert not cache.kept


def test_event_rows_are_what_rasa_writes_for_each_kind_of_event():
    for event in [*a_turn(1), ConversationPaused(timestamp=1.0), SessionStarted(timestamp=2.0)]:
        row = event_row("c1", event)
        data = event.as_dict()
        assert row["type_name"] == event.type_name and row["action_name"] == data.get("name")
    assert event_row("c1", user("你好", "greet"))["intent_name"] == "greet"


def test_it_goes_between_rasas_wrapper_and_the_sql_store_and_the_journal_still_finds_the_engine(db):
    store = sql_store(db)
    agent = Agent(domain=DOMAIN, tracker_store=store)
    assert isinstance(agent.tracker_store, FailSafeTrackerStore)
    cache = install(agent.tracker_store, 10, 60)
    assert isinstance(cache, TrackerCache) and cache._tracker_store is store
    assert agent.tracker_store._tracker_store is cache
    assert agent.processor is None or agent.processor.tracker_store is agent.tracker_store
    assert install(agent.tracker_store, 10, 60) is cache  # once
    assert compat.tracker_store_engine(agent.tracker_store) is store.engine
    store.engine.dispose()


def test_it_stays_out_with_size_0_or_an_event_broker(db):
    store = sql_store(db)
    assert install(FailSafeTrackerStore(store), 0, 60) is None
    store.event_broker = object()  # type: ignore[assignment]
    assert install(FailSafeTrackerStore(store), 10, 60) is None
    store.engine.dispose()


def test_the_setting_turns_it_off(monkeypatch):
    monkeypatch.delenv("TRACKER_CACHE_SIZE", raising=False)
    monkeypatch.delenv("AFTERSALES_SPEEDUPS", raising=False)
    assert settings.tracker_cache_size() == settings.TRACKER_CACHE_SIZE
    monkeypatch.setenv("AFTERSALES_SPEEDUPS", "0")
    assert settings.tracker_cache_size() == 0
    monkeypatch.setenv("AFTERSALES_SPEEDUPS", "1")
    monkeypatch.setenv("TRACKER_CACHE_SIZE", "0")
    assert settings.tracker_cache_size() == 0
