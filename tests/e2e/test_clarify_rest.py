"""Asking when unsure, end to end over REST: the real Rasa server, action server and model."""

from __future__ import annotations

from typing import Dict, List

import pytest
import requests

from bot.playbook.clarify import TOPICS
from tests.e2e.test_e2e_rest import Customer
from tests.helpers.servers import TOKEN

pytestmark = pytest.mark.e2e

# vague messages; the test uses the first the trained model is unsure of
VAGUE = ["东西的问题", "那个单子的事", "钱和快递的事情", "东西和钱", "就是那个事情", "货的事", "这个单子呢",
         "东西呢", "那个问题", "单子的问题", "东西快递", "东西包裹", "东西货快递"]


def unsure_message(rasa_url: str) -> str:
    for text in VAGUE:
        parsed = requests.post(f"{rasa_url}/model/parse?token={TOKEN}", json={"text": text}, timeout=30).json()
        ranking: List[Dict] = parsed.get("intent_ranking") or []
        if parsed["intent"]["name"] == "nlu_fallback" and any(r["name"] in TOPICS for r in ranking[:4]):
            return text
    raise AssertionError(f"the model is sure of every one of {VAGUE}: add vaguer ones")


def test_an_unsure_message_gets_topics_as_numbered_options_and_a_pick_goes_on_as_that_intent(rasa_url):
    """Over REST the question's buttons come as numbered lines (channels/buttons.py); the
    customer answers with a number, which is taken as that topic's intent."""
    customer = Customer(rasa_url)
    question = customer.says(unsure_message(rasa_url))
    lines = question.splitlines()
    assert lines[0] == "您是想问：" and "都不是，转人工" in question
    options = [line for line in lines if line[:1].isdigit()]
    assert 2 <= len(options) <= 4 and options[-1].endswith("都不是，转人工")
    # the choice is taken as the intent: the reply is the one the topic's command gets
    picked = customer.says("1")
    assert "您是想问" not in picked and picked.strip()


def test_two_misses_in_a_row_hand_over_to_an_agent(rasa_url):
    customer = Customer(rasa_url)
    unsure = unsure_message(rasa_url)
    assert customer.says(unsure).startswith("您是想问：")
    assert "人工客服" in customer.says(unsure)
