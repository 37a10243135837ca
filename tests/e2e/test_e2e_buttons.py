"""Buttons against the real servers: tapped in rasa-webchat (Chromium), typed over REST.

A logged-in buyer with several recent orders picks one by tapping its goods and
date; yes/no and rating questions come with buttons; over REST the same buttons
are numbered lines, answered by number or title. The widget shows a reply's
numbered steps on their own lines (a screenshot is left in reports/).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_e2e_rest import Customer
from tests.helpers.browser import REPORTS, open_widget, send

pytestmark = pytest.mark.e2e

# lin_xiaoyu's recent orders in the sample shop: 面膜 (not shipped), 开衫 (中通, in
# transit), 左旋 capsules (signed)
LIN_CARDIGAN, LIN_CARDIGAN_PARCEL = "3027461958302746518", "773029384756102"
LIN_CAPSULES = "3027461958302749902"
WANG_PARCEL = "SF1402938475999"

# the rendered text of the widget's last bot bubble
LAST_BUBBLE = ".rw-response >> nth=-1"


def bot_bubbles(page):
    return page.locator(".rw-response")


def test_a_buyer_taps_an_order_and_then_a_rating(web_url, browser):
    page = open_widget(browser, web_url, "lin_xiaoyu", "林小雨")
    send(page, "我的快递到哪了")
    cardigan = page.locator(".rw-reply", has_text="羊毛混纺针织开衫")
    cardigan.wait_for(timeout=30000)
    titles = page.locator(".rw-reply").all_inner_texts()
    assert len(titles) == 4 and titles[-1] == "其他订单"  # her three orders, then 其他订单
    assert not any(re.search(r"\d{16,19}", t) for t in titles)  # no number to copy
    assert re.fullmatch(r"羊毛混纺针织开衫 · \d{1,2}月\d{1,2}日", cardigan.inner_text())
    REPORTS.mkdir(exist_ok=True)
    page.locator(".rw-widget-container").screenshot(path=str(REPORTS / "widget_order_buttons.png"))

    cardigan.click()
    page.wait_for_selector(f"text={LIN_CARDIGAN_PARCEL}", timeout=30000)
    # the tap shows as her message, by its title; the conversation goes on with that order
    assert "羊毛混纺针织开衫" in page.locator(".rw-client").last.inner_text()
    assert LIN_CARDIGAN in page.inner_text(".rw-messages-container")

    # the case is resolved: the rating question, with buttons
    five = page.locator(".rw-reply", has_text="5分")
    five.wait_for(timeout=30000)
    assert page.locator(".rw-reply").count() == 5
    five.click()
    page.wait_for_selector("text=收到您的 5 分评价", timeout=30000)
    page.close()


def test_a_yes_no_button_and_numbered_steps_on_their_own_lines(web_url, browser):
    page = open_widget(browser, web_url, "lin_xiaoyu", "林小雨")
    send(page, "我买的左旋肉碱胶囊有质量问题")
    exchange = page.locator(".rw-reply", has_text="换货")
    exchange.wait_for(timeout=30000)
    steps = page.locator(".rw-response", has_text="退货还是换货").last
    assert LIN_CAPSULES in page.inner_text(".rw-messages-container")
    REPORTS.mkdir(exist_ok=True)  # the screenshot first: it shows what a failure below is about
    steps.scroll_into_view_if_needed()
    page.locator(".rw-widget-container").screenshot(path=str(REPORTS / "widget_numbered_steps.png"))
    # innerText follows the layout: each step starts a line of its own
    lines = [line.strip() for line in steps.inner_text().splitlines() if line.strip()]
    numbered = [line for line in lines if re.match(r"\d\. ", line)]
    # the quality steps: four since a bubble holds at most 150 characters
    assert [line[:2] for line in numbered] == [f"{n}." for n in range(1, len(numbered) + 1)], lines
    assert len(numbered) >= 4, lines
    tops = steps.evaluate(STEP_TOPS)
    assert len(tops) == len(numbered) and all(a < b for a, b in zip(tops, tops[1:])), tops

    before = bot_bubbles(page).count()
    exchange.click()
    assert page.locator(".rw-client").last.inner_text().strip() == "换货"
    bot_bubbles(page).nth(before).wait_for(timeout=30000)  # the conversation goes on
    assert page.locator(".rw-reply", has_text="退货").count() == 0  # answered: the buttons go
    page.close()


# where each "N. " step starts on the page, top to bottom (pixels from the top)
STEP_TOPS = """(bubble) => {
  const walker = document.createTreeWalker(bubble, NodeFilter.SHOW_TEXT);
  const tops = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/(^|\\n)([1-9])\\. /g)) {
      const range = document.createRange();
      const at = m.index + m[1].length;
      range.setStart(node, at);
      range.setEnd(node, at + 1);
      tops.push(range.getBoundingClientRect().top);
    }
  }
  return tops;
}"""


# -- over REST ------------------------------------------------------------------------


def test_rest_numbers_the_orders_and_takes_a_number_or_a_title(rasa_url):
    lin = Customer(rasa_url, "lin_xiaoyu")
    asked = lin.messages("我的快递到哪了")
    assert not any("buttons" in m for m in asked)
    listing = "\n".join(m["text"] for m in asked)
    lines = re.findall(r"^(\d)\. (.+)$", listing, re.M)
    assert [n for n, _ in lines] == ["1", "2", "3", "4"] and lines[-1][1] == "其他订单"
    assert "回复序号" in listing
    cardigan = next(n for n, title in lines if title.startswith("羊毛混纺针织开衫"))
    assert LIN_CARDIGAN_PARCEL in lin.says(cardigan)

    again = Customer(rasa_url, "lin_xiaoyu")
    listing = again.says("我的快递到哪了")
    title = next(t for _, t in re.findall(r"^(\d)\. (.+)$", listing, re.M) if t.startswith("羊毛混纺针织开衫"))
    assert LIN_CARDIGAN_PARCEL in again.says(title)


def test_rest_other_order_asks_for_the_number_to_type(rasa_url):
    lin = Customer(rasa_url, "lin_xiaoyu")
    listing = lin.says("我的快递到哪了")
    other = re.search(r"^(\d)\. 其他订单$", listing, re.M).group(1)
    answer = lin.says(other)
    assert "订单号" in answer and not re.search(r"^\d\. ", answer, re.M)
    assert LIN_CARDIGAN_PARCEL in lin.says(LIN_CARDIGAN)  # typing the number still works


def test_a_forged_payload_names_nothing_of_another_buyers_order(rasa_url):
    wang = Customer(rasa_url, "wang_fang")
    listing = wang.says("我的快递到哪了")
    assert re.search(r"^1\. ", listing, re.M)
    answer = wang.says(LIN_CARDIGAN)  # lin_xiaoyu's order, as if a button of hers were tapped
    assert "没有查到" in answer
    # nothing of lin's order (her 燕麦色 cardigan, 中通); wang's own orders are offered again
    assert [w for w in (LIN_CARDIGAN_PARCEL, "燕麦色", "中通") if w in answer] == []
    assert WANG_PARCEL in wang.says("1")  # her own newest order is still hers to pick
