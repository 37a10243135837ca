"""The trainers' review queue over the web service's API, against the real servers: live
traffic fills it, a trainer labels a message, and apply writes it into (a copy of)
data/nlu.yml."""

from __future__ import annotations

import io
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests

from bot.cli import main as bot_cli
from evaluation.data import from_rasa_yaml
from tests.e2e.test_clarify_rest import unsure_message
from tests.e2e.test_e2e_rest import Customer
from tests.helpers.servers import AGENT_TOKEN, TOKEN

pytestmark = pytest.mark.e2e
DEV = {"Authorization": f"Bearer {AGENT_TOKEN}"}  # the development agent: a supervisor
ROUTES = [("get", "/agent/review"), ("post", "/agent/review/items/1"), ("get", "/agent/review/patch"),
          ("post", "/agent/review/apply")]
# questions no shop answers; the test uses the first the model reads as out of scope
OFF_TOPIC = ["今天天气怎么样", "帮我写一篇作文", "你们老板是谁", "讲个笑话吧", "股票明天会涨吗"]


@pytest.fixture(scope="module")
def trainer_and_agent(shop, web_url):
    """A supervisor (a trainer) and an ordinary agent, made with the command line."""
    found = {}
    for name, extra in (("laoliu", ["--supervisor"]), ("xiaoqian", [])):
        out = io.StringIO()
        assert bot_cli(["--db", shop.db, "agents", "add", name, *extra], out=out) == 0
        found[name] = {"Authorization": f"Bearer {out.getvalue().strip()}"}
    return found["laoliu"], found["xiaoqian"]


def queue(web_url: str, headers: Dict[str, str], **params: str) -> Dict[str, Any]:
    response = requests.get(f"{web_url}/agent/review", headers=headers, params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def find(state: Dict[str, Any], text: str) -> Optional[Dict[str, Any]]:
    return next((item for group in state["groups"] for item in group["items"] if item["text"] == text), None)


def searched(web_url: str, headers: Dict[str, str], text: str) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """The queue searched for ``text`` (the session's queue has more than a page), and the
    open item of those words."""
    state = queue(web_url, headers, q=text)
    return state, find(state, text)


def off_topic(rasa_url: str) -> str:
    for text in OFF_TOPIC:
        parsed = requests.post(f"{rasa_url}/model/parse?token={TOKEN}", json={"text": text}, timeout=30).json()
        if parsed["intent"]["name"] == "out_of_scope":
            return text
    raise AssertionError(f"the model reads none of {OFF_TOPIC} as out of scope")


@pytest.mark.parametrize("method, route", ROUTES)
def test_only_a_supervisor_reviews(web_url, trainer_and_agent, method, route):
    _, agent = trainer_and_agent
    for headers, status in (({}, 401), ({"Authorization": "Bearer wrong"}, 401), (agent, 403)):
        response = getattr(requests, method)(web_url + route, headers=headers, json={}, timeout=10)
        assert response.status_code == status, (route, headers)
        assert response.json()["error"]


def test_live_traffic_fills_the_queue_and_a_label_round_trips_into_the_training_data(
        rasa_url, web_url, trainer_and_agent, training_nlu):
    trainer, _ = trainer_and_agent
    unsure, outside = unsure_message(rasa_url), off_topic(rasa_url)
    assert Customer(rasa_url).says(unsure).startswith("您是想问：")
    Customer(rasa_url).says(outside)
    Customer(rasa_url).says(unsure)  # another customer, the same words: one item
    rejected = requests.post(f"{web_url}/agent/feedback", headers=trainer, timeout=10, json={
        "message": "买的杯子到手就裂了怎么办", "intent": "out_of_scope", "verdict": "rejected"})
    assert rejected.status_code == 201

    state, asked = searched(web_url, trainer, unsure)
    (_, oos), (_, feedback) = searched(web_url, trainer, outside), searched(web_url, trainer, "买的杯子到手就裂了怎么办")
    assert asked and oos and feedback, state["groups"]
    assert asked["source"] == "fallback" and 0 < asked["confidence"] < 0.5
    assert asked["choices"][0] == asked["predicted"] == asked["candidates"][0][0]
    assert len(asked["choices"]) == 3 and set(asked["choices"]) <= set(state["intents"])
    assert (oos["source"], oos["predicted"]) == ("out_of_scope", "out_of_scope")
    assert (feedback["source"], feedback["predicted"], feedback["confidence"]) == ("feedback", "out_of_scope", None)
    texts: List[str] = [i["text"] for g in state["groups"] for i in g["items"]]
    assert texts.count(unsure) == 1
    group = next(g for g in state["groups"] if g["intent"] == asked["predicted"])
    assert asked in group["items"]

    # wrong requests change nothing
    for body, status in (({"intent": "no_such_intent"}, 400), ({}, 400), ({"intent": 3}, 400)):
        response = requests.post(f"{web_url}/agent/review/items/{asked['id']}", json=body, headers=trainer, timeout=10)
        assert response.status_code == status, body
    assert requests.post(f"{web_url}/agent/review/items/999999", json={"intent": "greet"}, headers=trainer,
                         timeout=10).status_code == 404

    label = asked["choices"][1]  # the trainer says it is the model's second guess
    for item, intent in ((asked, label), (feedback, "quality_issue"), (oos, "-")):
        response = requests.post(f"{web_url}/agent/review/items/{item['id']}", json={"intent": intent},
                                 headers=trainer, timeout=10)
        assert response.status_code == 200 and response.json()["label"] == intent
    assert not searched(web_url, trainer, unsure)[1] and not searched(web_url, trainer, outside)[1]
    state = queue(web_url, trainer)
    assert {(i["text"], i["label"]) for i in state["reviewed"]} >= {(unsure, label),
                                                                     ("买的杯子到手就裂了怎么办", "quality_issue")}
    assert f"- intent: {label}" in state["patch"] and unsure in state["patch"] and outside not in state["patch"]
    download = requests.get(f"{web_url}/agent/review/patch", headers=trainer, timeout=10)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.text == state["patch"]

    before = from_rasa_yaml([training_nlu], training_nlu.parent)
    applied = requests.post(f"{web_url}/agent/review/apply", headers=trainer, json={}, timeout=30)
    assert applied.status_code == 200, applied.text
    assert applied.json()["added"] >= 2 and "make validate" in applied.json()["next_steps"]
    after = {(e.intent, e.text) for e in from_rasa_yaml([training_nlu], training_nlu.parent)}
    assert {(label, unsure), ("quality_issue", "买的杯子到手就裂了怎么办")} <= after
    assert len(after - {(e.intent, e.text) for e in before}) == applied.json()["added"]
    assert not [e for e in after if e[1] == outside and e[0] != "out_of_scope"]  # the discarded one

    # applied: the patch is empty, a second apply adds nothing, the same words do not come back
    Customer(rasa_url).says(unsure)
    state, again = searched(web_url, trainer, unsure)
    assert not state["reviewed"] and not again
    assert requests.post(f"{web_url}/agent/review/apply", headers=trainer, json={}, timeout=30).json()["added"] == 0


def test_the_review_page_is_served_and_linked_from_the_workbench(web_url):
    page = requests.get(f"{web_url}/review", timeout=10)
    assert page.status_code == 200 and "训练审核" in page.text and "/static/review.js" in page.text
    assert 'href="/review"' in requests.get(f"{web_url}/workbench", timeout=10).text
