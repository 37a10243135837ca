"""The agents' workbench API against the real servers: every path and its errors."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests

from bot.cli import main as bot_cli
from bot.shop.casefacts import notices_of
from bot.shop.cases import CaseLog
from bot.shop.feedback import FeedbackLog
from bot.shop.store import OrderStore
from bot.workbench.agents import AgentLog
from tests.e2e.test_e2e_rest import Customer
from tests.helpers.servers import AGENT_TOKEN, own_copy

pytestmark = pytest.mark.e2e
DEV = {"Authorization": f"Bearer {AGENT_TOKEN}"}
ORDER = "2938475610293840001"  # signed by the door guard (sample shop)


@pytest.fixture(scope="module")
def agents(shop, web_url):
    """Two named agents made with the command line: name → Authorization header."""
    found = {}
    for name in ("xiaowang", "xiaoli"):
        out = io.StringIO()
        assert bot_cli(["--db", shop.db, "agents", "add", name], out=out) == 0
        found[name] = {"Authorization": f"Bearer {out.getvalue().strip()}"}
    return found


def path(web_url, conversation, tail=""):
    return f"{web_url}/agent/conversations/{requests.utils.quote(conversation, safe='')}{tail}"


def handed_over(rasa_url, text="转人工"):
    customer = Customer(rasa_url)
    assert "转接人工客服" in customer.says(text)
    return customer


def wait_for(fn, timeout=5.0):
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.2)


ROUTES = [("get", "/agent/me"), ("get", "/agent/inbox"), ("get", "/agent/conversations/x"),
          ("post", "/agent/conversations/x/takeover"), ("post", "/agent/conversations/x/release"),
          ("post", "/agent/conversations/x/messages"), ("get", "/agent/canned?q=a"), ("get", "/agent/stream")]


@pytest.mark.parametrize("method, route", ROUTES)
def test_every_route_needs_an_agent_token(web_url, method, route):
    from bot.access.identity import sign
    from bot.settings import utcnow
    from tests.helpers.servers import BUYER_SECRET

    buyer = sign("chen_hao", BUYER_SECRET, utcnow())  # a customer's token is no agent's
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {buyer}"},
                    {"Authorization": AGENT_TOKEN}):
        response = getattr(requests, method)(web_url + route, headers=headers, timeout=10)
        assert response.status_code == 401, (route, headers)
        assert response.json()["error"]


def test_an_agent_token_is_no_buyer_token_on_the_customer_channel(rasa_url):
    customer = Customer(rasa_url)
    customer.metadata = {"buyer_token": AGENT_TOKEN}
    # a signed-in buyer would get her recent order picked; this one is asked for the number
    assert "订单号" in customer.says("我的快递到哪了")


def test_named_agents_and_the_development_agent(web_url, agents):
    assert requests.get(f"{web_url}/agent/me", headers=agents["xiaowang"], timeout=10).json() == {
        "name": "xiaowang", "supervisor": False}
    assert requests.get(f"{web_url}/agent/me", headers=DEV, timeout=10).json()["name"] == "dev"


def test_a_handed_over_conversation_is_in_the_inbox_with_its_drafts(web_url, rasa_url):
    customer = handed_over(rasa_url)
    inbox = requests.get(f"{web_url}/agent/inbox", headers=DEV, timeout=10).json()
    entry = next(e for e in inbox if e["conversation_id"] == customer.sender)
    assert entry["reason"] == "request_human" and entry["reason_text"] == "转人工"
    assert entry["held_by"] is None and entry["waiting_seconds"] >= 0
    view = requests.get(path(web_url, customer.sender), headers=DEV, timeout=10).json()
    assert [line["who"] for line in view["transcript"]][:2] == ["customer", "bot"]
    assert view["paused"] is True and view["latest_message"] == "转人工"
    assert view["drafts"] and view["drafts"][0]["intent"] == "request_human"
    assert "转接" not in view["drafts"][0]["reply"] and "dev" in view["drafts"][0]["reply"]


def test_the_order_card_and_drafts_follow_the_conversations_order(web_url, rasa_url):
    customer = Customer(rasa_url)
    assert "门卫" in customer.proves(f"订单{ORDER}显示签收了但我没收到", "1111")
    customer.says("转人工")
    view = requests.get(path(web_url, customer.sender), headers=DEV, timeout=10).json()
    card = view["order"]
    assert card["order_id"] == ORDER and card["state_text"] == "已签收"
    assert card["items"] and card["amount_paid"].startswith("¥") and card["shipment"]["events"]
    assert card["attachments"] == []  # the customer's photos go here once they can send them
    assert {c["intent"] for c in view["cases"]} >= {"signed_not_received", "request_human"}
    canned = requests.get(f"{web_url}/agent/canned", headers=DEV, timeout=10,
                          params={"q": "签收", "conversation": customer.sender}).json()
    assert canned and any(ORDER in c["text"] or "门卫" in c["text"] for c in canned)


def test_take_over_answer_and_release(web_url, rasa_url, shop, agents):
    wang, li = agents["xiaowang"], agents["xiaoli"]
    customer = handed_over(rasa_url)
    conv = customer.sender
    taken = requests.post(path(web_url, conv, "/takeover"), headers=wang, timeout=10)
    assert taken.status_code == 200 and taken.json()["held_by"] == "xiaowang"
    other = requests.post(path(web_url, conv, "/takeover"), headers=li, timeout=10)
    assert other.status_code == 409 and other.json()["held_by"] == "xiaowang" and "xiaowang" in other.json()["error"]
    assert requests.post(path(web_url, conv, "/messages"), headers=li, json={"text": "你好"},
                         timeout=10).status_code == 409
    assert requests.post(path(web_url, conv, "/release"), headers=li, timeout=10).status_code == 409

    draft = requests.get(path(web_url, conv), headers=wang, timeout=10).json()["drafts"][0]
    sent = requests.post(path(web_url, conv, "/messages"), headers=wang,
                         json={"text": draft["reply"] + "我来帮您查。", "draft": draft["intent"]}, timeout=10)
    assert sent.status_code == 201 and sent.json()["verdict"] == "edited"
    assert customer.says("订单是哪个我忘了") == ""  # the bot stays quiet while an agent holds it
    view = requests.get(path(web_url, conv), headers=wang, timeout=10).json()
    lines = [(line["who"], line["agent"], line["text"]) for line in view["transcript"]]
    assert ("agent", "xiaowang", draft["reply"] + "我来帮您查。") in lines
    assert lines[-1] == ("customer", None, "订单是哪个我忘了")
    own = requests.post(path(web_url, conv, "/messages"), headers=wang, json={"text": "没关系，我帮您找"}, timeout=10)
    assert own.json()["verdict"] == "own"

    released = requests.post(path(web_url, conv, "/release"), headers=wang, timeout=10)
    assert released.status_code == 200 and released.json()["cases_resolved"] == 1
    view = requests.get(path(web_url, conv), headers=wang, timeout=10).json()
    assert view["transcript"][-1]["who"] == "bot" and "xiaowang已结束" in view["transcript"][-1]["text"]
    assert view["held_by"] is None and view["paused"] is False
    assert "订单号" in customer.says("我的快递到哪了")  # the bot answers again

    store = OrderStore.from_url(shop.db)
    verdicts = [(r.verdict, r.intent) for r in FeedbackLog(store).all()]
    assert ("edited", "request_human") in verdicts and ("own", verdicts[-1][1]) in verdicts
    case = next(c for c in CaseLog(store).cases_for_conversation(conv) if c.intent == "request_human")
    assert case.handler == "xiaowang" and case.state.value == "resolved" and "xiaowang" in case.note
    actions = [(r.agent, r.action) for r in AgentLog(store).recent() if r.conversation_id == conv]
    assert actions[::-1] == [("xiaowang", "takeover"), ("xiaowang", "send"), ("xiaowang", "send"),
                             ("xiaowang", "release")]
    inbox = requests.get(f"{web_url}/agent/inbox", headers=wang, timeout=10).json()
    assert conv not in [e["conversation_id"] for e in inbox]


@pytest.mark.parametrize("body, status, says", [
    ({}, 400, "text is required"),
    ({"text": "   "}, 400, "text is required"),
    ({"text": 42}, 400, "must be a string"),
    ({"text": "好" * 1001}, 400, "longer than 1000"),
    ({"text": "您的订单 {order_id} 已发货"}, 400, "placeholder"),
    ({"text": "好的", "draft": "no_such_intent"}, 400, "no draft"),
])
def test_a_bad_message_is_refused_and_nothing_is_sent(web_url, rasa_url, body, status, says):
    customer = handed_over(rasa_url)
    before = requests.get(path(web_url, customer.sender), headers=DEV, timeout=10).json()["transcript"]
    response = requests.post(path(web_url, customer.sender, "/messages"), headers=DEV, json=body, timeout=10)
    assert response.status_code == status and says in response.json()["error"]
    after = requests.get(path(web_url, customer.sender), headers=DEV, timeout=10).json()
    assert after["transcript"] == before and after["held_by"] is None


def test_malformed_json_and_unknown_conversations(web_url, rasa_url):
    customer = handed_over(rasa_url)
    raw = requests.post(path(web_url, customer.sender, "/messages"), headers=DEV, data="{not json", timeout=10)
    assert raw.status_code == 400 and raw.json()["error"]
    array = requests.post(path(web_url, customer.sender, "/messages"), headers=DEV, json=["x"], timeout=10)
    assert array.status_code == 400
    for method, tail in (("get", ""), ("post", "/takeover"), ("post", "/release"), ("post", "/messages")):
        response = getattr(requests, method)(path(web_url, "nobody-ever", tail), headers=DEV,
                                             json={"text": "你好"}, timeout=10)
        assert response.status_code == 404 and "nobody-ever" in response.json()["error"]
    assert requests.get(path(web_url, "x" * 200), headers=DEV, timeout=10).status_code == 404


def test_releasing_a_conversation_the_bot_has_is_refused(web_url, rasa_url):
    customer = Customer(rasa_url)
    customer.says("你好")
    response = requests.post(path(web_url, customer.sender, "/release"), headers=DEV, timeout=10)
    assert response.status_code == 409


def test_stepping_into_a_live_conversation(web_url, rasa_url):
    """The every-conversation tab lists one the bot is handling; an agent can step in."""
    customer = Customer(rasa_url)
    customer.says("你好")
    live = wait_for(lambda: [e for e in requests.get(f"{web_url}/agent/inbox?all=1", headers=DEV, timeout=10).json()
                             if e["conversation_id"] == customer.sender])
    assert live and live[0]["reason"] == "live" and live[0]["last_message"]
    assert customer.sender not in [e["conversation_id"] for e in
                                   requests.get(f"{web_url}/agent/inbox", headers=DEV, timeout=10).json()]
    assert requests.post(path(web_url, customer.sender, "/messages"), headers=DEV,
                         json={"text": "您好，我是人工客服，有什么可以帮您？"}, timeout=10).status_code == 201
    assert customer.says("我的快递到哪了") == ""  # sending took it over: the bot is paused
    requests.post(path(web_url, customer.sender, "/release"), headers=DEV, timeout=10).raise_for_status()


def test_two_messages_not_understood_reach_the_inbox(web_url, rasa_url):
    customer = Customer(rasa_url)
    for text in ("qwxz plmokn", "zzkv bbq xj"):
        customer.says(text)
    inbox = requests.get(f"{web_url}/agent/inbox", headers=DEV, timeout=10).json()
    entry = [e for e in inbox if e["conversation_id"] == customer.sender]
    assert entry and entry[0]["reason"] == "not_understood"
    # the bot's 「暂时回答不了」 is no reply for a person to send
    drafts = requests.get(path(web_url, customer.sender), headers=DEV, timeout=10).json()["drafts"]
    assert "out_of_scope" not in [d["intent"] for d in drafts]


def test_the_stream_sends_the_inbox_and_a_conversations_changes(web_url, rasa_url):
    customer = handed_over(rasa_url)
    with requests.get(f"{web_url}/agent/stream", headers=DEV, timeout=10, stream=True,
                      params={"conversation": customer.sender}) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = []
        name = None
        for raw in response.iter_lines():  # bytes: str.splitlines would cut at U+0085
            line = raw.decode("utf-8")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if {n for n, _ in events} >= {"inbox", "conversation"}:
                    break
    inbox = next(data for n, data in events if n == "inbox")
    assert customer.sender in [e["conversation_id"] for e in inbox]


def test_supervisors_decide_approvals_and_the_customer_is_told(web_url, rasa_url, shop, agents):

    out = io.StringIO()
    assert bot_cli(["--db", shop.db, "agents", "add", "laozhang", "--supervisor"], out=out) == 0
    boss = {"Authorization": f"Bearer {out.getvalue().strip()}"}
    # a copy of the buyer: another test's 退差价 on the sample kettle would be pending already
    names = own_copy(shop, 811, "liu_yang")
    kettle = names["7700112233445566778"]
    customer = Customer(rasa_url, names["liu_yang"])
    assert "主管审批" in customer.says(f"电热水壶刚买就降价了，订单{kettle}能退差价吗")

    assert requests.get(f"{web_url}/agent/approvals", headers=agents["xiaowang"], timeout=10).status_code == 403
    queue = requests.get(f"{web_url}/agent/approvals", headers=boss, timeout=10).json()
    case = next(c for c in queue if c["conversation_id"] == customer.sender)
    assert case["intent"] == "price_drop_refund" and case["state"] == "needs_approval"
    decide = f"{web_url}/agent/approvals/{case['id']}"
    assert requests.post(decide, headers=agents["xiaowang"], json={"decision": "approve"}, timeout=10).status_code == 403
    for body in ({}, {"decision": "maybe"}, {"decision": "deny"}, {"decision": "deny", "reason": "{x}"}):
        assert requests.post(decide, headers=boss, json=body, timeout=10).status_code == 400, body
    assert requests.post(f"{web_url}/agent/approvals/999999", headers=boss, json={"decision": "approve"},
                         timeout=10).status_code == 404

    approved = requests.post(decide, headers=boss, json={"decision": "approve"}, timeout=10)
    assert approved.status_code == 200 and approved.json()["state"] == "waiting_shop"
    assert approved.json()["told"] is False  # a REST customer: told when they write again
    assert requests.post(decide, headers=boss, json={"decision": "deny", "reason": "晚了"},
                         timeout=10).status_code == 409  # decided already
    store = OrderStore.from_url(shop.db)
    [notice] = notices_of(store, case["id"])
    assert notice.change.value == "approved" and not notice.delivered
    # the customer writes again: the decision comes first (tell_case_changed's notice), once
    first, *answer = [m.get("text", "") for m in customer.messages("好的")]
    assert kettle in first and "退差价" in first and "通过" in first and answer
    assert "通过" not in customer.says("谢谢")
    assert notices_of(store, case["id"])[0].delivered
    view = requests.get(path(web_url, customer.sender), headers=boss, timeout=10).json()
    said = [line["text"] for line in view["transcript"] if "通过主管审核" in line["text"]]
    assert len(said) == 1 and not any("EXTERNAL" in line["text"] for line in view["transcript"])
    record = CaseLog(store).get(case["id"])
    assert record.handler == "laozhang" and "主管laozhang已批准" in record.note
    assert ("laozhang", "approve") in [(r.agent, r.action) for r in AgentLog(store).recent()]


def test_a_denial_is_told_with_its_reason_when_the_customer_writes_again(web_url, rasa_url, shop):
    """A denial stands at once; its notice is recorded and the reason said when the
    customer writes again."""
    out = io.StringIO()
    assert bot_cli(["--db", shop.db, "agents", "add", "laoli", "--supervisor"], out=out) == 0
    boss = {"Authorization": f"Bearer {out.getvalue().strip()}"}
    names = own_copy(shop, 812, "liu_yang")
    customer = Customer(rasa_url, names["liu_yang"])
    assert "主管审批" in customer.says(f"电热水壶刚买就降价了，订单{names['7700112233445566778']}能退差价吗")
    queue = requests.get(f"{web_url}/agent/approvals", headers=boss, timeout=10).json()
    case = next(c for c in queue if c["conversation_id"] == customer.sender)
    denied = requests.post(f"{web_url}/agent/approvals/{case['id']}", headers=boss,
                           json={"decision": "deny", "reason": "活动价不参与保价"}, timeout=10)
    assert denied.status_code == 200 and denied.json()["state"] == "resolved" and denied.json()["told"] is False
    first = customer.messages("在吗")[0]["text"]
    assert "暂时无法办理" in first and "活动价不参与保价" in first and "{" not in first
