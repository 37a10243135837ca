"""The trainers' review queue: unsure messages in (from a log, live traffic, the agents'
feedback), a trainer's intent, back into data/nlu.yml."""

import json
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from bot.settings import PROJECT_ROOT
from bot.shop.feedback import FeedbackLog
from bot.shop.review import DROP, QueueItem, ReviewQueue, UnsureMessage, guess, intent_choices
from bot.shop.store import OrderStore
from evaluation.data import from_rasa_yaml
from evaluation.review import add_examples, apply_reviewed, domain_intents, fill, main, patch
from rasa_adapter.conversations import TrackerIndex
from tests.helpers.shop import NOW


class Unsure:
    """A model's answers as RasaModel.answers gives them: unsure of messages with 那个."""

    def answers(self, texts):
        predictions = ["nlu_fallback" if "那个" in t else "track_parcel" for t in texts]
        return predictions, [[("refund_status", 0.21), ("track_parcel", 0.2)] for _ in texts]


def project_copy(tmp_path):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "data" / "nlu.yml", root / "data" / "nlu.yml")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    return root


def test_a_message_the_model_falls_back_on_round_trips_into_the_training_data(tmp_path):
    root = project_copy(tmp_path)
    nlu, db = root / "data" / "nlu.yml", f"sqlite:///{tmp_path / 'shop.db'}"
    before = from_rasa_yaml([nlu], root)
    store = OrderStore.from_url(db)
    store.create_schema()
    queue = ReviewQueue(store)
    assert fill(queue, Unsure(), ["那个售后单子咋还没动静", "快递到哪了", "那个售后单子咋还没动静"], NOW) == 1
    [item] = queue.grouped()["refund_status"]
    assert (item.text, item.confidence, item.source) == ("那个售后单子咋还没动静", 0.21, "log")
    assert item.candidates == (("refund_status", 0.21), ("track_parcel", 0.2))

    assert main(["assign", str(item.id), "refund_status", "--db", db, "--nlu", str(nlu)]) == 0
    assert main(["patch", "--db", db, "--out", str(tmp_path / "patch.yml")]) == 0
    assert "- intent: refund_status" in (tmp_path / "patch.yml").read_text(encoding="utf-8")
    assert main(["apply", "--db", db, "--nlu", str(nlu)]) == 0

    after = from_rasa_yaml([nlu], root)
    added = [e for e in after if e.text == "那个售后单子咋还没动静"]
    assert [e.intent for e in added] == ["refund_status"]
    assert len(after) == len(before) + 1
    # inside the intent's block, not at the end of the file
    refund_lines = [int(e.where.rsplit(":", 1)[1]) for e in after if e.intent == "refund_status"]
    assert int(added[0].where.rsplit(":", 1)[1]) == max(refund_lines) < len(nlu.read_text().splitlines())
    # applied: a second apply adds nothing, the queue has nothing open, the message never rejoins
    assert main(["apply", "--db", db, "--nlu", str(nlu)]) == 0
    assert len(from_rasa_yaml([nlu], root)) == len(after)
    assert queue.open_items() == [] and queue.reviewed() == []
    assert fill(queue, Unsure(), ["那个售后单子咋还没动静"], NOW) == 0
    with pytest.raises(ValueError):
        queue.assign(item.id, "track_parcel", domain_intents(root))


def test_an_intent_the_domain_does_not_know_is_refused_and_a_label_can_be_undone(store):
    queue = ReviewQueue(store)
    item = queue.add("那个呢", "greet", 0.1, "fallback", NOW)
    assert item is not None
    with pytest.raises(ValueError):
        queue.assign(item.id, "refund_stauts", domain_intents())
    with pytest.raises(KeyError):
        queue.assign(item.id + 100, "greet", domain_intents())
    assert queue.assign(item.id, DROP, domain_intents()).label == DROP
    assert queue.reviewed() == [] and queue.open_items() == []
    assert queue.assign(item.id, None, domain_intents(), by="laowang").label is None
    assert [i.id for i in queue.open_items()] == [item.id]


def test_system_intents_are_no_choice_for_a_trainer():
    intents = domain_intents()
    assert "out_of_scope" in intents and "track_parcel" in intents
    assert not [i for i in intents if i.startswith("EXTERNAL_")]


def test_a_new_intent_gets_its_own_block(tmp_path):
    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n', encoding="utf-8")
    examples = [QueueItem(1, "发票怎么开", "out_of_scope", 0.2, "feedback", label="invoice_request"),
                QueueItem(2, "在吗", "greet", 0.2, "feedback", label="greet")]
    assert add_examples(nlu, examples) == 2
    assert [(e.intent, e.text) for e in from_rasa_yaml([nlu], tmp_path)] == [
        ("greet", "你好"), ("greet", "在吗"), ("invoice_request", "发票怎么开")]


