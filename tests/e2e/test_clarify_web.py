"""Asking when unsure in the shop page's widget (rasa-webchat in Chromium): the topics are
buttons, and clicking one goes on as that intent."""

from __future__ import annotations

import pytest

from bot.playbook.clarify import TOPICS
from rasa_adapter.project_files import response_text
from tests.e2e.test_clarify_rest import unsure_message
from tests.e2e.test_e2e_rest import Customer
from tests.helpers.browser import REPORTS

pytestmark = pytest.mark.e2e


def test_the_widget_shows_the_topics_as_buttons_and_a_click_is_taken_as_the_intent(web_url, rasa_url, browser):
    unsure = unsure_message(rasa_url)

    page = browser.new_page()
    page.goto(web_url + "/")
    page.click(".rw-launcher")
    page.wait_for_selector(".rw-new-message")
    page.fill(".rw-new-message", unsure)
    page.press(".rw-new-message", "Enter")
    page.wait_for_selector("text=您是想问：", timeout=30000)
    replies = page.locator(".rw-reply")
    replies.first.wait_for(timeout=10000)
    titles = replies.all_inner_texts()
    by_title = {response_text(response): intent for intent, response in TOPICS.items()}
    assert titles[0] in by_title and titles[-1] == "都不是，转人工"
    # the reply a customer gets whose message is that topic (a fresh conversation)
    expected = Customer(rasa_url).says("/" + by_title[titles[0]]).splitlines()[0]
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "widget_clarify.png"), full_page=True)
    replies.first.click()
    page.wait_for_selector(f"text={expected[:12]}", timeout=30000)
    page.close()
