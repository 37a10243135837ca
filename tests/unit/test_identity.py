from datetime import timedelta

import pytest

from actions.logistics import ActionTrackParcel
from bot.access.identity import order_pass, sign, verify
from tests.helpers.shop import NOW, SECRET, responses


def test_a_signed_token_names_its_buyer():
    assert verify(sign("chen_hao", SECRET, NOW), SECRET, NOW) == "chen_hao"


@pytest.mark.parametrize(
    "token",
    [
        sign("chen_hao", "another-secret", NOW),  # signed by someone else
        sign("chen_hao", SECRET, NOW - timedelta(days=1)),  # expired
        sign("chen_hao", SECRET, NOW).replace("chen_hao", "lin_xiaoyu"),  # tampered
        "chen_hao", "", None, 42, "a.b.c", "chen_hao.99999999999.",
    ],
)
def test_anything_else_names_nobody(token):
    assert verify(token, SECRET, NOW) is None


def test_no_secret_verifies_nothing():
    assert verify(sign("chen_hao", SECRET, NOW), "", NOW) is None


async def test_a_sender_id_alone_is_not_trusted(deps, dispatcher, make_tracker):
    # claiming to be lin_xiaoyu in the sender id reveals nothing of her orders
    tracker = make_tracker(slots={"order_id": "3027461958302746518"}, sender_id="chen_hao")
    assert deps.account_of(tracker) is None
    signed = make_tracker(slots={"order_id": "3027461958302746518"}, buyer="chen_hao")
    assert deps.account_of(signed) == "chen_hao"
    await ActionTrackParcel(deps).run(dispatcher, signed, {})
    assert responses(dispatcher) == ["utter_ask_order_id"]  # not chen_hao's order
    assert "tracking_number" not in dispatcher.messages[0]


async def test_an_order_checked_for_a_buyer_is_not_shown_to_anyone_else(deps, dispatcher, make_tracker):
    # chen_hao's order was picked for him; then a message without his token
    # arrives on the same conversation id
    tracker = make_tracker(
        slots={
            "order_id": "1829374650192837465",
            "order_checked_for": order_pass(SECRET, "chen_hao", "1829374650192837465", "chen_hao"),
        },
        sender_id="chen_hao",
    )
    events = await ActionTrackParcel(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_ask_order_id"]
    assert {"event": "slot", "timestamp": None, "name": "order_id", "value": None} in events
