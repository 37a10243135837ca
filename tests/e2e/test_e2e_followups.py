"""End to end over REST: answers to the bot's questions go to the open case, and a
change of the case made with `python -m bot cases` is said into the conversation.

Each test chats as a copy of a sample buyer (tests.helpers.servers.own_copy): the session's
other tests (test_e2e_rest.py ...) open cases on the sample orders themselves."""

from __future__ import annotations

import re

import pytest
import requests

from bot.cli import main as bot_cli
from bot.shop.casefacts import FactKind, facts_of, notices_of
from bot.shop.cases import CaseLog
from bot.shop.store import OrderStore
from tests.e2e.test_e2e_rest import Customer
from tests.helpers.servers import TOKEN, own_copy

pytestmark = pytest.mark.e2e


def open_cases(db: str, sender: str):
    return [c for c in CaseLog(OrderStore.from_url(db)).open_cases() if c.conversation_id == sender]


def bot_texts(rasa_url: str, sender: str):
    tracker = requests.get(f"{rasa_url}/conversations/{sender}/tracker?token={TOKEN}", timeout=10).json()
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "bot"]


def test_the_return_waybill_is_recorded_and_the_arrival_is_told(rasa_url, shop, monkeypatch, capsys):
    names = own_copy(shop, 801, "wang_fang")
    order = names["2938475610293840001"]  # the cardigan, signed
    customer = Customer(rasa_url, sender=names["wang_fang"])
    assert "退货还是换货" in customer.says(f"订单{order}的开衫有质量问题，开线了")
    reply = customer.says("退货单号是 SF1234567890")
    assert "SF1234567890" in reply and "记在售后上" in reply and "没有查到" not in reply
    [case] = [c for c in open_cases(shop.db, customer.sender) if c.intent == "quality_issue"]
    store = OrderStore.from_url(shop.db)
    assert [f.value for f in facts_of(store, case.id, FactKind.RETURN_WAYBILL)] == ["SF1234567890"]
    [promise] = CaseLog(store).promises(case.id)
    assert promise.due_at is None  # the clock waits for the parcel
    # the parcel arrives: the handling clock starts; a REST customer cannot be pushed to, so
    # the notice waits and is said ahead of the answer to their next message, once
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    assert bot_cli(["--db", shop.db, "cases", "return-arrived", str(case.id), "--rasa", rasa_url]) == 0
    assert f"conversation {customer.sender} is told when they write again" in capsys.readouterr().out
    [notice] = notices_of(store, case.id)
    assert not notice.delivered and not [t for t in bot_texts(rasa_url, customer.sender) if "已经到仓" in t]
    first, *answer = [m.get("text", "") for m in customer.messages("好的，谢谢")]
    assert "已经到仓" in first and answer  # the notice, then the answer to the message
    assert order in first and re.search(r"\d+月\d+日\S+前处理完", first)
    assert "已经到仓" not in customer.says("好的")  # once
    told = [t for t in bot_texts(rasa_url, customer.sender) if "已经到仓" in t]
    assert len(told) == 1
    [notice] = notices_of(store, case.id)
    assert notice.delivered and notice.change.value == "return_arrived"
    assert bot_cli(["--db", shop.db, "cases", "notify", "--rasa", rasa_url]) == 0  # nothing left to tell
    assert len(notices_of(store, case.id)) == 1 and notices_of(store, case.id)[0].delivered


def test_asked_around_and_still_not_found_keeps_the_promised_time(rasa_url, shop):
    customer = Customer(rasa_url, sender=own_copy(shop, 802, "chen_hao")["chen_hao"])
    first = customer.says("显示签收了但是我没收到")
    deadline = re.search(r"我们会在 (\d+月\d+日\S+前)给您答复", first)
    assert deadline, first
    reply = customer.says("问过了还是没有")
    assert "联系快递" in reply and deadline.group(1) in reply
    [case] = [c for c in open_cases(shop.db, customer.sender) if c.intent == "signed_not_received"]
    assert "联系快递" in case.next_step
    notes = OrderStore.from_url(shop.db).get_order(case.order_id).notes
    assert any(n.kind == "courier_contact" for n in notes)


def test_a_photo_said_in_text_gets_the_way_to_send_it(rasa_url):
    assert "📷 发照片" in Customer(rasa_url).says("照片发你了")


def test_a_widget_customer_is_told_at_once_and_only_once(rasa_url, shop, monkeypatch, capsys):
    """A socket.io conversation is pushed to: the notice arrives in the widget when the
    case changes, is recorded as told, and is not said again on the next message."""
    import queue
    import time

    from bot.access.identity import sign
    from bot.settings import utcnow
    from tests.e2e.test_bad_input import Widget
    from tests.helpers.servers import BUYER_SECRET

    def drain(widget, seconds):
        texts, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                texts.append(widget.replies.get(timeout=0.2).get("text", ""))
            except queue.Empty:
                pass
        return texts

    names = own_copy(shop, 803, "wang_fang")
    widget = Widget(rasa_url)
    try:
        token = sign(names["wang_fang"], BUYER_SECRET, utcnow())
        widget.send({"message": f"订单{names['2938475610293840001']}的开衫有质量问题，开线了",
                     "session_id": widget.session_id,
                     "customData": {"buyer_token": token}})
        assert any("质量" in t or "问题" in t for t in drain(widget, 8))
        [case] = [c for c in open_cases(shop.db, widget.session_id) if c.intent == "quality_issue"]
        monkeypatch.setenv("RASA_TOKEN", TOKEN)
        assert bot_cli(["--db", shop.db, "cases", "resolve", str(case.id), "--rasa", rasa_url]) == 0
        assert f"told the customer in conversation {widget.session_id}" in capsys.readouterr().out
        assert sum("已经处理好了" in t for t in drain(widget, 4)) == 1
        [notice] = notices_of(OrderStore.from_url(shop.db), case.id)
        assert notice.delivered
        widget.send({"message": "好的", "session_id": widget.session_id, "customData": {"buyer_token": token}})
        later = drain(widget, 4)
        assert later and not any("已经处理好了" in t for t in later)
    finally:
        widget.close()
