"""Changing the delivery address (bot.playbook.address): the change and its case go together."""

from dataclasses import replace

import pytest
from sqlalchemy.exc import OperationalError

from bot.access.order_access import OrderAccess
from bot.playbook.address import change_address_now
from bot.shop.cases import CaseLog
from bot.shop.store import OrderState
from tests.helpers.shop import NOW, SECRET

NOT_SHIPPED = "3027461958302751137"  # lin_xiaoyu's
IN_TRANSIT = "3027461958302746518"
NEW_ADDRESS = "上海市徐汇区漕溪北路 398 号 1 号楼 502 林小雨 13812345678"


def change(store, notes, policy, order, cases=None):
    access = OrderAccess(store, "lin_xiaoyu", "lin_xiaoyu", SECRET, NOW)
    return change_address_now(
        store, cases or CaseLog(store), notes, policy,
        access=access, token=access.issue_pass(order), order=order, address=NEW_ADDRESS,
    )


def test_before_shipping_the_address_changes_and_its_case_is_logged(store, notes, policy):
    reply, case = change(store, notes, policy, store.get_order(NOT_SHIPPED))
    assert reply.response == "utter_address_changed"
    assert reply.facts["new_address"] == NEW_ADDRESS and reply.facts["order_id"] == NOT_SHIPPED
    assert store.get_order(NOT_SHIPPED).address == NEW_ADDRESS
    assert (case.order_id, case.intent, case.conversation_id) == (NOT_SHIPPED, "change_address", "lin_xiaoyu")
    assert NEW_ADDRESS in case.note


def test_an_order_that_shipped_meanwhile_keeps_its_address_and_says_so(store, notes, policy):
    shipped = store.get_order(IN_TRANSIT)
    stale = replace(shipped, state=OrderState.NOT_SHIPPED)  # as it was read a moment ago
    reply, case = change(store, notes, policy, stale)
    assert reply.response == "utter_change_address_shipped"  # from its state now
    assert reply.facts["tracking_number"] == shipped.shipment.tracking_number
    assert store.get_order(IN_TRANSIT).address == shipped.address
    assert (case.order_id, case.intent) == (IN_TRANSIT, "change_address")


def test_no_case_no_change(store, notes, policy, monkeypatch):
    cases = CaseLog(store)

    def cannot_write(**kwargs):
        raise OperationalError("insert", {}, Exception("disk full"))

    monkeypatch.setattr(cases, "register", cannot_write)
    old = store.get_order(NOT_SHIPPED).address
    with pytest.raises(OperationalError):
        change(store, notes, policy, store.get_order(NOT_SHIPPED), cases=cases)
    assert store.get_order(NOT_SHIPPED).address == old