def test_drafts_an_agent_rejected_or_rewrote_join_the_queue_once(store):
    log = FeedbackLog(store)
    log.record(message="快递到哪了", intent="track_parcel", verdict="used", now=NOW)
    log.record(message="东西用着不对劲", intent="product_no_effect", verdict="rejected", now=NOW)
    log.record(message="发票开了吗", intent="out_of_scope", verdict="edited", now=NOW, final_text="已开",
               chosen_intent="invoice_request")
    queue = ReviewQueue(store)
    assert queue.take_feedback(log, NOW) == 2
    assert queue.take_feedback(log, NOW) == 0  # read once
    log.record(message="东西用着不对劲", intent="quality_issue", verdict="own", now=NOW)
    log.record(message="还是不对劲", intent="quality_issue", verdict="own", now=NOW)
    assert queue.take_feedback(log, NOW) == 1  # a known message does not join again
    assert [(i.text, i.predicted, i.source, i.candidates) for i in queue.open_items()] == [
        ("东西用着不对劲", "product_no_effect", "feedback", ()),
        ("发票开了吗", "out_of_scope", "feedback", (("invoice_request", 1.0),)),
        ("还是不对劲", "quality_issue", "feedback", ())]


def test_customers_numbers_never_reach_the_queue(store):
    queue = ReviewQueue(store)
    item = queue.add("订单3027461958301111111  怎么\n还没到 13900001111", "track_parcel", 0.2, "fallback", NOW)
    assert item is not None
    assert item.text == "订单[3027461958302746518](order_id) 怎么 还没到 [13812345678](phone)"
    assert "3027461958301111111" not in json.dumps([i.as_dict() for i in queue.items()], ensure_ascii=False)


def test_the_guess_behind_a_fallback_is_the_best_real_intent():
    ranking = [("nlu_fallback", 0.25), ("refund_status", 0.2), ("track_parcel", 0.18),
               ("wrong_item", 0.1), ("greet", 0.05)]
    assert guess("nlu_fallback", ranking) == (
        "refund_status", 0.2, (("refund_status", 0.2), ("track_parcel", 0.18), ("wrong_item", 0.1)))
    assert guess("nlu_fallback", [("nlu_fallback", 0.25)]) == ("out_of_scope", 0.0, ())
    assert guess("out_of_scope", [("out_of_scope", 0.9)]) == ("out_of_scope", 0.9, (("out_of_scope", 0.9),))


def test_the_model_s_best_intents_are_offered_first():
    intents = ["greet", "track_parcel", "refund_status", "wrong_item", "out_of_scope"]
    item = QueueItem(1, "x", "refund_status", 0.2, "fallback", (("refund_status", 0.2), ("wrong_item", 0.1)))
    assert intent_choices(item, intents) == ["refund_status", "wrong_item", "greet", "track_parcel", "out_of_scope"]
    # a draft's intent with the agent's named one first; an unknown name is not offered
    item = QueueItem(2, "x", "greet", None, "feedback", (("no_such_intent", 1.0), ("out_of_scope", 1.0)))
    assert intent_choices(item, intents)[:2] == ["out_of_scope", "greet"]


def test_the_open_items_are_grouped_by_predicted_intent_least_confident_first(store):
    queue = ReviewQueue(store)
    for message, predicted, confidence in (("a1", "wrong_item", 0.2), ("b1", "refund_status", 0.22),
                                        ("b2", "refund_status", 0.1), ("b3", "refund_status", None)):
        queue.add(message, predicted, confidence, "fallback", NOW)
    grouped = queue.grouped()
    assert list(grouped) == ["refund_status", "wrong_item"]  # the larger group first
    assert [i.text for i in grouped["refund_status"]] == ["b3", "b2", "b1"]
    with pytest.raises(ValueError):
        queue.add("c", "greet", 0.1, "somewhere", NOW)


def tracker_store(path):
    """An SQL tracker store with Rasa 3.6's events table and a conversation's events."""
    engine = create_engine(f"sqlite:///{path}", future=True)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, "
                       "timestamp REAL, intent_name TEXT, action_name TEXT, data TEXT)"))
    return engine


