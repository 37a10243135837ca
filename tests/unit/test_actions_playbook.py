"""The actions added for the whole playbook, each with its own tracker and database."""

from dataclasses import replace
from datetime import datetime

import pytest

from actions.address import ActionSaveAddress, ValidateAddressForm
from actions.conversation import ActionForgetOrder, ActionSaveRating
from actions.goods import ActionMissingItem, ActionReturnOrExchange
from actions.handoff import ActionHandoff, ActionTakeMessage
from actions.logistics import ActionChangeAddress, ActionUrgeShipment
from actions.order_form import ValidateOrderForm
from actions.refunds import ActionPriceDropRefund, ActionRefundStatus
from bot.shop.cases import CaseState
from tests.helpers.shop import DOMAIN, responses, slot_values

# 2026-11-20 02:00 UTC is 10:00 in Shanghai (day shift); 15:00 UTC is 23:00.
IN_SHIFT = datetime(2026, 11, 20, 2, 0)
OFF_SHIFT = datetime(2026, 11, 20, 15, 0)


def at(deps, moment):
    return replace(deps, clock=lambda: moment)


@pytest.mark.parametrize(
    "action, order_id, response, state",
    [
        (ActionUrgeShipment, "3027461958302751137", "utter_urge_not_shipped", CaseState.WAITING_SHOP),
        (ActionMissingItem, "7700112233445566778", "utter_missing_item", CaseState.WAITING_CUSTOMER),
        (ActionPriceDropRefund, "7700112233445566778", "utter_price_drop_approval", CaseState.NEEDS_APPROVAL),
        (ActionRefundStatus, "5566778899001155660", "utter_refunded", CaseState.RESOLVED),
    ],
)
async def test_each_new_scenario_answers_and_logs_its_case(
    deps, dispatcher, make_tracker, action, order_id, response, state
):
    await action(deps).run(dispatcher, make_tracker(slots={"order_id": order_id}), {})
    assert responses(dispatcher)[0] == response
    (case,) = deps.cases.open_cases()
    assert (case.order_id, case.intent, case.state) == (order_id, action.scenario, state)
    assert case.note and case.next_step


async def test_asking_twice_does_not_open_a_second_case(deps, make_tracker):
    from tests.helpers.shop import WireDispatcher

    tracker = make_tracker(slots={"order_id": "7700112233445566778"}, buyer="liu_yang")
    for _ in range(2):
        await ActionPriceDropRefund(deps).run(WireDispatcher(), tracker, {})
    assert len(deps.cases.open_cases()) == 1


