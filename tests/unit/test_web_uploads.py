"""POST /api/uploads on the web app (no Rasa: the conversation's slots and the
acknowledgement are the app's arguments): refusals, ownership, nothing lost."""

from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.access.identity import order_pass, sign
from bot.access.order_access import ANONYMOUS
from bot.shop.cases import CaseLog, CaseState
from bot.shop.uploads import Uploads
from rasa_adapter.api import RasaUnavailable
from tests.helpers.images import ELF, photo, png_bomb
from tests.helpers.shop import NOW, SECRET
from web.app import Settings, make_app
from web.uploads import UploadService

ORDER = "2938475610293840001"  # wang_fang's cardigan, signed
CONVERSATION = "conv-wang"
MB = 1024 * 1024


class Rasa:
    """What the app asks Rasa: the conversations' slots; the photos it says into them."""

    def __init__(self):
        self.slots = {}
        self.said = []
        self.down = False
        self.silent = False  # up for the check, gone before the acknowledgement

    def conversation_slots(self, cid):
        if self.down:
            raise RasaUnavailable("down")
        return self.slots.get(cid, {})

    def acknowledge(self, cid):
        if self.down or self.silent:
            raise RasaUnavailable("down")
        self.said.append(cid)


@pytest.fixture
def rasa():
    r = Rasa()
    r.slots[CONVERSATION] = {"order_id": ORDER,
                             "order_checked_for": order_pass(SECRET, CONVERSATION, ORDER, "wang_fang")}
    return r


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "uploads"


@pytest.fixture
def case(store):
    return CaseLog(store).register(conversation_id=CONVERSATION, intent="wrong_item",
                                   state=CaseState.WAITING_CUSTOMER, next_step="等照片", note="疑似发错货",
                                   now=NOW, order_id=ORDER, buyer_account="wang_fang")


def app_for(store, folder, rasa, policy):
    return make_app(Settings(
        store=store, assistant=None, rank=lambda text: [], conversation_order=lambda cid: None,
        agent_token="agent", buyer_secret=SECRET, clock=lambda: NOW,
        uploads=UploadService(
            uploads=Uploads(store, folder, policy.uploads_per_case), max_bytes=policy.upload_max_bytes,
            buyer_secret=SECRET, clock=lambda: NOW, slots=rasa.conversation_slots, acknowledge=rasa.acknowledge),
    ))


def form(data, conversation=CONVERSATION, buyer="wang_fang", filename="photo.jpg", content_type="image/jpeg"):
    f = aiohttp.FormData()
    if data is not None:
        f.add_field("file", data, filename=filename, content_type=content_type)
    if conversation is not None:
        f.add_field("conversation_id", conversation)
    if buyer is not None:
        f.add_field("buyer_token", buyer if "." in buyer else sign(buyer, SECRET, NOW))
    return f


def stored_files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def test_a_photo_joins_the_case_and_is_acknowledged(store, folder, rasa, policy, case):
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        response = await client.post("/api/uploads", data=form(photo()))
        body = await response.json()
        assert response.status == 201, body
        assert body["case_id"] == case.id and body["order_id"] == ORDER
        assert body["photo_count"] == 1 and body["acknowledged"] is True
        assert rasa.said == [CONVERSATION]
        assert [a.id for a in Uploads(store, folder, 6).for_case(case.id)] == [body["id"]]
        # an agent reads it with the agent token; nobody else
        assert (await client.get(f"/agent/uploads/{body['id']}")).status == 401
        agent = {"Authorization": "Bearer agent"}
        full = await client.get(f"/agent/uploads/{body['id']}", headers=agent)
        thumb = await client.get(f"/agent/uploads/{body['id']}/thumb", headers=agent)
        assert (full.status, full.content_type, thumb.content_type) == (200, "image/jpeg", "image/jpeg")
        assert (await client.get("/agent/uploads/" + "0" * 32, headers=agent)).status == 404
        assert (await client.get("/agent/uploads/..%2f..%2fshop.db", headers=agent)).status == 404


BAD = {
    "a text file": (b"hello, this is not a photo", "note.txt", "text/plain", 415, "unsupported_type"),
    "a renamed executable": (ELF, "photo.jpg", "image/jpeg", 415, "unsupported_type"),
    "an oversized file": (b"\xff\xd8\xff" + b"\x00" * (5 * MB + 10), "big.jpg", "image/jpeg", 413, "too_large"),
    "a corrupt image": (photo(size=(1200, 900))[:3000], "cut.jpg", "image/jpeg", 422, "corrupt_image"),
    "a decompression bomb": (png_bomb(), "bomb.png", "image/png", 422, "image_too_big"),
}


