"""End to end over the REST channel: the real Rasa server, action server and database.

The servers (tests/servers.py) run on free ports against a fresh sample
database; these tests talk to them as a customer would.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Dict, List

import pytest
import requests

from bot.access.identity import sign
from bot.cli import main as bot_cli
from bot.shop.cases import CaseLog
from bot.shop.store import OrderStore
from tests.helpers.servers import BUYER_SECRET, TOKEN

pytestmark = pytest.mark.e2e

class Customer:
    """A customer chatting over REST; a logged-in buyer sends a signed token.

    A buyer's conversation starts afresh.
    """

    def __init__(self, url: str, sender: str | None = None) -> None:
        self.url = f"{url}/webhooks/rest/webhook"
        self.sender = sender or f"visitor-{uuid.uuid4().hex[:8]}"
        self.metadata = (
            {"buyer_token": sign(sender, BUYER_SECRET, datetime.now(timezone.utc).replace(tzinfo=None))}
            if sender else {}
        )
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


def test_track_parcel_asks_for_the_number_then_answers_with_the_facts(rasa_url):
    customer = Customer(rasa_url)
    assert "订单号" in customer.says("我的快递到哪了")
    reply = customer.proves("3027461958302746518", "5678")
    assert "773029384756102" in reply
    assert "中通快递" in reply
    assert "上海浦东张江网点" in reply  # the latest tracking event


def test_a_second_question_about_the_same_order_needs_no_number(rasa_url):
    customer = Customer(rasa_url)
    customer.proves("帮我查一下订单3027461958302746518的物流", "尾号5678")
    reply = customer.says("显示签收了但我没收到")
    assert "还没有签收" in reply and "773029384756102" in reply


def test_signed_not_received_names_who_signed(rasa_url):
    reply = Customer(rasa_url).proves("订单2938475610293840001显示签收了，可是我没收到", "1111")
    assert "小区门卫" in reply
    assert "申通快递" in reply
    assert "前一定给您答复" in reply


def test_wrong_item_by_tracking_number(rasa_url):
    customer = Customer(rasa_url)
    assert "订单号" in customer.says("你们发错货了")
    reply = customer.proves("快递单号是YT7391028374651", "13812345678")
    assert "左旋肉碱胶囊（60粒）×2" in reply
    assert "面单" in reply and "文一西路1888号" in reply


def test_quality_issue_for_a_buyer_with_one_recent_order(rasa_url):
    reply = Customer(rasa_url, sender="chen_hao").says("收到的东西坏了，有破损")
    assert "您最近一笔订单是 1829374650192837465" in reply
    assert "照片" in reply and "来回运费" in reply


def test_refund_after_shipping_while_out_for_delivery(rasa_url):
    reply = Customer(rasa_url).proves("订单2938475610293847561已经发货了我不想要了，能退款吗", "1111")
    assert "拒签" in reply and "SF1402938475999" in reply


def test_a_malformed_then_unknown_number_gets_another_chance(rasa_url):
    customer = Customer(rasa_url)
    customer.says("我的快递到哪了")
    assert "只有8位" in customer.says("12345678")
    # anonymous: nothing is said about a number, not even whether it exists,
    # before the phone check
    assert "对不上" in customer.proves("1111222233334444555", "5678")
    assert "773029384756102" in customer.proves("3027461958302746518", "5678")


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
    cases = [c for c in CaseLog(OrderStore.from_url(shop["db"])).open_cases() if c.conversation_id == customer.sender]
    assert [(c.intent, c.rating) for c in cases] == [("track_parcel", 5)]


def test_the_case_log_records_a_scenario_once_for_the_next_shift(rasa_url, shop, capsys):
    customer = Customer(rasa_url)
    customer.proves("你们发错货了，订单2938475610293840001", "1111")
    customer.says("你们发错货了，订单2938475610293840001")  # said twice
    cases = [c for c in CaseLog(OrderStore.from_url(shop["db"])).open_cases() if c.conversation_id == customer.sender]
    assert len(cases) == 1 and cases[0].intent == "wrong_item"
    assert bot_cli(["--db", shop["db"], "cases"]) == 0
    listing = capsys.readouterr().out
    assert f"#{cases[0].id}" in listing and "疑似发错货" in listing and "面单照片" in listing


def test_price_drop_is_registered_for_a_supervisor(rasa_url, shop):
    customer = Customer(rasa_url, sender="liu_yang")
    reply = customer.says("电热水壶刚买就降价了，订单7700112233445566778能退差价吗")
    assert "¥40.00" in reply and "主管审批" in reply
    assert "等主管审批" in customer.says("退款什么时候到账")


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


def test_switching_scenario_while_asked_for_the_number(rasa_url):
    customer = Customer(rasa_url)
    assert "订单号" in customer.says("我的快递到哪了")
    reply = customer.says("算了，其实是收到的东西发错了")
    assert "好的" in reply and "订单号" in reply
    assert "面单" in customer.proves("2938475610293840001", "1111")


def test_a_buyer_with_several_orders_picks_one_from_the_list(rasa_url):
    customer = Customer(rasa_url, sender="lin_xiaoyu")
    reply = customer.says("我的快递到哪了")
    assert "3027461958302746518" in reply and "3027461958302749902" in reply
    assert "773029384756102" in customer.says("3027461958302746518")


def test_an_exchange_to_a_variant_in_stock(rasa_url):
    customer = Customer(rasa_url, sender="wang_fang")
    reply = customer.says("订单2938475610293840001的开衫想换成燕麦色")
    assert "燕麦色 L" in reply and "有货" in reply


def test_a_greeting_with_a_request_is_taken_by_its_request(rasa_url):
    reply = Customer(rasa_url).says("你好，在吗？我的快遞到哪了！！")
    assert "订单号" in reply and "售后助手" not in reply


def test_a_named_courier_picks_the_buyers_parcel(rasa_url):
    reply = Customer(rasa_url, sender="lin_xiaoyu").says("我那个中通的快递到哪了")
    assert "应该是这笔订单：3027461958302746518" in reply and "773029384756102" in reply


def test_a_wrong_colour_is_named(rasa_url):
    reply = Customer(rasa_url, sender="wang_fang").says("订单2938475610293840001颜色发错了")
    assert "颜色发错了" in reply and "面单" in reply


def test_claiming_a_buyers_sender_id_without_a_token_reveals_nothing(rasa_url):
    customer = Customer(rasa_url)
    customer.sender = "chen_hao"  # the sender id alone, no signed token
    reply = customer.says("显示签收了但我没收到")
    assert "1829374650192837465" not in reply and "订单号" in reply


def test_an_order_number_alone_then_a_question(rasa_url):
    customer = Customer(rasa_url)
    assert "什么问题" in customer.says("2938475610293847561")
    assert "后四位" in customer.says("到哪了")
    assert "SF1402938475999" in customer.says("1111")


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
