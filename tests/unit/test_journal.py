"""The pending-turn journal (on a temporary SQLite database), the guard's verdict and the input sanitiser."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from channels.guard import needs_replay
from channels.journal import DONE, FAILED, PENDING, SUPERSEDED, PendingTurnJournal
from channels.runtime import FaultSettings
from channels.sanitise import neutralise_command


@pytest.fixture
def journal(tmp_path: Path) -> PendingTurnJournal:
    journal = PendingTurnJournal(create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True),
                                 max_attempts=3, retry_seconds=10)
    journal.create_schema()
    return journal


def record(journal: PendingTurnJournal, message_id: str, sender: str = "c1", now: float = 100.0) -> bool:
    return journal.record(message_id=message_id, sender_id=sender, input_channel="rest",
                          text="收到的东西坏了", metadata={"buyer_token": "t"}, reason="unanswered", now=now)


@pytest.mark.parametrize("typed, parsed", [
    ('/request_human{"order_id": "1"}', 'request_human{"order_id": "1"}'),
    ("  //restart", "restart"),
    ("／greet", "greet"),  # full-width: the NLU normaliser would make it "/"
    ("\u200b /greet", "greet"),
    ("你好", "你好"),  # the widget's initPayload
    ("  你好 /greet", "  你好 /greet"),
    ("", ""),
    # the 「您是想问」 buttons' payloads stay commands, bare and only for their topics
    ("/quality_issue", "/quality_issue"),
    ("/request_human", "/request_human"),
    ('/quality_issue{"order_id": "1"}', 'quality_issue{"order_id": "1"}'),
    ("/EXTERNAL_photo_received", "EXTERNAL_photo_received"),
    ("/greet", "greet"),
])
def test_typed_intent_syntax_is_neutralised(typed, parsed):
    assert neutralise_command(typed) == parsed


def test_which_turns_need_a_replay():
    assert needs_replay([]) == "unanswered"
    assert needs_replay([{"text": "x", "utter_action": "utter_order_lookup_failed"}]) == "database"
    assert needs_replay([{"text": "x", "utter_action": "utter_quality_issue"}]) is None
    # an action failed after another had answered: the answer is partial
    assert needs_replay([{"text": "x", "utter_action": "utter_order_picked"}], action_failed=True) == "action_failed"


def test_a_turn_is_journaled_once(journal):
    assert record(journal, "m1")
    assert not record(journal, "m1")
    assert [(t.message_id, t.status, t.metadata) for t in journal.turns()] == [
        ("m1", PENDING, {"buyer_token": "t"})]


def test_only_one_worker_claims_a_turn(journal):
    record(journal, "m1", now=100)
    record(journal, "m2", now=101)
    assert journal.due_senders(now=200) == ["c1"]
    assert [t.message_id for t in journal.claim("c1", "instance-a", now=200)] == ["m1", "m2"]
    assert journal.claim("c1", "instance-b", now=200) == []
    assert journal.due_senders(now=200) == []
    # a claim whose instance died goes back after the claim timeout
    assert [t.message_id for t in journal.claim("c1", "instance-b", now=200 + 301)] == ["m1", "m2"]


def test_retries_are_bounded_and_back_off(journal):
    record(journal, "m1")
    [turn] = journal.claim("c1", "w")
    assert journal.retry_later(turn.id, "unanswered") == PENDING
    assert journal.claim("c1", "w") == []  # backing off
    assert journal.retry_later(turn.id, "unanswered") == PENDING
    assert journal.retry_later(turn.id, "unanswered") == FAILED
    assert journal.turns()[0].attempts == 3


def test_a_replayed_turn_that_fails_again_is_pending_again(journal):
    record(journal, "m1")
    [turn] = journal.claim("c1", "w", now=200)
    journal.finish(turn.id, DONE)
    assert not record(journal, "m1", now=300)
    assert journal.turns()[0].status == PENDING
    journal.finish(turn.id, SUPERSEDED)
    assert journal.turns()[0].status == SUPERSEDED


def test_the_journal_and_the_fault_settings_share_their_defaults(tmp_path, monkeypatch):
    for name in ("PENDING_TURNS_MAX_ATTEMPTS", "PENDING_TURNS_RETRY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = FaultSettings.from_env()
    journal = PendingTurnJournal(create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True))
    assert (journal.max_attempts, journal.retry_seconds) == (settings.max_attempts, settings.retry_seconds)
