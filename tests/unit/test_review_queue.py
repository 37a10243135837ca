"""The trainers' review queue: unsure messages in, a trainer's intent, back into data/nlu.yml."""

import shutil

import pytest

from bot.settings import PROJECT_ROOT
from evaluation.data import from_rasa_yaml
from evaluation.review import ReviewQueue, add_examples, domain_intents, fill, main


class Unsure:
    """A model's answers as RasaModel.answers gives them: unsure of messages with 那个."""

    def answers(self, texts):
        predictions = ["nlu_fallback" if "那个" in t else "track_parcel" for t in texts]
        return predictions, [[("refund_status", 0.21), ("track_parcel", 0.2)] for _ in texts]


def test_a_message_the_model_falls_back_on_round_trips_into_the_training_data(tmp_path):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "data" / "nlu.yml", root / "data" / "nlu.yml")
    shutil.copy(PROJECT_ROOT / "domain.yml", root / "domain.yml")
    nlu, queue_file = root / "data" / "nlu.yml", tmp_path / "queue.yml"
    before = from_rasa_yaml([nlu], root)

    queue = ReviewQueue(queue_file)
    assert fill(queue, Unsure(), ["那个售后单子咋还没动静", "快递到哪了", "那个售后单子咋还没动静"]) == 1
    queue.save()
    [item] = ReviewQueue(queue_file).grouped()["refund_status"]
    assert (item.text, item.confidence, item.source) == ("那个售后单子咋还没动静", 0.21, "fallback")

    assert main(["assign", str(item.id), "refund_status", "--queue", str(queue_file), "--nlu", str(nlu)]) == 0
    assert main(["patch", "--queue", str(queue_file), "--out", str(tmp_path / "patch.yml")]) == 0
    assert "- intent: refund_status" in (tmp_path / "patch.yml").read_text(encoding="utf-8")
    assert main(["apply", "--queue", str(queue_file), "--nlu", str(nlu)]) == 0

    after = from_rasa_yaml([nlu], root)
    added = [e for e in after if e.text == "那个售后单子咋还没动静"]
    assert [e.intent for e in added] == ["refund_status"]
    assert len(after) == len(before) + 1
    # inside the intent's block, not at the end of the file
    refund_lines = [int(e.where.rsplit(":", 1)[1]) for e in after if e.intent == "refund_status"]
    assert int(added[0].where.rsplit(":", 1)[1]) == max(refund_lines) < len(nlu.read_text().splitlines())
    # applied: a second apply adds nothing, and the queue has nothing open
    assert main(["apply", "--queue", str(queue_file), "--nlu", str(nlu)]) == 0
    assert len(from_rasa_yaml([nlu], root)) == len(after)
    assert ReviewQueue(queue_file).open_items() == []


def test_an_intent_the_domain_does_not_know_is_refused(tmp_path):
    queue = ReviewQueue(tmp_path / "q.yml")
    item = queue.add("那个呢", "greet", 0.1, "fallback")
    assert item is not None
    with pytest.raises(ValueError):
        queue.assign(item.id, "refund_stauts", domain_intents())
    assert queue.assign(item.id, "-", domain_intents()).label == "-"
    assert queue.reviewed() == []


def test_a_new_intent_gets_its_own_block(tmp_path):
    nlu = tmp_path / "nlu.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n', encoding="utf-8")
    queue = ReviewQueue(tmp_path / "q.yml")
    for text, predicted, label in (("发票怎么开", "out_of_scope", "invoice_request"), ("在吗", "greet", "greet")):
        item = queue.add(text, predicted, 0.2, "feedback")
        assert item is not None
        item.label = label
    assert add_examples(nlu, queue.reviewed()) == 2
    assert [(e.intent, e.text) for e in from_rasa_yaml([nlu], tmp_path)] == [
        ("greet", "你好"), ("greet", "在吗"), ("invoice_request", "发票怎么开")]


def test_drafts_an_agent_rejected_or_rewrote_join_the_queue(store, tmp_path):
    from bot.shop.feedback import FeedbackLog
    from evaluation.review import from_feedback
    from tests.helpers.shop import NOW

    log = FeedbackLog(store)
    log.record(message="快递到哪了", intent="track_parcel", verdict="used", now=NOW)
    log.record(message="东西用着不对劲", intent="product_no_effect", verdict="rejected", now=NOW)
    log.record(message="发票开了吗", intent="out_of_scope", verdict="edited", now=NOW, final_text="已开")
    queue = ReviewQueue(tmp_path / "q.yml")
    assert from_feedback(queue, log) == 2
    assert from_feedback(queue, log) == 0  # a message joins once
    assert [(i.text, i.predicted, i.source) for i in queue.open_items()] == [
        ("东西用着不对劲", "product_no_effect", "feedback"), ("发票开了吗", "out_of_scope", "feedback")]
