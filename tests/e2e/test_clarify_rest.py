"""Asking when unsure, end to end over REST: the real Rasa server, action server and model."""

from __future__ import annotations

import pytest

from tests.e2e.test_e2e_rest import Customer

pytestmark = pytest.mark.e2e

UNSURE = "东西的问题"  # the model is unsure: quality_issue among its best guesses, none above 0.25


def test_an_unsure_message_gets_topics_as_buttons_and_a_pick_goes_on_as_that_intent(rasa_url):
    customer = Customer(rasa_url)
    [question] = customer.messages(UNSURE)
    assert question["text"] == "您是想问："
    buttons = question["buttons"]
    assert {"title": "商品有质量问题", "payload": "/quality_issue"} in buttons
    assert buttons[-1] == {"title": "都不是，转人工", "payload": "/request_human"}
    assert 2 <= len(buttons) <= 4
    # the choice is taken as the intent: the quality-issue scenario asks for the order
    assert "订单号" in customer.says("/quality_issue")


def test_two_misses_in_a_row_hand_over_to_an_agent(rasa_url):
    customer = Customer(rasa_url)
    assert customer.says(UNSURE) == "您是想问："
    assert "人工客服" in customer.says(UNSURE)
