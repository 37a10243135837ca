"""End to end: money owed is a promise the shop keeps (bot/workbench/payouts.py). A 折价 granted
on the workbench tells the customer by when it is paid; an agent marks it 已打款 (any agent:
finance pays, the agent sends the transfer record, 001) and the customer is told, with the
reference. An approved 退差价 goes the same way. In Chromium, the order card's 「已打款」 button."""

from __future__ import annotations

import io

import pytest
import requests

from bot.cli import main as bot_cli
from bot.playbook.facts import round_promise
from bot.playbook.policy import load_policy
from bot.settings import PROJECT_ROOT, utcnow
from bot.shop.cases import CaseLog, CaseState, PromiseKind
from bot.shop.compensation import CompensationState, compensations_of_order
from bot.shop.store import OrderStore
from tests.e2e.test_e2e_followups import bot_texts
from tests.e2e.test_e2e_rest import Customer
from tests.e2e.test_e2e_triage import DEV, review, upload
from tests.helpers.browser import REPORTS
from tests.helpers.servers import own_copy

pytestmark = pytest.mark.e2e
POLICY = load_policy(PROJECT_ROOT / "shop.yml")
CUP_ORDER = "2938475610293835555"  # wang_fang's cup (sample shop)


def new_agent(shop, name: str, supervisor: bool = False) -> dict:
    out = io.StringIO()
    assert bot_cli(["--db", shop.db, "agents", "add", name, *(["--supervisor"] if supervisor else [])], out=out) == 0
    return {"Authorization": f"Bearer {out.getvalue().strip()}"}


def paid(web_url: str, compensation_id: int, body: dict, headers: dict) -> requests.Response:
    return requests.post(f"{web_url}/agent/compensations/{compensation_id}/paid", json=body,
                         headers=headers, timeout=30)


def pay_by_words(shop, case_id: int) -> str:
    [due] = [p.due_at for p in CaseLog(OrderStore.from_url(shop.db)).promises(case_id)
             if p.kind == PromiseKind.PAYOUT]
    return round_promise(due, POLICY)[1]


def granted_discount(rasa_url, web_url, shop, k: int):
    """A customer of their own with a 折价 of ¥8.00 granted on the workbench."""
    names = own_copy(shop, k, "wang_fang")
    order = names[CUP_ORDER]
    customer = Customer(rasa_url, sender=names["wang_fang"])
    assert "补偿" in customer.says(f"订单{order}的保温杯盒子压扁了")
    case_id = upload(web_url, customer)["case_id"]
    offered = review(web_url, case_id, {"verdict": "discount", "amount": "8.00", "problem": "外盒压扁，杯子完好"})
    assert offered.status_code == 200, offered.text
    return customer, order, case_id, offered.json()["compensation"]


def test_a_granted_discount_is_told_its_time_then_marked_paid_and_told(rasa_url, web_url, shop):
    customer, order, case_id, given = granted_discount(rasa_url, web_url, shop, 741)
    assert given["payable"] and given["due"] and given["state"] == "granted"
    customer.says("好的")
    words = pay_by_words(shop, case_id)
    told = [t for t in bot_texts(rasa_url, customer.sender) if "折价补偿 ¥8.00" in t]
    assert told and f"会在 {words}退回您的付款账户" in told[0], told
    # the route: an agent's token; a reference that is one short line; a real compensation
    xiaozhao = new_agent(shop, "xiaozhao")  # no supervisor: paying is any agent's
    assert paid(web_url, given["id"], {}, {}).status_code == 401
    assert paid(web_url, given["id"], {"reference": "{order_id}"}, xiaozhao).status_code == 400
    assert paid(web_url, 999999, {}, xiaozhao).status_code == 404
    done = paid(web_url, given["id"], {"reference": "ALI20261129"}, xiaozhao)
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["told"] is False  # a REST customer: told ahead of the answer to their next message
    assert answer["case"]["state"] == "resolved" and answer["compensation"]["paid_by"] == "xiaozhao"
    again = paid(web_url, given["id"], {}, xiaozhao)
    assert again.status_code == 409 and "paid already" in again.json()["error"]
    first, *rest = [m.get("text", "") for m in customer.messages("还有别的问题吗")]
    assert order in first and "折价补偿 ¥8.00已经打到您的付款账户，打款记录：ALI20261129" in first and rest
    [record] = compensations_of_order(OrderStore.from_url(shop.db), order)
    assert (record.state, record.paid_by, record.payment_ref) == (CompensationState.PAID, "xiaozhao", "ALI20261129")
    view = requests.get(f"{web_url}/agent/conversations/{customer.sender}", headers=DEV, timeout=10).json()
    [card] = view["order"]["compensations"]
    assert card["state_text"] == "已打款" and not card["payable"] and card["due"] is None


def price_difference_asked(rasa_url, shop, k: int):
    """A customer of their own who asked for a 退差价 (the kettle: ¥40.00), pending a supervisor."""
    names = own_copy(shop, k, "liu_yang")
    order = names["7700112233445566778"]
    customer = Customer(rasa_url, sender=names["liu_yang"])
    assert "主管审批" in customer.says(f"电热水壶刚买就降价了，订单{order}能退差价吗")
    [asked] = compensations_of_order(OrderStore.from_url(shop.db), order)
    return customer, order, asked


