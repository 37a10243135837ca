"""The demo shop's login signs a token for any sample buyer: only when DEMO_LOGIN is on."""

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.access.identity import verify
from tests.helpers.shop import NOW, SECRET
from web.app import Settings, make_app


def app_for(store, demo_login):
    return make_app(Settings(
        store=store, assistant=None, rank=lambda text: [], conversation_order=lambda cid: None,
        agent_token="agent", buyer_secret=SECRET, clock=lambda: NOW, demo_login=demo_login,
    ))


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
