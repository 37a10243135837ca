"""rasa_adapter/conversations.py: a tracker as a transcript, the tracker store's index."""

import json
from datetime import timedelta, timezone

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine

from rasa_adapter.api import bot_message, release_events
from rasa_adapter.conversations import TrackerIndex, conversation_from_tracker, tracker_store_url
from tests.helpers.shop import NOW

T0 = NOW.replace(tzinfo=timezone.utc).timestamp()


def test_a_tracker_becomes_a_transcript_with_the_agents_name():
    tracker = {
        "paused": True, "latest_input_channel": "socketio", "slots": {"order_id": "123"},
        "latest_message": {"text": "颜色发错了", "entities": [{"entity": "aspect", "value": "颜色"}],
                           "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                              {"name": "wrong_item", "confidence": 0.4}]},
        "events": [{"event": "user", "text": "转人工", "timestamp": T0},
                   {"event": "bot", "text": "正在为您转接", "timestamp": T0 + 1},
                   {"event": "slot", "name": "handoff", "value": "agent"},
                   {**bot_message("您好", "li"), "timestamp": T0 + 2},
                   {"event": "user", "text": "颜色发错了", "timestamp": T0 + 3}],
    }
    c = conversation_from_tracker("c1", tracker)
    assert [(line.who, line.agent) for line in c.lines] == [
        ("customer", None), ("bot", None), ("agent", "li"), ("customer", None)]
    assert c.lines[0].at == NOW and c.exists and c.paused and c.order_id == "123"
    assert c.ranking == (("wrong_item", 0.4),) and c.entities == {"aspect": ["颜色"]}
    assert c.latest_customer_text == "颜色发错了" and c.channel == "socketio"
    assert not conversation_from_tracker("nobody", {"events": []}).exists


def test_release_tells_the_customer_before_listening_again():
    events = release_events("人工客服li已结束本次服务")
    assert [e["event"] for e in events] == ["resume", "slot", "bot", "action"]
    assert events[-1]["name"] == "action_listen"


def test_the_tracker_store_url_is_found_as_rasa_finds_it(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: var/tracker.db\n", encoding="utf-8")
    assert tracker_store_url(endpoints, tmp_path) == f"sqlite:///{tmp_path / 'var/tracker.db'}"
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.local\n  port: 5432\n"
                         "  db: rasa\n  username: u\n  password: p\n", encoding="utf-8")
    assert tracker_store_url(endpoints, tmp_path) == "postgresql://u:p@db.local:5432/rasa"
    endpoints.write_text("tracker_store:\n  type: redis\n", encoding="utf-8")
    assert tracker_store_url(endpoints, tmp_path) is None


def events_table(tmp_path):
    """Rasa 3.6's SQLTrackerStore table (tests/unit/test_rasa_compat.py-style assumption)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)
    table = Table("events", MetaData(), Column("id", Integer, primary_key=True),
                  Column("sender_id", String(255)), Column("type_name", String(255)),
                  Column("timestamp", Float), Column("intent_name", String(255)),
                  Column("action_name", String(255)), Column("data", Text))
    table.metadata.create_all(engine)
    return engine, table


def test_the_index_lists_recent_conversations_and_two_failures(tmp_path):
    engine, table = events_table(tmp_path)
    index = TrackerIndex(engine)
    assert index.recent(NOW) == [] and index.mark("a") == 0 and index.latest_id() == 0
    rows = [("a", "user", 1, "out_of_scope", {"text": "啊"}), ("a", "bot", 2, None, {"text": "抱歉"}),
            ("a", "user", 3, "nlu_fallback", {"text": "嗯？"}),
            ("b", "user", 4, "greet", {"text": "你好"}), ("b", "pause", 5, None, {}),
            ("c", "user", 6, "out_of_scope", {"text": "x"}), ("c", "user", 7, "out_of_scope", {"text": "y"}),
            ("c", "bot", 8, None, {"text": "我来", "metadata": {"agent": "li"}}),
            ("old", "user", -4000, "greet", {"text": "很久以前"})]
    with engine.begin() as c:
        for sender, kind, seconds, intent, data in rows:
            c.execute(table.insert().values(sender_id=sender, type_name=kind, timestamp=T0 + seconds,
                                            intent_name=intent, data=json.dumps(data)))
    found = {a.conversation_id: a for a in index.recent(NOW - timedelta(minutes=10))}
    assert set(found) == {"a", "b", "c"}
    assert found["a"].not_understood and found["a"].last_text == "嗯？"
    assert found["b"].paused and not found["b"].not_understood
    assert not found["c"].not_understood  # an agent answered since
    assert index.mark("c") > index.mark("a") > 0 and index.latest_id() == len(rows)
