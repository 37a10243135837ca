"""The trainers' review page in Chromium: a trainer opens it from the workbench, clicks the
right intent for a queued message and finds it in the patch; a customer's HTML is shown
as text. Screenshots: reports/review_page*.png."""

from __future__ import annotations

import pytest
import requests

from evaluation.data import from_rasa_yaml
from tests.e2e.test_workbench_web import open_workbench
from tests.helpers.browser import REPORTS
from tests.helpers.servers import AGENT_TOKEN

pytestmark = pytest.mark.e2e
DEV = {"Authorization": f"Bearer {AGENT_TOKEN}"}
INJECTION = "<img src=x onerror=\"document.body.dataset.pwned=1\">杯子<b>裂了</b>"
MESSAGE = "保温杯盖子拧不紧一直漏水"


def rejected(web_url, message, intent, chosen=None):
    """An agent rejected the draft for ``message``: it joins the queue."""
    body = {"message": message, "intent": intent, "verdict": "rejected"}
    if chosen:
        body["chosen_intent"] = chosen
    assert requests.post(f"{web_url}/agent/feedback", json=body, headers=DEV, timeout=10).status_code == 201


def open_review(browser, web_url):
    """The workbench, signed in as the development agent (a supervisor), then its link."""
    page = open_workbench(browser, web_url)
    page.click("header >> text=训练审核")
    page.wait_for_url("**/review")
    page.wait_for_selector("#me >> text=dev")  # the same login, carried over
    return page


def test_a_trainer_clicks_the_right_intent_and_finds_the_example_in_the_patch(web_url, browser, training_nlu):
    rejected(web_url, MESSAGE, "wrong_item", chosen="quality_issue")
    rejected(web_url, INJECTION, "out_of_scope")
    page = open_review(browser, web_url)
    item = page.locator(".item", has_text=MESSAGE)
    item.wait_for()
    assert "客服弃用/改写" in item.inner_text()
    group = page.locator(".group", has=item)
    assert group.get_attribute("data-intent") == "wrong_item"
    # the agent's intent first, the draft's next, with the topics' words
    assert item.locator(".choice").all_inner_texts()[:2] == [
        "quality_issue · 商品有质量问题（客服所选）", "wrong_item · 发错货了"]

    # a customer's HTML is text: no element made, no script run
    injected = page.locator(".item", has_text="杯子<b>裂了</b>")
    injected.wait_for()
    assert INJECTION in injected.locator(".text").inner_text()
    assert page.evaluate("document.body.dataset.pwned") is None
    assert page.locator(".item img, .item .text b").count() == 0
    # out_of_scope, the draft's intent, is its first button and not offered twice
    assert injected.locator(".choice").first.inner_text() == "out_of_scope · 超出范围"
    assert not injected.locator(".oos").is_visible() and item.locator(".oos").is_visible()
    REPORTS.mkdir(exist_ok=True)
    # the viewport only: after the session's other tests the queue can be taller than
    # Chromium captures in one screenshot
    page.screenshot(path=str(REPORTS / "review_page.png"), full_page=False)

    item.locator(".choice", has_text="quality_issue").click()
    page.wait_for_selector(f"#patch >> text={MESSAGE}")
    patch = page.inner_text("#patch")
    assert "- intent: quality_issue" in patch and MESSAGE in patch
    assert page.locator(".item", has_text=MESSAGE).count() == 0  # out of the open queue
    assert f"quality_issue：{MESSAGE}" in page.inner_text("#reviewed")
    page.screenshot(path=str(REPORTS / "review_page_patch.png"), full_page=False)

    # discarded: in neither the queue nor the patch
    page.locator(".item", has_text="杯子<b>裂了</b>").locator(".skip").click()
    page.wait_for_selector("#status >> text=已丢弃")
    assert "裂了" not in page.inner_text("#patch") and page.locator(".item", has_text="裂了").count() == 0

    page.click("#apply")
    page.wait_for_selector("#applied >> text=make validate")
    assert ("quality_issue", MESSAGE) in [(e.intent, e.text) for e in from_rasa_yaml([training_nlu], training_nlu.parent)]
    assert page.inner_text("#reviewed-count") == "0"
    page.screenshot(path=str(REPORTS / "review_page_applied.png"), full_page=False)
    page.close()


def test_an_agent_who_is_no_supervisor_is_told_so(web_url, browser, shop):
    import io

    from bot.cli import main as bot_cli

    out = io.StringIO()
    assert bot_cli(["--db", shop.db, "agents", "add", "xiaosun"], out=out) == 0
    page = browser.new_page()
    page.goto(web_url + "/review")
    page.fill("#token", out.getvalue().strip())
    page.dispatch_event("#token", "change")
    page.wait_for_selector("#status >> text=只有主管可以审核训练数据")
    assert page.locator(".item").count() == 0
    page.close()


def test_a_large_group_opens_a_page_at_a_time_and_a_search_finds_the_rest(web_url, browser, shop):
    from bot.settings import utcnow
    from bot.shop.review import ReviewQueue
    from bot.shop.store import OrderStore
    from web.review import PAGE

    store = OrderStore.from_url(shop.db)
    queue = ReviewQueue(store)
    for n in range(PAGE * 2 + 5):  # a group of its own: no other test's messages in it
        queue.add(f"分页测试：第{n}条消息", "goodbye", 0.1 + n / 1000, "log", utcnow())
    store.engine.dispose()
    page = open_review(browser, web_url)
    group = page.locator('.group[data-intent="goodbye"]')
    group.locator(".item").first.wait_for()
    assert group.locator("h3").inner_text() == f"模型猜测：goodbye（{PAGE * 2 + 5}）"
    assert group.locator(".item").count() == PAGE
    assert f"goodbye（{PAGE * 2 + 5}）" in page.inner_text("#group-counts")
    group.locator(".more-items").click()
    group.locator(".item").nth(PAGE * 2 - 1).wait_for()
    group.locator(".more-items").click()
    group.locator(".item").nth(PAGE * 2 + 4).wait_for()
    assert group.locator(".item").count() == PAGE * 2 + 5 and not group.locator(".more-items").is_visible()

    # a label takes the item out and the count down, the opened pages stay
    group.locator(".item", has_text="第44条").locator(".skip").click()
    page.wait_for_selector("#status >> text=已丢弃")
    assert group.locator("h3").inner_text() == f"模型猜测：goodbye（{PAGE * 2 + 4}）"
    assert group.locator(".item").count() == PAGE * 2 + 4

    page.fill("#search", "第3")
    page.dispatch_event("#search", "change")
    page.wait_for_selector('.group[data-intent="goodbye"] h3 >> text=goodbye（11）')
    assert group.locator(".item").count() == 11
    assert all("第3" in text for text in page.locator(".item .text").all_inner_texts())
    page.close()