async def test_exchange_reads_the_variant_from_the_message(deps, dispatcher, make_tracker):
    tracker = make_tracker(slots={"order_id": "2938475610293840001"}, text="这件开衫能换成燕麦色的吗")
    await ActionReturnOrExchange(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_exchange_available", "utter_exchange_steps", "utter_return_address"]
    assert dispatcher.messages[0]["to_variant"] == "燕麦色 L"
    # phrases arrive filled: the exchange fee as shop.yml says it
    assert dispatcher.messages[1]["exchange_fee"] == "换货的来回运费由您承担"


async def test_change_address_before_shipping_asks_then_changes_it(deps, dispatcher, make_tracker):
    order_id = "3027461958302751137"
    events = await ActionChangeAddress(deps).run(dispatcher, make_tracker(slots={"order_id": order_id}), {})
    assert responses(dispatcher) == ["utter_change_address_ask"]
    assert slot_values(events)["address_change"] == "ask"

    form = ValidateAddressForm()
    short = await form.validate_new_address("上海", dispatcher, make_tracker(), {})
    assert short == {"new_address": None}
    new = "上海市徐汇区漕溪北路 398 号 1 号楼 502 林小雨 13812345678"
    assert await form.validate_new_address(new, dispatcher, make_tracker(), {}) == {"new_address": new}

    saved = await ActionSaveAddress(deps).run(
        dispatcher, make_tracker(slots={"order_id": order_id, "new_address": new}), {}
    )
    assert "utter_address_changed" in responses(dispatcher)
    assert deps.store.get_order(order_id).address == new
    assert slot_values(saved)["new_address"] is None


async def test_after_shipping_the_new_address_is_taken_and_noted_for_the_courier(
    deps, dispatcher, make_tracker
):
    """W12: on its way, the address cannot change, but the new one is taken and noted."""
    order_id = "3027461958302746518"
    events = await ActionChangeAddress(deps).run(dispatcher, make_tracker(slots={"order_id": order_id}), {})
    assert responses(dispatcher)[0] == "utter_change_address_shipped"
    assert slot_values(events)["address_change"] == "ask"
    assert not deps.store.change_address(order_id, "任何地址都不行")
    new = "上海市徐汇区漕溪北路 398 号 1 号楼 502 林小雨 13812345678"
    await ActionSaveAddress(deps).run(dispatcher, make_tracker(slots={"order_id": order_id, "new_address": new}), {})
    assert responses(dispatcher)[-1] == "utter_address_redirect_noted"
    (note,) = deps.store.get_order(order_id).notes
    assert note.kind == "redirect" and new in note.text
    assert deps.store.get_order(order_id).address != new  # the order itself is unchanged


async def test_an_address_cannot_change_after_signing(deps, dispatcher, make_tracker):
    events = await ActionChangeAddress(deps).run(
        dispatcher, make_tracker(slots={"order_id": "3027461958302749902"}), {})
    assert responses(dispatcher)[0] == "utter_change_address_too_late"
    assert slot_values(events)["address_change"] == "done"


async def test_within_shift_hours_a_human_takes_over(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="转人工", intent="request_human")
    events = await ActionHandoff(at(deps, IN_SHIFT)).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_handoff_now"]
    assert dispatcher.messages[0]["shift"] == "白班"
    assert {"event": "pause", "timestamp": None} in events
    assert slot_values(events)["handoff"] == "agent"
    (case,) = deps.cases.open_cases()
    assert case.state == CaseState.ESCALATED and case.intent == "request_human"
    assert "「转人工」" in case.note and "release anonymous-visitor" in case.next_step


async def test_a_complaint_opens_with_an_apology_and_escalates(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="我要投诉", intent="complaint", slots={"order_id": "3027461958302749902"})
    await ActionHandoff(at(deps, IN_SHIFT)).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_complaint_apology", "utter_handoff_now"]
    (case,) = deps.cases.open_cases()
    assert (case.intent, case.order_id, case.state) == ("complaint", "3027461958302749902", CaseState.ESCALATED)


async def test_outside_shift_hours_a_message_is_taken(deps, dispatcher, make_tracker):
    off = at(deps, OFF_SHIFT)
    events = await ActionHandoff(off).run(dispatcher, make_tracker(text="找人工", intent="request_human"), {})
    assert responses(dispatcher) == ["utter_handoff_closed"]
    assert dispatcher.messages[0]["next_shift"] == "11月21日 09:00"
    assert slot_values(events) == {"handoff": "message"}
    assert all(e.get("event") != "pause" for e in events)

    tracker = make_tracker(slots={"customer_message": "快递柜里没有我的包裹，请回电"})
    await ActionTakeMessage(off).run(dispatcher, tracker, {})
    (case,) = deps.cases.open_cases()
    assert case.customer_message == "快递柜里没有我的包裹，请回电"
    assert "快递柜里没有我的包裹" in case.note and case.next_step.startswith("11月21日 09:00")
    assert responses(dispatcher)[-1] == "utter_message_taken" and case.intent == "request_human"


async def test_a_complaint_left_outside_hours_stays_a_complaint(deps, dispatcher, make_tracker):
    """W19: the next shift sees a complaint, not a request for a human."""
    off = at(deps, OFF_SHIFT)
    said = {"event": "user", "text": "我要投诉", "parse_data": {"intent": {"name": "complaint"}}}
    tracker = make_tracker(slots={"customer_message": "商品有异味"}, events=[said])
    await ActionTakeMessage(off).run(dispatcher, tracker, {})
    (case,) = deps.cases.open_cases()
    assert case.intent == "complaint"


@pytest.mark.parametrize("text, rating", [("5分", 5), ("给4分吧", 4), ("五星", 5), ("嗯嗯", None), ("非常满意", 5), ("一般般", 3)])
async def test_a_rating_is_stored_with_the_case(deps, dispatcher, make_tracker, text, rating):
    case = deps.cases.register(
        conversation_id="c", intent="track_parcel", state=CaseState.RESOLVED,
        next_step="", note="", now=IN_SHIFT,
    )
    tracker = make_tracker(text=text, intent="rate", slots={"rating_case": case.id})
    events = await ActionSaveRating(deps).run(dispatcher, tracker, {})
    assert deps.cases.get(case.id).rating == rating
    if rating:
        assert responses(dispatcher) == ["utter_rating_thanks"] and slot_values(events) == {"rating_case": None}
    else:
        assert responses(dispatcher) == ["utter_rating_not_understood"]


async def test_a_rating_without_a_case_is_just_acknowledged(deps, dispatcher, make_tracker):
    await ActionSaveRating(deps).run(dispatcher, make_tracker(text="5分", intent="rate"), {})
    assert responses(dispatcher) == ["utter_ok"]


async def test_not_this_order_forgets_it_and_never_picks_it_again(deps, dispatcher, make_tracker):
    picked = "1829374650192837465"  # chen_hao's only recent order
    opened = deps.cases.register(
        conversation_id="chen_hao", intent="signed_not_received", state=CaseState.WAITING_SHOP,
        next_step="联系顺丰", note="显示快递柜签收", now=IN_SHIFT, order_id=picked,
    )
    tracker = make_tracker(text="不是这个订单", intent="correct_order", slots={"order_id": picked}, buyer="chen_hao")
    events = await ActionForgetOrder(deps).run(dispatcher, tracker, {})
    assert deps.cases.open_cases() == []  # the case about the wrong order is closed
    assert deps.cases.get(opened.id).note.endswith("（客户说不是这笔订单）")
    assert slot_values(events) == {"rejected_orders": [picked], "order_id": None}
    assert responses(dispatcher) == ["utter_ask_other_order"]

    form_tracker = make_tracker(
        text="不是这个订单", intent="correct_order", buyer="chen_hao",
        slots={"rejected_orders": [picked]},
    )
    from tests.helpers.shop import WireDispatcher

    assert await ValidateOrderForm(deps).run(WireDispatcher(), form_tracker, DOMAIN) == []


async def test_not_this_one_but_that_one_takes_the_new_number(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="不是这个，是3027461958302746518", slots={"order_id": "3027461958302746518"})
    events = await ActionForgetOrder(deps).run(dispatcher, tracker, {})
    assert slot_values(events) == {"order_id": "3027461958302746518"}
    assert dispatcher.messages == []


async def test_a_buyer_with_several_orders_taps_one(deps, dispatcher, make_tracker):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(buyer="lin_xiaoyu"), {})
    assert responses(dispatcher) == ["utter_ask_order_id_choose"]
    buttons = dispatcher.messages[0]["buttons"]
    # her three recent orders, newest first, then 「其他订单」
    assert [b["payload"] for b in buttons] == [
        "3027461958302751137", "3027461958302746518", "3027461958302749902", "其他订单"]
    assert buttons[1]["title"].startswith("羊毛混纺针织开衫 · ")


