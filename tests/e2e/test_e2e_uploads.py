"""A photo from the shop page in Chromium: the 📷 button posts it, the bot acknowledges it in
the widget (Rasa's trigger_intent over socket.io), and it is on the buyer's case, EXIF-free."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from bot.shop.cases import CaseLog, CaseState
from bot.shop.store import OrderStore
from bot.shop.uploads import Uploads, attachments_of_case
from tests.e2e.test_workbench_web import open_workbench
from tests.helpers.browser import REPORTS
from tests.helpers.images import ELF, GPS_IFD, photo

pytestmark = pytest.mark.e2e
ORDER = "1829374650192837465"  # chen_hao's only recent order: picked without asking


def test_a_photo_sent_from_the_widget_lands_on_the_case(web_url, shop, browser, tmp_path):
    picture = tmp_path / "IMG_0001.jpg"
    picture.write_bytes(photo(size=(1600, 1200)))
    assert Image.open(picture).getexif().get_ifd(GPS_IFD)  # a phone photo with its position
    page = browser.new_page()
    page.goto(web_url + "/")
    page.select_option("#buyer", "chen_hao")
    page.wait_for_selector("#buyer >> text=陈浩", state="attached")
    page.click(".rw-launcher")
    page.wait_for_selector(".rw-new-message")
    page.wait_for_function("localStorage.getItem('chat_session') !== null")
    page.set_input_files("#photo-file", str(picture))  # before any problem is told: no case yet
    page.wait_for_selector("#photo-status.photo-refused", timeout=30000)
    assert "还没有需要照片的售后" in page.inner_text("#photo-status")
    page.fill(".rw-new-message", "收到的货发错了")
    page.press(".rw-new-message", "Enter")
    page.wait_for_selector(f"text={ORDER}", timeout=30000)

    page.set_input_files("#photo-file", str(picture))
    page.wait_for_selector("#photo-status.photo-ok", timeout=30000)
    assert "共 1 张" in page.inner_text("#photo-status")
    page.wait_for_selector("text=照片收到了", timeout=30000)  # the bot, over socket.io

    renamed = tmp_path / "photo2.jpg"  # an executable named like a photo
    renamed.write_bytes(ELF)
    page.set_input_files("#photo-file", str(renamed))
    page.wait_for_selector("#photo-status.photo-refused", timeout=30000)
    assert "只能上传 JPEG、PNG 或 WebP" in page.inner_text("#photo-status")
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / "shop_upload.png"))
    conversation = page.evaluate("JSON.parse(localStorage.getItem('chat_session')).session_id")
    page.close()

    store = OrderStore.from_url(shop.db)
    try:
        case = CaseLog(store).open_case_for_evidence(conversation)
        assert case is not None and case.order_id == ORDER and case.intent == "wrong_item"
        assert case.state == CaseState.WAITING_SHOP and case.next_step.startswith("照片待审核")
        [attachment] = attachments_of_case(store, case.id)
        stored = Uploads(store, shop.uploads, 6).path(attachment.id)
        image = Image.open(stored)
        assert image.size == (1600, 1200) and not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
        assert b"TestPhone" not in stored.read_bytes()
    finally:
        store.engine.dispose()

    # an agent fetches it with the agent token; the customer's own page cannot
    from tests.helpers.servers import AGENT_TOKEN
    url = f"{web_url}{attachment.thumbnail_url}"
    assert requests.get(url, timeout=10).status_code == 401
    thumb = requests.get(url, headers={"Authorization": f"Bearer {AGENT_TOKEN}"}, timeout=10)
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).format == "JPEG"

    # and sees it in the workbench's order card: the thumbnail decoded, not a broken image
    agent = open_workbench(browser, web_url)
    agent.click(f"li.conv[data-id='{conversation}']")
    agent.wait_for_selector("img[alt='客户图片']", timeout=30000)
    decoded = "[...document.querySelectorAll(\"img[alt='客户图片']\")].map(i => i.complete ? i.naturalWidth : -1)"
    for _ in range(50):  # the page's CSP allows no eval, so no wait_for_function: poll
        widths = agent.evaluate(decoded)
        if -1 not in widths:
            break
        agent.wait_for_timeout(200)
    assert widths and all(w > 0 for w in widths), widths
    agent.close()


def test_another_conversation_is_refused_over_http(web_url):
    response = requests.post(f"{web_url}/api/uploads", files={"file": ("a.jpg", photo(), "image/jpeg")},
                             data={"conversation_id": "not-a-conversation-of-mine"}, timeout=30)
    assert response.status_code == 409 and response.json()["code"] == "no_open_case"
    assert requests.get(f"{web_url}/health", timeout=10).status_code == 200
