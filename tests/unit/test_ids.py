from pathlib import Path

import pytest
import yaml

from bot.access import ids
from bot.playbook.ratings import RATING
from bot.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    "text, expected",
    [
        ("订单3027461958302746518到哪了", "3027461958302746518"),
        ("订单号：1829374650192837", "1829374650192837"),  # 16 digits
        ("３０２７４６１９５８３０２７４６５１８", "3027461958302746518"),  # full width
        ("订单302746195830274651到哪了", "302746195830274651"),  # 18 digits
        ("订单12345678901234567890", None),  # 20 digits is not an order number
        ("订单123456789012345", None),  # 15 digits neither
        ("SF3027461958302746518", None),  # part of a longer code
    ],
)
def test_find_order_id(text, expected):
    assert ids.find_order_id(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("顺丰单号sf1402938475610", "SF1402938475610"),
        ("YT7391028374651 到哪了", "YT7391028374651"),
        ("京东JDVA10293847561", "JDVA10293847561"),
        ("中通773029384756102", "773029384756102"),
        ("3027461958302746518", None),  # an order number, not a tracking number
        ("13812345678", None),  # a phone number
    ],
)
def test_find_tracking_number(text, expected):
    assert ids.find_tracking_number(text) == expected


@pytest.mark.parametrize(
    "text, kind",
    [
        ("12345678", "too_short"),
        ("订单是302746195830274", "too_short"),
        ("12345678901234567890", "too_long"),
        ("13812345678", "phone"),
        ("3027461958302746518", None),
        ("买了2件39元", None),  # short numbers are not attempted order numbers
        ("没有数字", None),
    ],
)
def test_order_number_problem(text, kind):
    problem = ids.order_number_problem(text)
    assert (problem.kind if problem else None) == kind


def test_nlu_regexes_match_the_code():
    """data/entities.yml and bot/access/ids.py must recognise the same numbers."""
    data = yaml.safe_load(Path(PROJECT_ROOT / "data/entities.yml").read_text())
    patterns = {
        block["regex"]: block["examples"].strip().lstrip("- ").strip()
        for block in data["nlu"]
        if block.get("regex") in {"order_id", "tracking_number", "phone", "rating"}
    }
    assert patterns == {
        "order_id": ids.ORDER_ID.pattern,
        "tracking_number": ids.TRACKING_NUMBER.pattern,
        "phone": ids.PHONE.pattern,
        "rating": RATING.pattern,
    }