def user_event(engine, sender, message, intent, ranking):
    data = {"event": "user", "text": message,
            "parse_data": {"intent": {"name": intent, "confidence": ranking[0][1]},
                           "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking]}}
    with engine.begin() as c:
        c.execute(text("INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
                       "VALUES (:s, 'user', 0, :i, :d)"), {"s": sender, "i": intent, "d": json.dumps(data)})


def test_live_traffic_joins_the_queue_once_from_the_tracker_store(store, tmp_path):
    engine = tracker_store(tmp_path / "tracker.db")
    index = TrackerIndex(engine)
    queue = ReviewQueue(store)
    assert queue.take_traffic(index.unsure_messages, NOW) == 0  # no events yet
    user_event(engine, "c1", "就是那个事情", "nlu_fallback",
               [("nlu_fallback", 0.25), ("refund_status", 0.21), ("track_parcel", 0.2)])
    user_event(engine, "c1", "/refund_status", "refund_status", [("refund_status", 1.0)])  # the button
    user_event(engine, "c2", "你们老板是谁", "out_of_scope", [("out_of_scope", 0.93), ("greet", 0.02)])
    user_event(engine, "c3", "快递到哪了", "track_parcel", [("track_parcel", 0.98)])
    user_event(engine, "c4", "就是那个事情", "nlu_fallback", [("nlu_fallback", 0.25), ("greet", 0.2)])
    assert queue.take_traffic(index.unsure_messages, NOW) == 2
    assert [(i.text, i.predicted, i.confidence, i.source, i.candidates) for i in queue.items()] == [
        ("就是那个事情", "refund_status", 0.21, "fallback", (("refund_status", 0.21), ("track_parcel", 0.2))),
        ("你们老板是谁", "out_of_scope", 0.93, "out_of_scope", (("out_of_scope", 0.93), ("greet", 0.02)))]
    # read once: later events only
    assert queue.take_traffic(index.unsure_messages, NOW + timedelta(minutes=1)) == 0
    user_event(engine, "c5", "东西和钱", "nlu_fallback", [("nlu_fallback", 0.25), ("wrong_item", 0.2)])
    assert queue.take_traffic(lambda after: index.unsure_messages(after, limit=1), NOW) == 1
    assert len(queue.items()) == 3
    engine.dispose()


def test_a_tracker_store_made_afresh_is_read_from_its_start(store, tmp_path):
    queue = ReviewQueue(store)
    old = tracker_store(tmp_path / "old.db")
    for n in range(3):
        user_event(old, "c1", f"那个事情{n}", "nlu_fallback", [("nlu_fallback", 0.25), ("greet", 0.2)])
    assert queue.take_traffic(TrackerIndex(old).unsure_messages, NOW, TrackerIndex(old).latest_id) == 3
    new = TrackerIndex(tracker_store(tmp_path / "new.db"))  # its ids start at 1 again
    user_event(new.engine, "c2", "那个事情0", "nlu_fallback", [("nlu_fallback", 0.25), ("greet", 0.2)])
    user_event(new.engine, "c2", "东西和钱", "nlu_fallback", [("nlu_fallback", 0.25), ("greet", 0.2)])
    assert queue.take_traffic(new.unsure_messages, NOW) == 0  # without latest_id it cannot tell
    assert queue.take_traffic(new.unsure_messages, NOW, new.latest_id) == 1
    assert [i.text for i in queue.items()] == ["那个事情0", "那个事情1", "那个事情2", "东西和钱"]
    old.dispose()
    new.engine.dispose()


def test_unreadable_events_are_passed_over(store):
    messages = {0: [UnsureMessage(7, "", "nlu_fallback", []), UnsureMessage(9, "/greet", "nlu_fallback", [])]}
    queue = ReviewQueue(store)
    assert queue.take_traffic(lambda after: messages.get(after, []), NOW) == 0
    assert queue._cursor("traffic") == 9


def test_the_patch_and_the_apply_are_the_command_line_s(store, tmp_path):
    root = project_copy(tmp_path)
    nlu = root / "data" / "nlu.yml"
    queue = ReviewQueue(store)
    keep = queue.add("杯子到手就裂了", "wrong_item", 0.22, "fallback", NOW)
    drop = queue.add("哈哈哈哈", "greet", 0.1, "fallback", NOW)
    assert keep and drop
    queue.assign(keep.id, "quality_issue", domain_intents(root))
    queue.assign(drop.id, DROP, domain_intents(root))
    assert "- intent: quality_issue" in patch(queue) and "杯子到手就裂了" in patch(queue)
    assert "哈哈哈哈" not in patch(queue)
    assert apply_reviewed(queue, nlu, NOW) == 1
    assert ("quality_issue", "杯子到手就裂了") in [(e.intent, e.text) for e in from_rasa_yaml([nlu], root)]
    assert patch(queue).strip().endswith("nlu: []")


def test_items_queued_before_the_masking_are_masked_and_merged(store, capsys):
    """python -m evaluation review mask: what an older queue kept is masked as new items are."""
    from bot.shop.review import _key
    from bot.shop.schema import ReviewItem

    old = {"收件人是王小明，还没到": None, "收件人是李娜，还没到": "track_parcel",
           "寄到上海市浦东新区张江路100号": None, "发票开了吗": None}
    with store.transaction() as s:  # as the queue kept them before: names and addresses in
        for text, label in old.items():
            s.add(ReviewItem(key=_key(text), text=text, predicted="track_parcel", confidence=0.2,
                             candidates="[]", source="log", created_at=NOW, label=label))
    # 王小明 and 李娜 become the same words: one item, with the label one of them had
    assert main(["mask", "--db", str(store.engine.url)]) == 0
    assert "2 queued messages masked, 1 merged" in capsys.readouterr().out
    queue = ReviewQueue(store)
    items = {i.text: i.label for i in queue.items()}
    assert items == {"收件人是张伟，还没到": "track_parcel", "寄到朝阳区建国路88号": None, "发票开了吗": None}
    assert queue.remask() == (0, 0)
