import pytest

from bot.access.ids import find_order_id, find_tracking_number
from components.normalise import normalise, normalise_with_offsets


@pytest.mark.parametrize(
    "text, expected",
    [
        ("我的快遞到哪了", "我的快递到哪了"),
        ("顯示簽收了但我沒收到", "显示签收了但我没收到"),
        ("到哪了？？？？", "到哪了?"),
        ("发错货了。。。。", "发错货了。"),
        ("太慢了！！！😡😡", "太慢了!"),
        ("  在吗\n\n 在吗  ", "在吗 在吗"),
        ("ＳＦ１４０２９３８４７５６１０", "SF1402938475610"),
        ("👍", ""),
        ("", ""),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "訂單３０２７４６１９５８３０２７４６５１８怎麼還沒到！！",
        "單號SF1402938475610～～～",
        "電話13812345678，訂單3027461958302746518😭",
    ],
)
def test_numbers_survive(text):
    out = normalise(text)
    assert find_order_id(out) == find_order_id(text) or find_order_id(out) == "3027461958302746518"
    assert find_tracking_number(out) == find_tracking_number(text)
    assert ("13812345678" in out) == ("13812345678" in text)


def test_offsets_follow_the_text():
    text = "  訂單 3027461958302746518！！！😭 到哪了"
    new, positions = normalise_with_offsets(text)
    start = text.index("3027")
    end = start + 19
    positions.append(len(new))
    assert new[positions[start]:positions[end]] == "3027461958302746518"


def test_the_rasa_component_moves_entity_spans():
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from components.normaliser import ChineseNormaliser

    text = "你好！！！訂單3027461958302746518到哪了"
    start = text.index("3027")
    message = Message(data={"text": text, "intent": "track_parcel", "entities": [
        {"entity": "order_id", "value": "3027461958302746518", "start": start, "end": start + 19}
    ]})
    ChineseNormaliser().process_training_data(TrainingData([message]))
    entity = message.get("entities")[0]
    assert message.get("text") == "你好!订单3027461958302746518到哪了"
    assert message.get("text")[entity["start"]:entity["end"]] == "3027461958302746518"


LONG = "订单3027461958302746518到哪了" + "啊" * 5000


@pytest.mark.parametrize(
    "text, expected",
    [
        (LONG, LONG[:1000]),  # read no further than max_chars
        (None, ""),  # a channel that sent no text
        (12345, "12345"),
        ("\ud800\x00\x1b在吗\u200b", "在吗"),  # a lone surrogate and control characters
    ],
    ids=["long", "none", "number", "control"],
)
def test_the_rasa_component_reads_a_bounded_clean_text(text, expected):
    from rasa.shared.nlu.training_data.message import Message

    from components.normaliser import ChineseNormaliser

    message = Message(data={"text": text})
    ChineseNormaliser().process([message])
    assert message.get("text") == expected
