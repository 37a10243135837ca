"""Complaints end to end over REST: the real Rasa server, action server and database
(tests/helpers/servers.py). A threat goes to a supervisor with the seed's checklist; a
plain complaint is listened to and recorded in the customer's own words."""

from __future__ import annotations

import pytest

from bot.cli import main as bot_cli
from bot.playbook.complaints import SUPERVISOR, checklist_for
from bot.shop.cases import CaseLog, PromiseKind
from bot.shop.store import OrderStore
from rasa_adapter.project_files import checklists
from tests.e2e.test_e2e_rest import Customer

pytestmark = pytest.mark.e2e

OPENING = "您好，真不好意思，给您添麻烦了，请先不要着急，我来帮您处理哦。"


def cases_of(shop, sender):
    store = OrderStore.from_url(shop.db)
    try:
        return [c for c in CaseLog(store).open_cases() if c.conversation_id == sender], CaseLog(store)
    finally:
        store.engine.dispose()


def test_a_threat_goes_to_a_supervisor_with_the_checklist(rasa_url, shop, capsys):
    customer = Customer(rasa_url)
    answer = customer.says("你们再不处理，我就给差评，还要打12315投诉你们")
    assert answer.startswith(OPENING)
    assert "主管" in answer and "退款" not in answer and "补偿" not in answer
    (case,), log = cases_of(shop, customer.sender)
    assert (case.intent, case.kind, case.escalated_to) == ("complaint", "complaint", SUPERVISOR)
    assert case.escalation_reason == "威胁给中差评、威胁投诉到12315、工商或平台"  # one message: not repeated
    # the customer's words as the model read them (full-width punctuation folded)
    assert case.customer_message == "你们再不处理,我就给差评,还要打12315投诉你们"
    (promise,) = log.promises(case.id)
    assert promise.kind == PromiseKind.SUPERVISOR_ANSWER and promise.due_at is not None
    checklist = checklist_for(case, checklists())
    assert any("截图" in step and "小二" in step for step in checklist)
    assert any("平台外" in step for step in checklist)
    assert bot_cli(["--db", shop.db, "cases"]) == 0
    listed = capsys.readouterr().out
    assert f"#{case.id}" in listed and "截图保存聊天记录" in listed


def test_a_plain_complaint_is_listened_to_and_recorded(rasa_url, shop):
    customer = Customer(rasa_url)
    first = customer.says("我要投诉")
    assert first.startswith(OPENING) and "什么情况" in first and "订单" in first
    told = customer.says("面膜少了两片，客服一直推脱")
    assert "记录" in told and "编号" not in told  # no database ids shown to customers
    (case,), _ = cases_of(shop, customer.sender)
    assert case.intent == "complaint" and case.escalated_to is None and case.priority == 1
    assert case.customer_message == "我要投诉 / 面膜少了两片，客服一直推脱"  # the form keeps the raw text
