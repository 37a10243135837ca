"""End to end over the REST channel: the real Rasa server, action server and database.

The servers (tests/helpers/servers.py) run on free ports against a fresh sample
database; these tests talk to them as a customer would. The scripted conversations
of tests/conversations.yml (shared with the bench and the scale test) run first,
one test each; then the conversations that check more than the replies.
"""

from __future__ import annotations

import uuid
from typing import Dict, List, Optional, Tuple

import pytest
import requests
from sqlalchemy import text

from bot.access.identity import sign
from bot.cli import main as bot_cli
from bot.settings import utcnow
from bot.shop.cases import CaseLog
from bot.shop.store import OrderStore
from devtools import conversations
from tests.helpers.servers import BUYER_SECRET, TOKEN

pytestmark = pytest.mark.e2e


class Customer:
    """A customer chatting over REST; a logged-in buyer sends a signed token.

    A buyer's conversation starts afresh.
    """

    def __init__(self, url: str, sender: Optional[str] = None) -> None:
        self.url = f"{url}/webhooks/rest/webhook"
        self.sender = sender or f"visitor-{uuid.uuid4().hex[:8]}"
        self.metadata = {"buyer_token": sign(sender, BUYER_SECRET, utcnow())} if sender else {}
        if sender:
            requests.post(
                f"{url}/conversations/{sender}/tracker/events?token={TOKEN}",
                json={"event": "restart"}, timeout=10,
            ).raise_for_status()

    def proves(self, text: str, tail: str) -> str:
        """Name an order anonymously, then give its phone's last four digits."""
        assert "后四位" in self.says(text)
        return self.says(tail)

    def says(self, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.messages(text))

    def messages(self, text: str) -> List[Dict[str, str]]:
        response = requests.post(
            self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


# -- the scripted conversations (tests/conversations.yml) -------------------------------


def case_log(database_url: str, sender: str) -> List[Tuple[str, str, Optional[int]]]:
    """(intent, order, rating) of every case of one conversation, open or closed."""
    store = OrderStore.from_url(database_url)
    try:
        with store.engine.connect() as db:
            rows = db.execute(text("SELECT intent, order_id, rating FROM cases WHERE conversation_id = :c"),
                              {"c": sender}).all()
    finally:
        store.engine.dispose()
    return sorted((intent, order, rating) for intent, order, rating in rows)


@pytest.mark.parametrize("conversation", conversations.load(), ids=lambda c: c.name)
def test_a_scripted_conversation(rasa_url, shop, conversation: conversations.Conversation):
    sender = f"{conversation.buyer or 'visitor'}-{uuid.uuid4().hex[:8]}"
    metadata = {"buyer_token": sign(conversation.buyer, BUYER_SECRET, utcnow())} if conversation.buyer else {}
    for number, turn in enumerate(conversation.turns, start=1):
        response = requests.post(f"{rasa_url}/webhooks/rest/webhook", timeout=30,
                                 json={"sender": sender, "message": turn.say, "metadata": metadata})
        response.raise_for_status()
        reply = "\n".join(m.get("text", "") for m in response.json())
        assert reply.strip(), f"turn {number} {turn.say!r}: no reply"
        missing = turn.missing(reply)
        assert not missing, f"turn {number} {turn.say!r}: the reply lacks {missing}:\n{reply}"
    if conversation.cases is not None:
        expected = sorted((c.intent, c.order, c.rating) for c in conversation.cases)
        assert case_log(shop.db, sender) == expected


# -- what a customer may not see --------------------------------------------------------


def test_a_known_buyer_cannot_read_another_buyers_order(rasa_url):
    reply = Customer(rasa_url, sender="chen_hao").says("订单3027461958302746518到哪了")
    assert "773029384756102" not in reply and "中通" not in reply
    assert "没有查到" in reply


# -- the whole playbook --------------------------------------------------------------


def test_a_resolved_answer_asks_for_a_rating_and_stores_it(rasa_url, shop):
    customer = Customer(rasa_url)
    reply = customer.proves("订单3027461958302746518到哪了", "5678")
    assert "773029384756102" in reply and "1 到 5 分" in reply
    assert "5 分评价" in customer.says("5分")
    cases = [c for c in CaseLog(OrderStore.from_url(shop.db)).open_cases() if c.conversation_id == customer.sender]
    assert [(c.intent, c.rating) for c in cases] == [("track_parcel", 5)]


def test_a_rating_is_asked_at_most_once_per_conversation(rasa_url):
    """W20: the second resolved answer of a conversation asks for no second rating."""
    customer = Customer(rasa_url)
    assert "1 到 5 分" in customer.proves("订单3027461958302746518到哪了", "5678")
    again = customer.says("订单3027461958302746518到哪了")
    assert "773029384756102" in again and "1 到 5 分" not in again


def test_the_case_log_records_a_scenario_once_for_the_next_shift(rasa_url, shop, capsys):
    customer = Customer(rasa_url)
    customer.proves("你们发错货了，订单2938475610293840001", "1111")
    customer.says("你们发错货了，订单2938475610293840001")  # said twice
    cases = [c for c in CaseLog(OrderStore.from_url(shop.db)).open_cases() if c.conversation_id == customer.sender]
    assert len(cases) == 1 and cases[0].intent == "wrong_item"
    assert bot_cli(["--db", shop.db, "cases"]) == 0
    listing = capsys.readouterr().out
    assert f"#{cases[0].id}" in listing and "疑似发错货" in listing and "面单照片" in listing


def test_asking_twice_keeps_the_first_deadline_and_the_promise_is_on_the_order(rasa_url, shop, capsys):
    """W14, W15: the promised answer time is a note on the order, and it does not move."""
    import re

    first = Customer(rasa_url).proves("订单7700112233445566778显示签收了但我没收到", "2222")
    again = Customer(rasa_url).proves("订单7700112233445566778显示签收了但我没收到", "2222")
    deadline = re.compile(r"我们会在 (\d+月\d+日\S+前)给您答复")
    assert deadline.search(first) and deadline.search(first).group(1) == deadline.search(again).group(1)
    (note,) = OrderStore.from_url(shop.db).get_order("7700112233445566778").notes
    assert note.kind == "courier_answer" and note.due_at is not None
    assert bot_cli(["--db", shop.db, "orders"]) == 0
    assert f"{note.text} (期限" in capsys.readouterr().out


def test_a_human_takes_over_and_gives_the_conversation_back(rasa_url, monkeypatch):
    customer = Customer(rasa_url)
    assert "转接人工客服" in customer.says("转人工")
    assert customer.messages("在吗？") == []  # paused: the assistant stays silent
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    assert bot_cli(["release", customer.sender, "--rasa", rasa_url]) == 0
    assert "售后助手" in customer.says("你好")


def test_not_this_order_asks_for_the_other_one(rasa_url):
    customer = Customer(rasa_url, sender="chen_hao")
    assert "1829374650192837465" in customer.says("显示签收了但是我没收到")
    messages = customer.messages("不是这个订单")
    assert len(messages) == 2 and "抱歉弄错了" in messages[0]["text"]
    assert "订单号" in messages[1]["text"] and "没有在您的消息里" not in messages[1]["text"]
    reply = customer.says("1829374650190011223")
    assert "韵达快递" in reply and "432019283746510" in reply


def test_a_greeting_with_a_request_is_taken_by_its_request(rasa_url):
    reply = Customer(rasa_url).says("你好，在吗？我的快遞到哪了！！")
    assert "订单号" in reply and "售后助手" not in reply


def test_claiming_a_buyers_sender_id_without_a_token_reveals_nothing(rasa_url):
    customer = Customer(rasa_url)
    customer.sender = "chen_hao"  # the sender id alone, no signed token
    reply = customer.says("显示签收了但我没收到")
    assert "1829374650192837465" not in reply and "订单号" in reply


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/conversations/c1/tracker"),
        ("POST", "/conversations/c1/tracker/events"),
        ("POST", "/model/parse"),
        ("PUT", "/model"),
        ("GET", "/status"),
        ("GET", "/domain"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_the_rasa_http_api_needs_its_token(rasa_url, method, path, token):
    params = {"token": token} if token else {}
    response = requests.request(method, f"{rasa_url}{path}", params=params, json={}, timeout=10)
    assert response.status_code == 401


def test_an_address_change_is_logged_without_the_address_or_phone(rasa_url, rasa_logs):
    customer = Customer(rasa_url, sender="lin_xiaoyu")
    customer.says("订单3027461958302751137的地址能改吗")
    reply = customer.says("上海市徐汇区漕溪北路398号1号楼502 林小雨 13812345678")
    assert "漕溪北路398号" in reply  # the customer sees it; the logs do not
    logs = "".join(path.read_text(encoding="utf-8", errors="replace") for path in rasa_logs)
    assert "3027461958302751137: address change to 上海市[地址已隐藏]" in logs
    assert "漕溪北路" not in logs and "13812345678" not in logs
