"""The spaCy entity ruler component: patterns from lookup tables, kept in the model."""

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.importers.rasa import RasaFileImporter
from rasa.shared.nlu.training_data.message import Message

from bot.settings import PROJECT_ROOT
from components.shop_entities import ShopEntityRuler


@pytest.fixture(scope="module")
def ruler(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("shop_entities")
    context = ExecutionContext(graph_schema=None, model_id="test")  # type: ignore[arg-type]
    config = ShopEntityRuler.get_default_config()
    data = RasaFileImporter(
        training_data_paths=[str(PROJECT_ROOT / "data" / "entities.yml")]
    ).get_nlu_data()
    ShopEntityRuler.create(config, storage, resource, context).train(data)
    # what the Rasa server does: load the trained component from the model
    return ShopEntityRuler.load(config, storage, resource, context)


def found(ruler, text):
    message = Message(data={"text": text})
    ruler.process([message])
    return [(e["entity"], e["value"]) for e in message.get("entities")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的顺丰快递到哪了", [("courier", "顺丰快递")]),
        ("颜色发错了", [("aspect", "颜色")]),
        ("想把藏青色换成燕麦色M码", [("colour", "藏青色"), ("colour", "燕麦色"), ("size", "M")]),
        ("电热水壶三天了还没到", [("product", "电热水壶"), ("time_expr", "三天了")]),
        ("前天就显示签收了", [("time_expr", "前天")]),
        ("在吗", []),
    ],
)
def test_named_things_are_found(ruler, text, expected):
    assert found(ruler, text) == expected


def test_offsets_point_at_the_text(ruler):
    message = Message(data={"text": "中通的包裹三天了"})
    ruler.process([message])
    for entity in message.get("entities"):
        assert message.get("text")[entity["start"]:entity["end"]] == entity["value"]


def test_patterns_come_from_the_trainers_yaml():
    text = Path(PROJECT_ROOT / "data" / "entities.yml").read_text(encoding="utf-8")
    assert "- lookup: courier" in text and "- lookup: colour" in text