async def test_bad_files_get_clear_refusals_and_the_server_stays_up(store, folder, rasa, policy, case):
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        for what, (data, name, ctype, status, code) in BAD.items():
            response = await client.post("/api/uploads", data=form(data, filename=name, content_type=ctype))
            body = await response.json()
            assert (response.status, body["code"]) == (status, code), what
            assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]), what  # said in Chinese
            assert "Traceback" not in body["error"]
        for missing in (form(None), form(photo(), conversation=None)):
            response = await client.post("/api/uploads", data=missing)
            assert (response.status, (await response.json())["code"]) == (400, "missing_field")
        not_multipart = await client.post("/api/uploads", json={"conversation_id": CONVERSATION})
        assert not_multipart.status == 400
        assert stored_files(folder) == [] and rasa.said == []
        # still serving, and a good photo after all that is taken
        assert (await client.get("/health")).status == 200
        assert (await client.post("/api/uploads", data=form(photo("PNG"), filename="x.png"))).status == 201
    assert len(Uploads(store, folder, 6).for_case(case.id)) == 1


MALFORMED = [
    ("multipart/form-data; boundary=xyz", b"garbage without a boundary"),
    ("multipart/form-data", b"--xyz\r\n"),  # no boundary named
    ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc'),
    ("multipart/mixed; boundary=xyz", b"--xyz\r\n\r\n--xyz--\r\n"),
]


async def test_malformed_forms_get_a_400_not_a_500(store, folder, rasa, policy, case):
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        for content_type, body in MALFORMED:
            response = await client.post("/api/uploads", data=body, headers={"Content-Type": content_type})
            assert response.status == 400, (content_type, body)
            assert (await response.json())["code"] in ("bad_form", "missing_field")

        async def endless():  # chunked, no Content-Length
            yield b"--xyz\r\n"

        response = await client.post("/api/uploads", data=endless(),
                                     headers={"Content-Type": "multipart/form-data; boundary=xyz"})
        assert (response.status, (await response.json())["code"]) == (400, "bad_form")
        assert (await client.post("/api/uploads", data=form(photo()))).status == 201


async def test_the_seventh_photo_of_a_case_is_refused(store, folder, rasa, policy, case):
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        for n in range(policy.uploads_per_case):
            response = await client.post("/api/uploads", data=form(photo(colour=(n * 30, 0, 0))))
            assert response.status == 201 and (await response.json())["photo_count"] == n + 1
        response = await client.post("/api/uploads", data=form(photo()))
        body = await response.json()
        assert (response.status, body["code"]) == (409, "too_many_files") and "6 张" in body["error"]
    assert len(Uploads(store, folder, 6).for_case(case.id)) == 6
    assert len([p for p in stored_files(folder) if p.suffix == ".jpeg"]) == 6


@pytest.mark.parametrize("sender", ["chen_hao", None, "wang_fang.9999999999.forged"])
async def test_someone_elses_conversation_is_refused(store, folder, rasa, policy, case, sender):
    # another buyer, an anonymous visitor, a forged token: none holds wang_fang's pass
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        response = await client.post("/api/uploads", data=form(photo(), buyer=sender))
        assert (response.status, (await response.json())["code"]) == (403, "not_your_conversation")
    assert stored_files(folder) == [] and rasa.said == []


async def test_an_anonymous_customer_who_proved_the_order_may_send_photos(store, folder, rasa, policy):
    CaseLog(store).register(conversation_id="anon-1", intent="quality_issue", state=CaseState.WAITING_CUSTOMER,
                            next_step="等照片", note="质量问题", now=NOW, order_id=ORDER, buyer_account="wang_fang")
    rasa.slots["anon-1"] = {"order_id": ORDER, "order_checked_for": order_pass(SECRET, "anon-1", ORDER, ANONYMOUS)}
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        assert (await client.post("/api/uploads", data=form(photo(), conversation="anon-1", buyer=None))).status == 201
        # logged in as the order's buyer is another holder: that pass is not theirs
        response = await client.post("/api/uploads", data=form(photo(), conversation="anon-1"))
        assert response.status == 403


async def test_a_conversation_without_an_open_case_is_refused(store, folder, rasa, policy, case):
    CaseLog(store).register(conversation_id="conv-2", intent="track_parcel", state=CaseState.RESOLVED,
                            next_step="无", note="查件", now=NOW, order_id=ORDER, buyer_account="wang_fang")
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        for conversation in ("conv-2", "never-seen"):
            response = await client.post("/api/uploads", data=form(photo(), conversation=conversation))
            body = await response.json()
            assert (response.status, body["code"]) == (409, "no_open_case") and "售后" in body["error"]
        CaseLog(store).close(case.id, NOW + timedelta(minutes=1))
        assert (await client.post("/api/uploads", data=form(photo()))).status == 409
    assert stored_files(folder) == []


async def test_rasa_down_refuses_for_now_or_keeps_the_photo_unacknowledged(store, folder, rasa, policy, case):
    async with TestClient(TestServer(app_for(store, folder, rasa, policy))) as client:
        rasa.down = True  # ownership cannot be checked: nothing is stored
        response = await client.post("/api/uploads", data=form(photo()))
        assert (response.status, (await response.json())["code"]) == (503, "unavailable")
        assert stored_files(folder) == []
        rasa.down, rasa.silent = False, True
        response = await client.post("/api/uploads", data=form(photo()))
        body = await response.json()
        assert response.status == 201 and body["acknowledged"] is False  # stored all the same
    assert [a.id for a in Uploads(store, folder, 6).for_case(case.id)] == [body["id"]]
