"""The character n-gram intent classifier: trained, stored in the model, loaded, mixed with DIET."""

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.char_ngram_classifier import CharNgramClassifier, boosted, class_weights, mix

EXAMPLES = {
    "track_parcel": ["快递到哪了", "物流怎么不动了", "包裹什么时候到", "查一下物流"],
    "quality_issue": ["插上电没反应", "耳机左边没声音", "杯子到手就裂了", "屏幕有亮点"],
    "refund_status": ["退款什么时候到账", "售后单审核了吗", "退款进度怎么样", "钱还没退回来"],
}


def trained(tmp_path, **config):
    tmp_path.mkdir(parents=True, exist_ok=True)
    storage = LocalModelStorage(tmp_path)
    resource = Resource("char_ngram")
    context = ExecutionContext(graph_schema=None, model_id="test")  # type: ignore[arg-type]
    config = {**CharNgramClassifier.get_default_config(), **config}
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, ts in EXAMPLES.items() for t in ts])
    CharNgramClassifier.create(config, storage, resource, context).train(data)
    # what the Rasa server does: load the trained component from the model
    return CharNgramClassifier.load(config, storage, resource, context)


def parse(classifier, text, previous=None):
    message = Message(data={"text": text})
    if previous:
        message.set("intent_ranking", previous)
    classifier.process([message])
    return message


@pytest.mark.parametrize("text, intent", [
    ("吹风机插上电没反应", "quality_issue"),
    ("我的快递到哪里了", "track_parcel"),
    ("售后单的退款什么时候到", "refund_status"),
])
def test_a_loaded_model_ranks_unseen_phrasings(tmp_path, text, intent):
    message = parse(trained(tmp_path), text)
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == intent == ranking[0]["name"]
    assert abs(sum(r["confidence"] for r in ranking) - 1) < 1e-6
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


def test_the_previous_classifiers_ranking_is_mixed_in_with_its_weight(tmp_path):
    alone = parse(trained(tmp_path / "a"), "退款")
    diet = [{"name": "track_parcel", "confidence": 1.0}]
    mixed = parse(trained(tmp_path / "b", previous_weight=0.5), "退款", diet)
    own = {r["name"]: r["confidence"] for r in alone.get("intent_ranking")}
    got = {r["name"]: r["confidence"] for r in mixed.get("intent_ranking")}
    assert got["track_parcel"] == pytest.approx(0.5 * own["track_parcel"] + 0.5)
    assert got["refund_status"] == pytest.approx(0.5 * own["refund_status"])


def test_mix_counts_intents_the_previous_ranking_left_out_as_zero():
    assert mix({"a": 0.6, "b": 0.4}, [{"name": "b", "confidence": 1.0}], 0.25) == pytest.approx(
        {"a": 0.45, "b": 0.55})


def test_balanced_class_weights_keep_the_largest_intent_from_taking_the_unsure(tmp_path):
    """out_of_scope has the most examples; with balanced weights a message like none of
    the examples is not pushed into it by its size alone."""
    many = {"out_of_scope": ["讲个笑话", "今天天气怎么样", "你几岁了", "推荐个面霜", "有优惠券吗",
                             "能开发票吗", "你是机器人吗", "积分怎么用", "什么时候补货", "你吃饭了吗"]}

    def out_of_scope(**config):
        classifier = trained(tmp_path / str(len(config)), **config)
        data = TrainingData([Message(data={"text": t, "intent": i})
                             for i, ts in {**EXAMPLES, **many}.items() for t in ts])
        classifier.train(data)
        ranking = parse(classifier, "那个东西怎么弄").get("intent_ranking")
        return next(r["confidence"] for r in ranking if r["name"] == "out_of_scope")

    assert out_of_scope(class_weight="balanced") < out_of_scope()