def test_an_approved_price_difference_is_owed_and_paid(rasa_url, web_url, shop):
    customer, order, asked = price_difference_asked(rasa_url, shop, 742)
    assert (asked.state, asked.amount, asked.kind.value) == (CompensationState.PENDING, 40, "price_difference")
    assert paid(web_url, asked.id, {}, DEV).status_code == 409  # not owed before a supervisor approves
    boss = new_agent(shop, "laoqian", supervisor=True)
    decided = requests.post(f"{web_url}/agent/approvals/{asked.case_id}", json={"decision": "approve"},
                            headers=boss, timeout=30)
    assert decided.status_code == 200, decided.text
    first = customer.messages("好的")[0]["text"]
    assert "退差价 ¥40.00申请已经通过主管审核" in first and pay_by_words(shop, asked.case_id) in first
    assert paid(web_url, asked.id, {}, DEV).status_code == 200
    first = customer.messages("嗯")[0]["text"]
    assert "退差价 ¥40.00已经打到您的付款账户，请注意查收" in first


def test_the_order_card_has_the_paid_button(rasa_url, web_url, shop, browser):
    from tests.e2e.test_workbench_web import open_workbench

    customer, order, case_id, given = granted_discount(rasa_url, web_url, shop, 743)
    page = open_workbench(browser, web_url)
    page.click("#tab-all")
    page.click(f".conv[data-id='{customer.sender}']")
    page.wait_for_selector("#cases .payout button >> text=已打款")
    page.wait_for_timeout(1500)  # the stream's first reload of the opened conversation
    item = page.locator("#cases li.compensation")
    assert "折价补偿 ¥8.00" in item.inner_text() and "打款期限" in item.inner_text()
    page.screenshot(path=str(REPORTS / "workbench_payout.png"), full_page=True)
    page.locator("#cases .payout input").fill("ALI-743")
    page.locator("#cases .payout button").click()
    page.wait_for_selector("#live >> text=已记录打款")
    page.wait_for_selector("#cases li.compensation >> text=已打款：dev")
    assert page.locator("#cases .payout").count() == 0  # paid: no button any more
    page.screenshot(path=str(REPORTS / "workbench_payout_done.png"), full_page=True)
    [record] = compensations_of_order(OrderStore.from_url(shop.db), order)
    assert (record.state, record.paid_by, record.payment_ref) == (CompensationState.PAID, "dev", "ALI-743")


def test_a_price_difference_asked_again_is_answered_from_its_record(rasa_url, web_url, shop):
    """Asked again after the supervisor approved: the amount and its time, not a second approval."""
    customer, order, asked = price_difference_asked(rasa_url, shop, 746)
    boss = new_agent(shop, "laozhou", supervisor=True)
    approvals = f"{web_url}/agent/approvals"

    def waiting() -> list:
        return [c for c in requests.get(approvals, headers=boss, timeout=10).json()
                if c["conversation_id"] == customer.sender]

    assert [c["id"] for c in waiting()] == [asked.case_id]
    again = customer.says("差价什么时候退")  # pending: no second request
    assert "还在等审核" in again and "¥40.00" in again, again
    decided = requests.post(f"{approvals}/{asked.case_id}", json={"decision": "approve"}, headers=boss, timeout=30)
    assert decided.status_code == 200, decided.text
    customer.says("好的")  # told of the approval
    answer = customer.says("为什么还没给我退差价")
    assert f"已批准退差价 ¥40.00，会在 {pay_by_words(shop, asked.case_id)}退回您的付款账户" in answer, answer
    assert waiting() == []
    assert len(compensations_of_order(OrderStore.from_url(shop.db), order)) == 1


def test_a_price_difference_case_with_nothing_pending_is_refused(web_url, shop):
    """Defence in depth: a 退差价 case back at 审批 with no amount behind it is not decided."""
    names = own_copy(shop, 747, "liu_yang")
    cases = CaseLog(OrderStore.from_url(shop.db))
    case = cases.register(conversation_id=names["liu_yang"], intent="price_drop_refund",
                          state=CaseState.NEEDS_APPROVAL, next_step="请主管审批退差价", note="价格下降",
                          now=utcnow(), order_id=names["7700112233445566778"])
    boss = new_agent(shop, "laozheng", supervisor=True)
    for body in ({"decision": "approve"}, {"decision": "deny", "reason": "活动价"}):
        refused = requests.post(f"{web_url}/agent/approvals/{case.id}", json=body, headers=boss, timeout=30)
        assert refused.status_code == 409 and "no pending amount" in refused.json()["error"], refused.text
    assert cases.get(case.id).state == CaseState.NEEDS_APPROVAL
    listed = requests.get(f"{web_url}/agent/approvals", headers=boss, timeout=30).json()
    assert case.id not in [c["id"] for c in listed]  # nothing to decide: not in the list either
