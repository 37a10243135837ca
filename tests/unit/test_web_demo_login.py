"""The web service without Rasa: the demo login (only when DEMO_LOGIN is on), its pages, /health."""

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.access.identity import verify
from tests.helpers.shop import NOW, SECRET
from web.app import Settings, make_app


def app_for(store, demo_login, shop_name="店铺"):
    return make_app(Settings(
        store=store, assistant=None, rank=lambda text: [], conversation_order=lambda cid: None,
        agent_token="agent", buyer_secret=SECRET, clock=lambda: NOW, demo_login=demo_login,
        shop_name=shop_name,
    ))


@pytest.mark.parametrize("path", ["/", "/agent"])
async def test_the_pages_carry_the_shops_name_escaped(store, path):
    async with TestClient(TestServer(app_for(store, False, shop_name="小鹿<优选>"))) as client:
        page = await (await client.get(path)).text()
    assert "小鹿&lt;优选&gt;" in page and "__SHOP_NAME__" not in page and "<优选>" not in page


@pytest.mark.parametrize("demo_login", [False, True])
async def test_the_demo_login_is_off_unless_asked_for(store, demo_login):
    async with TestClient(TestServer(app_for(store, demo_login))) as client:
        session = await client.post("/api/session", json={"buyer": "chen_hao"})
        buyers = await client.get("/api/buyers")
        if not demo_login:
            assert (session.status, buyers.status) == (404, 404)
            assert "DEMO_LOGIN" in (await session.json())["error"]
        else:
            assert verify((await session.json())["buyer_token"], SECRET, NOW) == "chen_hao"
            assert "chen_hao" in {b["account"] for b in await buyers.json()}


async def test_health_answers_without_a_token_and_touches_nothing(store):
    def no_rasa(text):
        raise AssertionError("the health check must not call Rasa")

    app = make_app(Settings(
        store=None, assistant=None, rank=no_rasa, conversation_order=no_rasa,  # type: ignore[arg-type]
        agent_token="agent", buyer_secret=SECRET, clock=lambda: NOW))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/health")
        assert response.status == 200 and await response.json() == {"status": "ok"}