async def test_after_other_order_the_number_is_asked_for(deps, dispatcher, make_tracker):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(text="其他订单", buyer="lin_xiaoyu"), {})
    assert responses(dispatcher) == ["utter_ask_order_id"]
    assert "buttons" not in dispatcher.messages[0] or not dispatcher.messages[0]["buttons"]


@pytest.mark.parametrize("sender", ["anonymous-visitor", "chen_hao"])
async def test_otherwise_the_order_number_is_asked_for(deps, dispatcher, make_tracker, sender):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(buyer=sender if sender != "anonymous-visitor" else None), {})
    assert responses(dispatcher) == ["utter_ask_order_id"]


async def test_another_buyers_orders_are_never_listed(deps, dispatcher, make_tracker):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(buyer="wang_fang"), {})
    buttons = dispatcher.messages[0]["buttons"]
    assert {b["payload"] for b in buttons[:-1]} == {o.order_id for o in deps.store.orders_of_buyer("wang_fang")}


async def test_return_or_exchange_answered_inside_a_quality_case_stays_a_quality_case(deps, make_tracker):
    """W13: the quality reply asks 退货还是换货; 「换货」 keeps the quality case and its rules."""
    from actions.goods import ActionQualityIssue
    from tests.helpers.shop import WireDispatcher

    slots = {"order_id": "2938475610293840001"}
    await ActionQualityIssue(deps).run(WireDispatcher(), make_tracker(slots=slots, text="衣服开线了"), {})
    answer = WireDispatcher()
    tracker = make_tracker(slots=slots, text="换货", intent="return_or_exchange")
    await ActionReturnOrExchange(deps).run(answer, tracker, {})
    # no return address yet: an agent's photo review gives it (tests/unit/test_photo_review.py)
    assert responses(answer) == ["utter_quality_choice"]
    assert answer.messages[0]["choice"] == "换一件新的"
    assert answer.messages[0]["fee_quality"].startswith("运费由我们承担")
    assert {c.intent for c in deps.cases.open_cases()} == {"quality_issue"}


async def test_the_quality_case_of_this_conversation_wins_over_a_newer_one_of_another(deps, make_tracker):
    """The same order in two conversations (two tabs, or a buyer and an agent's test):
    「换货」 answers this conversation's quality case, not the other's newer case."""
    from actions.goods import ActionQualityIssue
    from actions.logistics import ActionTrackParcel
    from tests.helpers.shop import WireDispatcher

    slots = {"order_id": "2938475610293840001"}
    await ActionQualityIssue(deps).run(WireDispatcher(), make_tracker(slots=slots, text="衣服开线了",
                                                                      sender_id="tab-1"), {})
    await ActionTrackParcel(deps).run(WireDispatcher(), make_tracker(slots=slots, text="到哪了", sender_id="tab-2"), {})
    answer = WireDispatcher()
    tracker = make_tracker(slots=slots, text="换货", intent="return_or_exchange", sender_id="tab-1")
    await ActionReturnOrExchange(deps).run(answer, tracker, {})
    assert responses(answer)[0] == "utter_quality_choice"
