"""What a customer is told about a lookup, and which recent order is picked or listed."""

from dataclasses import replace

import pytest

from bot.access.ids import NumberProblem
from bot.access.order_access import STATUSES, Lookup
from bot.playbook.lookups import (
    LISTED_ORDERS,
    LOOKUP_RESPONSES,
    OPENED,
    OTHER_ORDER,
    PROBLEM_RESPONSES,
    lookup_response,
    order_buttons,
    order_label,
    other_order_chosen,
    pick_recent_order,
)
from rasa_adapter.project_files import responses
from tests.helpers.shop import NOW


@pytest.mark.parametrize(
    "lookup, response",
    [
        (Lookup("found"), None),
        (Lookup("unproven", given="3027461958302746518"), None),  # the phone check comes next
        (Lookup("unknown", given="1111222233334444555"), "utter_order_not_found"),
        (Lookup("malformed", given="我的订单"), "utter_order_number_missing"),
        (Lookup("malformed", problem=NumberProblem("12345678", "too_short")), "utter_order_number_too_short"),
        (Lookup("malformed", problem=NumberProblem("1" * 21, "too_long")), "utter_order_number_too_long"),
        (Lookup("malformed", problem=NumberProblem("13812345678", "phone")), "utter_order_number_is_phone"),
        (Lookup("no_tail"), "utter_phone_tail_invalid"),
        (Lookup("mismatch"), "utter_phone_tail_mismatch"),
        (Lookup("locked"), "utter_order_check_locked"),
    ],
)
def test_each_lookup_status_has_its_response(lookup, response):
    assert lookup_response(lookup) == response


def test_every_status_is_answered_or_opens_the_order():
    assert set(STATUSES) == OPENED | set(LOOKUP_RESPONSES)
    assert not OPENED & set(LOOKUP_RESPONSES)


def test_every_lookup_response_is_in_the_domain():
    domain = responses()
    missing = {*LOOKUP_RESPONSES.values(), *PROBLEM_RESPONSES.values()} - set(domain)
    assert not missing


# -- recent orders of a verified buyer --------------------------------------------------

# lin_xiaoyu's three recent orders, newest first: the 面膜 (not shipped), the
# 中通 parcel (in transit) and the 左旋 capsules
LIN_NEWEST, LIN_ZTO, LIN_CAPSULES = "3027461958302751137", "3027461958302746518", "3027461958302749902"


@pytest.fixture
def lin_recent(store):
    return store.recent_orders("lin_xiaoyu", NOW, 30)


def test_a_single_recent_order_is_picked_and_named(store, policy):
    recent = store.recent_orders("chen_hao", NOW, 30)
    order, reply = pick_recent_order(recent, rejected=[], policy=policy)
    assert reply.response == "utter_order_picked"
    assert order.order_id == reply.facts["order_id"] == "1829374650192837465"
    assert pick_recent_order(recent, rejected=[order.order_id], policy=policy) is None


@pytest.mark.parametrize(
    "couriers, products, picked",
    [
        (["中通快递"], [], LIN_ZTO),
        ([], ["左旋"], LIN_CAPSULES),
        ([], [], None),  # several orders and nothing to tell them apart
        (["顺丰速运"], ["面膜"], None),
    ],
)
def test_among_several_the_named_courier_or_product_picks_one(lin_recent, policy, couriers, products, picked):
    result = pick_recent_order(lin_recent, rejected=[], policy=policy, couriers=couriers, products=products)
    if picked is None:
        assert result is None
    else:
        order, reply = result
        assert (order.order_id, reply.response) == (picked, "utter_order_matched")


def test_a_rejected_order_is_never_picked_again(lin_recent, policy):
    assert pick_recent_order(lin_recent, rejected=[LIN_ZTO], policy=policy, couriers=["中通快递"]) is None


def test_the_buttons_are_the_recent_orders_newest_first_then_another(lin_recent, policy):
    buttons = order_buttons(lin_recent, rejected=[], policy=policy)
    assert [b["payload"] for b in buttons] == [LIN_NEWEST, LIN_ZTO, LIN_CAPSULES, OTHER_ORDER]
    # her goods and the day she ordered (NOW is 11月20日; the sample shop is dated before it)
    assert [b["title"] for b in buttons] == [
        "补水面膜 · 11月19日", "羊毛混纺针织开衫 · 11月17日", "左旋肉碱胶囊 · 11月14日", "其他订单"]
    assert not any(o.order_id in b["title"] for b in buttons for o in lin_recent)  # no number to copy


def test_rejected_orders_are_left_out_and_one_left_is_no_choice(lin_recent, policy):
    buttons = order_buttons(lin_recent, rejected=[LIN_NEWEST], policy=policy)
    assert [b["payload"] for b in buttons] == [LIN_ZTO, LIN_CAPSULES, OTHER_ORDER]
    assert order_buttons(lin_recent, rejected=[LIN_NEWEST, LIN_ZTO], policy=policy) is None
    assert order_buttons([], rejected=[], policy=policy) is None


def test_at_most_five_orders_are_offered(store, policy):
    many = store.orders_of_buyer("lin_xiaoyu") + store.orders_of_buyer("wang_fang")
    many = sorted(many, key=lambda o: o.created_at, reverse=True)
    buttons = order_buttons(many, rejected=[], policy=policy)
    assert len(buttons) == LISTED_ORDERS + 1 and buttons[-1]["payload"] == OTHER_ORDER
    assert [b["payload"] for b in buttons[:-1]] == [o.order_id for o in many[:LISTED_ORDERS]]


def test_two_orders_alike_are_told_apart_by_their_number_s_tail(lin_recent, policy):
    twin = replace(lin_recent[0], order_id="3027461958302750000")
    titles = [b["title"] for b in order_buttons([lin_recent[0], twin], rejected=[], policy=policy)]
    assert titles[:2] == ["补水面膜 · 11月19日 · 尾号1137", "补水面膜 · 11月19日 · 尾号0000"]


def test_a_label_names_the_first_goods_and_how_many_more(store, policy):
    liu = store.get_order("7700112233445566778")  # 电热水壶, 保温杯 and a gift
    assert order_label(liu, policy).startswith("电热水壶 等2件 · ")
    long_name = replace(liu, items=(replace(liu.items[0], name="超长的商品名称一二三四五六七八九十"),))
    assert order_label(long_name, policy).split(" · ")[0] == "超长的商品名称一二三四五六…"  # LABEL_NAME_CHARS in all


@pytest.mark.parametrize("text, chosen", [("其他订单", True), (" 其他订单 ", True), ("订单", False), ("", False)])
def test_the_other_order_choice(text, chosen):
    assert other_order_chosen(text) is chosen
