"""Pages escape what they show: hostile text in a message and in an order's fields, in Chromium.

A buyer whose name, address, product, courier and tracking event are HTML and
script is added to the session's shop through the store; the shop page's widget
and the agent console must show it all as text. The pages' CSP would block an
inline script anyway, so the tests also look for injected elements: those would
show that text was parsed as HTML.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.settings import utcnow
from bot.shop.schema import Buyer, Item, Order, Product, Shipment, TrackingEvent
from bot.shop.store import OrderState, OrderStore
from tests.e2e.test_e2e_web import open_console

pytestmark = pytest.mark.e2e

# no "_" or "*": the widget renders replies as Markdown (with HTML escaped), and those would format
PAYLOAD = '<img src=x class=injected onerror="window.pwned=1;alert(1)"><script>window.pwned=1</script>'
LINK = "[点此退款](javascript:window.pwned=1)"
ACCOUNT = "hostile_buyer"
ORDER_ID = "1999888877776666555"
TRACKING = "SF1999888877776"
INJECTED = "img.injected, img[src='x'], .rw-messages-container script, #suggestions script, #order script"


@pytest.fixture(scope="module")
def hostile_order(shop):
    return add_hostile_order(shop.db)


def add_hostile_order(database_url: str) -> str:
    """An order whose every shown field is HTML, of a buyer whose name is too."""
    store = OrderStore.from_url(database_url)
    now = utcnow()
    with store.session() as s, s.begin():
        if s.get(Order, ORDER_ID) is None:
            buyer = Buyer(account=ACCOUNT, name=f"{PAYLOAD}王", phone="13900001111",
                          address=f"上海市{PAYLOAD}路1号")
            product = Product(name=f"保温杯{PAYLOAD}", current_price=Decimal("59.00"))
            s.add(Order(
                id=ORDER_ID, buyer=buyer, status=OrderState.IN_TRANSIT.value,
                created_at=now - timedelta(days=1), paid_at=now - timedelta(days=1),
                shipping_fee=Decimal("0.00"), address=buyer.address,
                items=[Item(product=product, variant=PAYLOAD[:60], quantity=1, price_paid=Decimal("59.00"))],
                shipment=Shipment(
                    courier="顺丰速运", tracking_number=TRACKING, shipped_at=now - timedelta(hours=20),
                    eta=now + timedelta(days=1),
                    events=[TrackingEvent(time=now - timedelta(hours=2), place=f"杭州{PAYLOAD}"[:64],
                                          description=f"快件已到达{PAYLOAD}{LINK}")],
                ),
            ))
    store.engine.dispose()
    return ORDER_ID


def watch(page):
    """Collect dialogs (an alert would mean a script ran)."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return dialogs


def assert_nothing_ran(page, dialogs):
    assert dialogs == []
    assert page.evaluate("window.pwned") is None
    assert page.locator(INJECTED).count() == 0
    assert page.locator("a[href*='pwned']").count() == 0  # a Markdown link is not a script either


def test_the_widget_shows_hostile_order_fields_and_messages_as_text(web_url, browser, hostile_order):
    page = browser.new_page()
    dialogs = watch(page)
    page.goto(web_url + "/")
    page.wait_for_selector(f"#buyer option[value='{ACCOUNT}']", state="attached")
    assert "<script>" in page.locator(f"#buyer option[value='{ACCOUNT}']").text_content()
    page.select_option("#buyer", ACCOUNT)  # the demo login: reloads with this buyer's token
    page.wait_for_selector("#who:has-text('已登录')")
    page.click(".rw-launcher")
    page.wait_for_selector(".rw-new-message")
    page.fill(".rw-new-message", PAYLOAD)  # the customer's own message
    page.press(".rw-new-message", "Enter")
    page.wait_for_selector(".rw-response >> nth=1", timeout=30000)  # greeting, then its answer
    page.fill(".rw-new-message", "我的快递到哪了")
    page.press(".rw-new-message", "Enter")
    page.wait_for_selector(f"text={TRACKING}", timeout=30000)  # the order was picked and shown
    client = page.inner_text(".rw-from-client")
    assert PAYLOAD in client  # the message shown as text, not parsed
    answers = page.inner_text(".rw-messages-container")
    assert f"保温杯{PAYLOAD}" in answers and f"快件已到达{PAYLOAD}" in answers
    assert_nothing_ran(page, dialogs)
    page.close()


def test_the_console_shows_hostile_order_fields_and_messages_as_text(web_url, browser, hostile_order):
    page = open_console(browser, web_url)
    dialogs = watch(page)
    page.reload()  # the orders load with the token
    option = f"#order option[value='{ORDER_ID}']"
    page.wait_for_selector(option, state="attached")
    assert "<script>" in page.locator(option).text_content()
    page.select_option("#order", ORDER_ID)
    # a message the NLU reads as track_parcel: a draft below the confidence floor is not shown
    page.fill("#message", "我的快递到哪了")
    page.click("#suggest")
    page.wait_for_selector(".card", timeout=30000)
    replies = " ".join(page.locator(".card .reply").evaluate_all("els => els.map(e => e.value)"))
    assert f"快件已到达{PAYLOAD}{LINK}" in replies and TRACKING in replies  # text, as it is
    assert_nothing_ran(page, dialogs)
    # and an error message echoed from the server is text too
    page.fill("#message", PAYLOAD)
    page.evaluate("document.getElementById('order').add(new Option('x', '<img src=x class=injected>'))")
    page.select_option("#order", "<img src=x class=injected>")
    page.click("#suggest")
    page.wait_for_selector("#status:has-text('出错了')")
    assert "<img src=x class=injected>" in page.inner_text("#status")
    assert_nothing_ran(page, dialogs)
    page.close()


def test_the_workbench_shows_hostile_order_fields_and_messages_as_text(web_url, rasa_url, browser, hostile_order):
    from tests.e2e.test_e2e_rest import Customer
    from tests.e2e.test_workbench_web import open_workbench

    customer = Customer(rasa_url, ACCOUNT)  # signed in: his one recent order is picked
    assert TRACKING in customer.says("我的快递到哪了")
    assert "转接" in customer.says("转人工")
    assert customer.says(f"{PAYLOAD}在吗") == ""  # held for an agent: the bot is quiet
    page = open_workbench(browser, web_url)
    dialogs = watch(page)
    entry = f".conv[data-id='{customer.sender}']"
    page.wait_for_selector(entry, timeout=5000)
    page.click(entry)
    page.wait_for_selector(f"#order >> text={TRACKING}")
    card = page.inner_text("#order")
    assert PAYLOAD in card and "保温杯" in card  # the product and the tracking event, as text
    assert PAYLOAD in page.inner_text("#transcript") and PAYLOAD in page.inner_text("#conversations")
    assert_nothing_ran(page, dialogs)
    assert page.locator("#order script, #transcript script, #drafts script, #conversations script").count() == 0
    page.close()
