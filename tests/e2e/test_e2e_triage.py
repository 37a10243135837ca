"""End to end over REST: quality triage's photo review. The quality reply gives no return
address; the photo is uploaded, waits in the agents' inbox as 照片待审核, an agent approves
it on the workbench and only then is the customer told the return address. A 折价 above
the shipping fee goes to a supervisor, and who decided is recorded."""

from __future__ import annotations

import io

import pytest
import requests

from bot.cli import main as bot_cli
from bot.playbook.policy import load_policy
from bot.settings import PROJECT_ROOT
from bot.shop.compensation import CompensationState, compensations_of_order
from bot.shop.store import OrderStore
from tests.e2e.test_e2e_followups import bot_texts
from tests.e2e.test_e2e_rest import Customer
from tests.e2e.test_workbench_api import wait_for
from tests.helpers.images import photo
from tests.helpers.servers import AGENT_TOKEN, own_copy

pytestmark = pytest.mark.e2e
DEV = {"Authorization": f"Bearer {AGENT_TOKEN}"}
POLICY = load_policy(PROJECT_ROOT / "shop.yml")


def upload(web_url: str, customer: Customer) -> dict:
    response = requests.post(f"{web_url}/api/uploads", files={"file": ("crack.jpg", photo(), "image/jpeg")},
                             data={"conversation_id": customer.sender, **customer.metadata}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def inbox_entry(web_url: str, sender: str):
    entries = requests.get(f"{web_url}/agent/inbox", headers=DEV, timeout=10).json()
    return next((e for e in entries if e["conversation_id"] == sender), None)


def review(web_url: str, case_id: int, body: dict, headers=DEV) -> requests.Response:
    return requests.post(f"{web_url}/agent/cases/{case_id}/review", json=body, headers=headers, timeout=30)


def test_the_return_address_comes_after_an_agent_approved_the_photo(rasa_url, web_url, shop):
    names = own_copy(shop, 701, "liu_yang")
    order = names["7700112233445566778"]
    customer = Customer(rasa_url, sender=names["liu_yang"])
    first = customer.says(f"订单{order}的电热水壶有裂缝，一烧水就漏")
    assert "退货还是换货" in first and "照片" in first
    assert POLICY.return_address not in first  # nothing promised before the photo is looked at
    stored = upload(web_url, customer)
    assert stored["acknowledged"] is True
    entry = wait_for(lambda: inbox_entry(web_url, customer.sender))
    assert entry["reason"] == "photo_review" and entry["reason_text"] == "照片待审核"
    case_id = stored["case_id"]
    # a verdict the shop's rules refuse changes nothing
    assert review(web_url, case_id, {"verdict": "refuse", "reason": "because"}).status_code == 400
    assert review(web_url, case_id, {"verdict": "maybe"}).status_code == 400
    assert review(web_url, case_id, {"verdict": "approve"}, headers={}).status_code == 401
    approved = review(web_url, case_id, {"verdict": "approve"})
    assert approved.status_code == 200, approved.text
    # a REST customer cannot be pushed to: told ahead of the answer to their next message
    assert approved.json()["told"] is False and approved.json()["case"]["state"] == "waiting_customer"
    customer.says("好的")
    texts = bot_texts(rasa_url, customer.sender)
    told = next(i for i, t in enumerate(texts) if "照片客服已经看过了" in t)
    assert order in texts[told] and "寄回" in texts[told]
    assert POLICY.return_address in texts[told + 1] and POLICY.return_phone in texts[told + 1]
    assert all(POLICY.return_address not in t for t in texts[:told])
    assert inbox_entry(web_url, customer.sender) is None  # reviewed: off the inbox
    assert review(web_url, case_id, {"verdict": "approve"}).status_code == 409  # once


def test_a_discount_above_the_shipping_fee_is_a_supervisors_and_recorded(rasa_url, web_url, shop):
    out = io.StringIO()
    assert bot_cli(["--db", shop.db, "agents", "add", "laozhu", "--supervisor"], out=out) == 0
    supervisor = {"Authorization": f"Bearer {out.getvalue().strip()}"}
    names = own_copy(shop, 702, "wang_fang")
    order = names["2938475610293835555"]
    customer = Customer(rasa_url, sender=names["wang_fang"])
    assert "补偿" in customer.says(f"订单{order}的保温杯盒子压扁了")
    assert "已记下您选择折价补偿" in customer.says("不用退了，补偿一点就行")
    case_id = upload(web_url, customer)["case_id"]
    above = POLICY.compensation_cap + 8
    offered = review(web_url, case_id, {"verdict": "discount", "amount": f"{above:.2f}", "problem": "外盒压扁，杯子完好"})
    assert offered.status_code == 200, offered.text
    assert offered.json()["case"]["state"] == "needs_approval"
    assert offered.json()["compensation"]["state_text"] == "待主管审批"
    customer.says("在吗")
    assert any("需要主管审批，已为您提交" in t for t in bot_texts(rasa_url, customer.sender))
    pending = requests.get(f"{web_url}/agent/approvals", headers=supervisor, timeout=10).json()
    assert case_id in [c["id"] for c in pending]
    decided = requests.post(f"{web_url}/agent/approvals/{case_id}", json={"decision": "approve"},
                            headers=supervisor, timeout=30)
    assert decided.status_code == 200, decided.text
    customer.says("好的")
    assert any(f"折价补偿 ¥{above:.2f}申请已经通过主管审核" in t for t in bot_texts(rasa_url, customer.sender))
    [given] = compensations_of_order(OrderStore.from_url(shop.db), order)
    assert (given.amount, given.problem, given.offered_by, given.state, given.decided_by) == (
        above, "外盒压扁，杯子完好", "dev", CompensationState.APPROVED, "laozhu")
    view = requests.get(f"{web_url}/agent/conversations/{customer.sender}", headers=DEV, timeout=10).json()
    [card] = view["order"]["compensations"]
    assert card["amount"] == f"¥{above:.2f}" and card["decided_by"] == "laozhu" and card["decided"]
