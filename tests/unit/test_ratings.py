"""Reading a satisfaction rating (bot.playbook.ratings), in either script."""

import pytest

from bot.playbook.ratings import parse_rating, simplified


@pytest.mark.parametrize(
    "text, rating",
    [
        ("5", 5), ("给4分吧", 4), ("３分", 3), ("五星", 5), ("两颗星", 2),
        ("非常满意", 5), ("不满意", 2), ("还行", 3), ("不错", 4),
        ("嗯嗯", None), ("10分", None), ("", None),
    ],
)
def test_a_rating_in_simplified_script(text, rating):
    assert parse_rating(text) == rating


@pytest.mark.parametrize(
    "text, rating",
    [
        ("非常滿意", 5), ("很不滿意", 1), ("還行", 3), ("不錯", 4),
        ("兩顆星", 2),  # 兩 and 顆: OpenCC knows more than the three characters once mapped by hand
        ("很差勁", 1),
    ],
)
def test_a_rating_in_traditional_script(text, rating):
    assert parse_rating(text) == rating


def test_a_lone_surrogate_is_no_reason_to_fail():
    assert simplified("\ud800滿意") == " 满意"
    assert parse_rating("\ud800滿意") == 4
