"""The web service against the real servers: the agent API, and both pages in Chromium."""

from __future__ import annotations

import re

import pytest
import requests
import yaml

from bot.cli import main as bot_cli
from tests.helpers.browser import REPORTS, open_widget, send
from tests.helpers.servers import AGENT_TOKEN

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {AGENT_TOKEN}"}


def suggest(web_url, body, headers=AUTH, **kwargs):
    return requests.post(f"{web_url}/agent/suggest", json=body, headers=headers, timeout=30, **kwargs)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": AGENT_TOKEN}])
def test_the_agent_api_needs_the_token(web_url, headers):
    assert suggest(web_url, {"message": "我的快递到哪了"}, headers=headers).status_code == 401
    assert requests.get(f"{web_url}/agent/orders", headers=headers, timeout=10).status_code == 401


@pytest.mark.parametrize(
    "body, status",
    [({}, 400), ({"message": "   "}, 400), ({"message": 42}, 400), ({"message": "x" * 2001}, 400),
     ({"message": "到哪了", "order_id": "1111222233334444555"}, 404),
     ({"message": "到哪了", "order_id": "3027461958302746518", "buyer": "chen_hao"}, 404)],
)
def test_bad_input_gets_a_clear_4xx(web_url, body, status):
    response = suggest(web_url, body)
    assert response.status_code == status and response.json()["error"]


def test_malformed_json_and_wrong_methods(web_url):
    raw = requests.post(f"{web_url}/agent/suggest", data="{not json", headers=AUTH, timeout=10)
    assert raw.status_code == 400
    assert requests.get(f"{web_url}/agent/suggest", headers=AUTH, timeout=10).status_code == 405


def test_suggestions_for_a_real_message_and_order(web_url):
    response = suggest(web_url, {"message": "显示签收了但我没收到", "order_id": "2938475610293840001"})
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    # the rival hypotheses are below the draft confidence floor: no misleading second draft
    from bot.assist import DRAFT_CONFIDENCE_FLOOR

    assert 1 <= len(suggestions) <= 3 and all(s["confidence"] >= DRAFT_CONFIDENCE_FLOOR for s in suggestions)
    first = suggestions[0]
    assert first["intent"] == "signed_not_received" and first["confidence"] > 0.5
    assert "小区门卫" in first["reply"] and "申通快递" in first["reply"]
    assert "联系快递核实签收人" in first["checklist"]
    assert first["verdicts"]["order_state"] == "signed"
    assert first["case_note"]["state"] == "waiting_shop"


def test_a_conversation_id_stands_for_its_order(web_url, rasa_url):
    from tests.e2e.test_e2e_rest import Customer

    customer = Customer(rasa_url)
    customer.says("订单2938475610293847561到哪了")  # the conversation is about this order
    response = suggest(web_url, {"message": "能不能拦截，我不想要了", "conversation_id": customer.sender})
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == "2938475610293847561"
    assert "SF1402938475999" in body["suggestions"][0]["reply"]


def test_feedback_is_stored_and_exported_for_training(web_url, shop, tmp_path):
    ok = requests.post(f"{web_url}/agent/feedback", headers=AUTH, timeout=10, json={
        "message": "驿站里找不到我的包裹", "intent": "signed_not_received", "verdict": "used"})
    assert ok.status_code == 201
    bad = requests.post(f"{web_url}/agent/feedback", headers=AUTH, timeout=10, json={
        "message": "x", "intent": "greet", "verdict": "maybe"})
    assert bad.status_code == 400
    out = tmp_path / "feedback.yml"
    assert bot_cli(["--db", shop.db, "export-feedback", "--out", str(out)]) == 0
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert {"intent": "signed_not_received", "examples": "- 驿站里找不到我的包裹\n"} in exported["nlu"]


# -- in a real browser ------------------------------------------------------------------


def test_the_shop_page_widget_answers_with_the_buyers_order(web_url, browser):
    page = open_widget(browser, web_url, "chen_hao", "陈浩")
    send(page, "我的快递到哪了")
    page.wait_for_selector("text=SF1402938475610", timeout=30000)
    messages = page.inner_text(".rw-messages-container")
    assert "1829374650192837465" in messages  # chen_hao's only recent order, picked
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "shop_widget.png"), full_page=True)

    page.reload()  # the conversation survives a reload
    page.wait_for_selector("text=SF1402938475610", timeout=30000)
    page.close()


def open_console(browser, web_url):
    """The agent console, signed in with the agent token."""
    page = browser.new_page()
    page.goto(web_url + "/agent")
    page.fill("#token", AGENT_TOKEN)
    page.dispatch_event("#token", "change")
    return page


def test_a_message_cannot_inject_script_into_the_console(web_url, browser):
    page = open_console(browser, web_url)
    page.fill("#message", "<img src=x onerror=\"document.body.dataset.pwned=1\">发错货了")
    page.click("#suggest")
    page.wait_for_selector(".card", timeout=30000)
    assert page.evaluate("document.body.dataset.pwned") is None
    page.close()


def test_the_agent_console_end_to_end(web_url, browser):
    page = open_console(browser, web_url)
    page.reload()  # the orders load with the token
    page.wait_for_selector("#order option[value='2938475610293840001']", state="attached")
    page.select_option("#examples", "显示签收了但我没收到")
    page.select_option("#order", "2938475610293840001")
    page.click("#suggest")
    page.wait_for_selector(".card", timeout=30000)
    first = page.locator(".card").first
    assert first.get_attribute("data-intent") == "signed_not_received"
    reply = first.locator(".reply")
    assert "小区门卫" in reply.input_value()
    reply.fill(reply.input_value() + "（已为您加急）")  # the agent edits the draft
    first.locator(".used").click()
    first.locator(".done").filter(has_text=re.compile("已记录")).wait_for()
    assert "edited" in first.locator(".done").inner_text()
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "agent_console.png"), full_page=True)
    page.close()
