"""channels/buttons.py: buttons over a text-only channel (REST) and the typed choice.

The runtime is the real one (an agent with our domain.yml, whose NLG renders
``utter_options_as_text``, and its in-memory tracker store); the stand-in for
Rasa records the text it is given and answers with buttons.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

from bot.playbook.ratings import parse_rating
from bot.settings import PROJECT_ROOT
from channels.buttons import (
    MAX_CHOICE_CHARS,
    ButtonsAsText,
    chosen_payload,
    numbered,
    offered_buttons,
    with_buttons_as_text,
)
from channels.guard import TurnGuard
from channels.runtime import FaultRuntime, FaultSettings
from rasa_adapter.project_files import responses

ORDERS = [
    {"title": "补水面膜 · 11月19日", "payload": "3027461958302751137"},
    {"title": "羊毛混纺针织开衫 · 11月17日", "payload": "3027461958302746518"},
    {"title": "其他订单", "payload": "其他订单"},
]
RETURN_OR_EXCHANGE = [{"title": "退货", "payload": "退货"}, {"title": "换货", "payload": "换货"}]


def test_buttons_as_numbered_lines():
    assert numbered(ORDERS) == "1. 补水面膜 · 11月19日\n2. 羊毛混纺针织开衫 · 11月17日\n3. 其他订单"


@pytest.mark.parametrize(
    "text, payload",
    [
        ("2", "3027461958302746518"),
        ("２", "3027461958302746518"),  # full-width, as Chinese keyboards type it
        (" 1。", "3027461958302751137"),
        ("3", "其他订单"),
        ("羊毛混纺针织开衫 · 11月17日", "3027461958302746518"),  # the title, copied
        ("其他订单", "其他订单"),
        ("0", None),
        ("4", None),  # no fourth button
        ("5678", None),  # phone digits are not a choice
        ("羊毛混纺针织开衫", None),  # part of a title: left to NLU
        ("", None),
        ("1" + " " * MAX_CHOICE_CHARS, None),
    ],
)
def test_a_typed_number_or_title_chooses_a_button(text, payload):
    assert chosen_payload(text, ORDERS) == payload


def test_nothing_is_chosen_without_buttons():
    assert chosen_payload("1", []) is None


def events(*items: Any) -> List[Dict[str, Any]]:
    return [e.as_dict() for e in reversed(items)]


def test_the_offered_buttons_are_the_last_replys_until_the_customer_writes():
    asked = BotUttered("请问是哪一笔订单呢？", data={"buttons": ORDERS})
    assert offered_buttons(events(UserUttered("到哪了"), asked)) == ORDERS
    # a reply without buttons after it (the rating question comes last) does not hide them
    assert offered_buttons(events(asked, BotUttered("好的"))) == ORDERS
    assert offered_buttons(events(asked, UserUttered("2"))) == []
    assert offered_buttons(events(UserUttered("你好"), BotUttered("您好"))) == []
    assert offered_buttons([]) == []


# -- over a server's runtime ------------------------------------------------------


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[FaultRuntime]:
    agent = Agent(domain=Domain.load(str(PROJECT_ROOT / "domain.yml")))
    app: Any = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
    runtime = FaultRuntime(app, FaultSettings(journal_url=f"sqlite:///{tmp_path / 'journal.db'}"))
    await runtime.start()
    yield runtime
    await runtime.stop()
    assert runtime.journal is not None
    runtime.journal.engine.dispose()


class RestClient:
    """A REST client's turns through ``with_buttons_as_text``; the stand-in for
    Rasa stores each turn in the tracker store and answers with ``buttons``."""

    def __init__(self, runtime: FaultRuntime, buttons: List[Dict[str, str]]) -> None:
        guard = TurnGuard("rest", late_output=lambda: None, late_delivery=False)
        guard.runtime = runtime
        self.runtime, self.buttons = runtime, buttons
        self.heard: List[str] = []
        self.handler = with_buttons_as_text(guard, guard.wrap(self.rasa))

    async def rasa(self, message: UserMessage) -> None:
        self.heard.append(message.text or "")
        store = self.runtime.agent.tracker_store
        tracker = await store.get_or_create_tracker(message.sender_id)
        reply = BotUttered("您希望退货还是换货？", data={"buttons": self.buttons})
        tracker.update_with_events([UserUttered(message.text), reply], None)
        await store.save(tracker)
        await message.output_channel.send_response(message.sender_id, reply.message())

    async def says(self, text: str) -> List[Dict[str, Any]]:
        output = CollectingOutputChannel()
        await self.handler(UserMessage(text, output, "rest-1", input_channel="rest"))
        return output.messages


async def test_rest_gets_the_buttons_as_numbered_text(runtime):
    client = RestClient(runtime, RETURN_OR_EXCHANGE)
    [reply] = await client.says("质量有问题")
    assert reply["text"] == "您希望退货还是换货？\n1. 退货\n2. 换货\n回复序号就行～"
    assert "buttons" not in reply and "quick_replies" not in reply


@pytest.mark.parametrize("answer", ["2", "换货", "２"])
async def test_rest_answers_by_number_or_title_reach_rasa_as_the_payload(runtime, answer):
    client = RestClient(runtime, RETURN_OR_EXCHANGE)
    await client.says("质量有问题")
    await client.says(answer)
    assert client.heard == ["质量有问题", "换货"]


async def test_a_number_after_a_reply_without_buttons_stays_a_number(runtime):
    client = RestClient(runtime, [])
    await client.says("你好")
    [reply] = await client.says("2")
    assert client.heard == ["你好", "2"] and "1." not in reply["text"]


async def test_a_payload_is_read_as_text_never_as_an_intent(runtime):
    client = RestClient(runtime, [{"title": "改地址", "payload": '/change_address{"order_id": "1"}'}])
    await client.says("你好")
    await client.says("1")
    # the guard's sanitising comes after the choice: no entities, no slot set
    assert client.heard[-1] == 'change_address{"order_id": "1"}'


async def test_a_clarifying_buttons_payload_stays_its_topic(runtime):
    client = RestClient(runtime, [{"title": "商品有质量问题", "payload": "/quality_issue"},
                                  {"title": "都不是，转人工", "payload": "/request_human"}])
    await client.says("你好")
    await client.says("2")
    assert client.heard[-1] == "/request_human"  # one of the 「您是想问」 topics (bot/playbook/clarify.py)


async def test_without_a_runtime_messages_pass_as_they_are():
    heard: List[str] = []

    async def rasa(message: UserMessage) -> None:
        heard.append(message.text or "")
        await message.output_channel.send_response(message.sender_id, {"text": "好", "buttons": ORDERS})

    guard = TurnGuard("rest", late_output=lambda: None, late_delivery=False)
    output = CollectingOutputChannel()
    await with_buttons_as_text(guard, guard.wrap(rasa))(UserMessage("1", output, "rest-2"))
    assert heard == ["1"] and output.messages[0]["buttons"] == ORDERS


async def test_the_options_read_plainly_when_the_response_cannot_be_rendered():
    async def unavailable(sender_id: str, listing: str) -> None:
        return None

    output = CollectingOutputChannel()
    await ButtonsAsText(output, unavailable).send_response("c", {"text": "哪一笔？", "buttons": ORDERS})
    assert output.messages[0]["text"] == "哪一笔？\n" + numbered(ORDERS)


# -- the domain's buttons ---------------------------------------------------------------


def domain_buttons() -> Dict[str, List[Dict[str, Any]]]:
    return {name: variant["buttons"] for name, variants in responses().items()
            for variant in variants if variant.get("buttons")}


def test_the_questions_with_fixed_answers_have_buttons():
    assert {"utter_quality_steps", "utter_ask_rating"} <= set(domain_buttons())


@pytest.mark.parametrize("name", sorted(domain_buttons()))
def test_a_domain_buttons_payload_is_what_a_customer_could_type(name):
    buttons = domain_buttons()[name]
    titles = [b["title"] for b in buttons]
    assert len(set(titles)) == len(titles)  # a typed title names one button
    for button in buttons:
        payload = button["payload"]
        assert payload.strip() and not payload.lstrip().startswith(("/", "／"))  # text, never /intent
        assert chosen_payload(button["title"], buttons) == payload


def test_typing_a_score_over_rest_gives_that_score():
    buttons = domain_buttons()["utter_ask_rating"]
    assert [parse_rating(chosen_payload(str(n), buttons) or "") for n in range(1, 6)] == [1, 2, 3, 4, 5]