def test_balanced_in_scope_weights_balance_the_in_scope_intents_and_keep_out_of_scope_as_it_is():
    labels = ["out_of_scope"] * 6 + ["track_parcel"] * 3 + ["refund_status"]
    weights = class_weights(labels, "balanced_in_scope")
    assert weights["out_of_scope"] == 1.0
    # each in-scope intent weighs as much in all as the other: 3 * w == 1 * w'
    assert 3 * weights["track_parcel"] == pytest.approx(weights["refund_status"])
    assert 3 * weights["track_parcel"] + weights["refund_status"] == pytest.approx(4)
    balanced = class_weights(labels, "balanced")
    assert 6 * balanced["out_of_scope"] == pytest.approx(balanced["refund_status"])
    assert class_weights(labels, None) is None
    with pytest.raises(ValueError):
        class_weights(labels, "heavy")


def test_word_ngrams_read_the_tokens_the_tokenizer_made(tmp_path):
    """With word_ngrams the component learns from the jieba tokens of the pipeline, not
    only from the characters: trained through Rasa's JiebaTokenizer, as in config.yml."""
    from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer

    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=None, model_id="test")  # type: ignore[arg-type]
    tokenizer = JiebaTokenizer.create(JiebaTokenizer.get_default_config(), storage, Resource("jieba"), context)
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, ts in EXAMPLES.items() for t in ts])
    tokenizer.process_training_data(data)
    config = {**CharNgramClassifier.get_default_config(), "word_ngrams": 2}
    resource = Resource("char_ngram_words")
    CharNgramClassifier.create(config, storage, resource, context).train(data)
    classifier = CharNgramClassifier.load(config, storage, resource, context)
    assert classifier.model.words is not None and "物流" in classifier.model.words.vocabulary_
    message = Message(data={"text": "帮我查一下物流"})
    tokenizer.process([message])
    classifier.process([message])
    assert message.get("intent")["name"] == "track_parcel"


def test_a_model_of_an_older_version_is_not_used_but_named(tmp_path, caplog):
    import pickle

    storage = LocalModelStorage(tmp_path)
    resource = Resource("old")
    with storage.write_to(resource) as directory:
        (directory / "char_ngram_lr.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    context = ExecutionContext(graph_schema=None, model_id="test")  # type: ignore[arg-type]
    classifier = CharNgramClassifier.load(CharNgramClassifier.get_default_config(), storage, resource, context)
    assert classifier.model is None and "retrain" in caplog.text
    message = parse(classifier, "快递到哪了", [{"name": "track_parcel", "confidence": 0.9}])
    assert message.get("intent_ranking") == [{"name": "track_parcel", "confidence": 0.9}]


def test_the_out_of_scope_boost_shifts_its_prior_and_keeps_a_distribution():
    p = {"out_of_scope": 0.2, "track_parcel": 0.5, "refund_status": 0.3}
    got = boosted(p, 2.5)
    assert sum(got.values()) == pytest.approx(1)
    assert got["out_of_scope"] == pytest.approx(0.5 / 1.3)
    assert got["track_parcel"] / got["refund_status"] == pytest.approx(0.5 / 0.3)  # the others keep their order
    assert boosted(p, 1) == p and boosted({"greet": 1.0}, 3) == {"greet": 1.0}


def test_the_component_applies_the_out_of_scope_boost_after_mixing(tmp_path):
    many = {**EXAMPLES, "out_of_scope": ["讲个笑话", "今天天气怎么样", "你几岁了", "推荐个面霜"]}
    diet = [{"name": "track_parcel", "confidence": 0.5}, {"name": "out_of_scope", "confidence": 0.5}]

    def confidence(**config):
        classifier = trained(tmp_path / str(sorted(config.items())), previous_weight=0.4, **config)
        classifier.train(TrainingData([Message(data={"text": t, "intent": i}) for i, ts in many.items() for t in ts]))
        ranking = parse(classifier, "那个东西怎么弄", diet).get("intent_ranking")
        return {r["name"]: r["confidence"] for r in ranking}

    plain, boosted_3 = confidence(), confidence(out_of_scope_boost=3.0)
    assert boosted_3["out_of_scope"] == pytest.approx(
        3 * plain["out_of_scope"] / (1 + 2 * plain["out_of_scope"]))
