"""The review queue's API pages through a large queue (web/review.py, in-process, no Rasa):
each group's count and its first items, "more" by offset, a search over every group."""

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.shop.review import ReviewQueue
from tests.helpers.shop import NOW, SECRET
from web.app import Settings, make_app
from web.review import PAGE, ReviewDesk

INTENTS = ["track_parcel", "refund_status", "greet", "out_of_scope"]
AGENT = {"Authorization": "Bearer agent"}  # the development agent: a supervisor


def fill(store, parcels=45, refunds=3):
    queue = ReviewQueue(store)
    for n in range(parcels):
        queue.add(f"快递第{n}天还没动", "track_parcel", round(0.5 - n / 100, 3), "log", NOW)
    for n in range(refunds):
        queue.add(f"钱第{n}次还没退", "refund_status", 0.3, "log", NOW)
    return queue


def app_for(store, tmp_path: Path):
    desk = ReviewDesk(store=store, nlu=tmp_path / "nlu.yml", intents=INTENTS, clock=lambda: NOW)
    return make_app(Settings(store=store, assistant=None, rank=lambda text: [],  # type: ignore[arg-type]
                             conversation_order=lambda cid: None, agent_token="agent", buyer_secret=SECRET,
                             clock=lambda: NOW, review=desk))


async def get(client, path, status=200, **params):
    response = await client.get(path, headers=AGENT, params=params)
    assert response.status == status, await response.text()
    return await response.json()


async def test_each_group_shows_its_count_and_its_first_page_least_confident_first(store, tmp_path):
    fill(store)
    async with TestClient(TestServer(app_for(store, tmp_path))) as client:
        state = await get(client, "/agent/review")
        assert state["open"] == 48
        assert [(g["intent"], g["count"], len(g["items"])) for g in state["groups"]] == [
            ("track_parcel", 45, PAGE), ("refund_status", 3, 3)]
        parcels = state["groups"][0]["items"]
        assert [i["text"] for i in parcels[:2]] == ["快递第44天还没动", "快递第43天还没动"]
        assert parcels[0]["choices"] == ["track_parcel", "refund_status", "greet"]

        # counts only: what the page reads again after a label
        counts = await get(client, "/agent/review", limit=0)
        assert [(g["count"], g["items"]) for g in counts["groups"]] == [(45, []), (3, [])]


async def test_more_pages_through_a_group_without_gaps_or_repeats(store, tmp_path):
    fill(store)
    async with TestClient(TestServer(app_for(store, tmp_path))) as client:
        first = (await get(client, "/agent/review"))["groups"][0]["items"]
        seen = [i["id"] for i in first]
        while True:
            page = await get(client, "/agent/review/groups/track_parcel", offset=len(seen), limit=PAGE)
            assert page["count"] == 45
            if not page["items"]:
                break
            seen += [i["id"] for i in page["items"]]
        assert len(seen) == len(set(seen)) == 45
        everything = [i.id for i in ReviewQueue(store).grouped()["track_parcel"]]
        assert seen == everything
        assert (await get(client, "/agent/review/groups/no_such_intent"))["items"] == []


async def test_a_search_narrows_every_group_and_finds_an_item_beyond_the_first_page(store, tmp_path):
    fill(store)
    async with TestClient(TestServer(app_for(store, tmp_path))) as client:
        state = await get(client, "/agent/review", q="第3")
        found = {(g["intent"], i["text"]) for g in state["groups"] for i in g["items"]}
        assert found == {("track_parcel", f"快递第{n}天还没动") for n in (3, *range(30, 40))}
        assert state["open"] == 11 and state["q"] == "第3"
        # LIKE's wildcards are the customer's characters, not patterns
        assert (await get(client, "/agent/review", q="%"))["open"] == 0
        assert (await get(client, "/agent/review", q="_"))["open"] == 0


async def test_a_label_leaves_the_counts_and_joins_the_reviewed(store, tmp_path):
    queue = fill(store)
    async with TestClient(TestServer(app_for(store, tmp_path))) as client:
        item = (await get(client, "/agent/review"))["groups"][1]["items"][0]
        response = await client.post(f"/agent/review/items/{item['id']}", json={"intent": "refund_status"},
                                     headers=AGENT)
        assert response.status == 200
        state = await get(client, "/agent/review", limit=0)
        assert [(g["intent"], g["count"]) for g in state["groups"]] == [("track_parcel", 45), ("refund_status", 2)]
        assert state["reviewed_count"] == 1 and state["reviewed"][0]["id"] == item["id"]
        assert item["text"] in state["patch"]
        assert queue.reviewed_count() == 1


async def test_bad_paging_is_a_400(store, tmp_path):
    async with TestClient(TestServer(app_for(store, tmp_path))) as client:
        for params in ({"limit": "x"}, {"limit": "-1"}, {"limit": "100000"}):
            assert (await get(client, "/agent/review", 400, **params))["error"]
        assert (await get(client, "/agent/review/groups/greet", 400, offset="-3"))["error"]
