"""Each action with its own tracker and its own temporary shop database."""

import dataclasses

import pytest
from sqlalchemy import create_engine

from actions.deps import Deps
from actions.goods import ActionQualityIssue, ActionWrongItem
from actions.logistics import ActionSignedNotReceived, ActionTrackParcel
from actions.order_form import ValidateOrderForm
from actions.refunds import ActionRefundAfterShipping
from bot.access.identity import order_pass
from bot.access.order_access import ANONYMOUS, MAX_FAILED_CHECKS
from bot.shop.cases import CaseState
from bot.shop.store import OrderStore
from tests.helpers.shop import DOMAIN, NOW, SECRET, WireDispatcher, responses, slot_values


@pytest.mark.parametrize(
    "action, order_id, response, fact, value",
    [
        (ActionTrackParcel, "3027461958302746518", "utter_track_in_transit", "tracking_number", "773029384756102"),
        (ActionSignedNotReceived, "2938475610293840001", "utter_snr_signed", "signer", "签收人：小区门卫"),
        (ActionWrongItem, "3027461958302749902", "utter_wrong_item", "items", "左旋肉碱胶囊（60粒）×2"),
        (ActionQualityIssue, "7700112233445566778", "utter_quality_issue", "return_receiver", "小鹿优选售后组"),
        (ActionRefundAfterShipping, "2938475610293847561", "utter_refund_refuse_delivery", "courier", "顺丰速运"),
    ],
)
async def test_each_scenario_answers_with_the_orders_facts(
    deps, dispatcher, make_tracker, action, order_id, response, fact, value
):
    tracker = make_tracker(slots={"order_id": order_id})
    events = await action(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher)[0] == response
    assert dispatcher.messages[0][fact] == value
    case = deps.cases.open_cases()[-1]
    assert (case.order_id, case.intent) == (order_id, action.scenario)
    bubbles = [r for r in responses(dispatcher) if r != "utter_ask_rating"]
    assert all(m.get(fact) == value for m in dispatcher.messages if m["response"] in bubbles)
    if case.state == CaseState.RESOLVED:  # resolved for the customer: ask for a rating
        assert responses(dispatcher)[len(bubbles):] == ["utter_ask_rating"]
        assert slot_values(events) == {"rating_case": case.id}
    else:
        assert responses(dispatcher) == bubbles and events == []


async def test_a_rating_is_asked_once_per_conversation_and_never_after_a_refusal(
    deps, make_tracker
):
    from tests.helpers.shop import WireDispatcher

    first = WireDispatcher()
    await ActionTrackParcel(deps).run(first, make_tracker(slots={"order_id": "3027461958302746518"}), {})
    assert responses(first)[-1] == "utter_ask_rating"
    asked = {"event": "bot", "text": "这次服务您满意吗？", "metadata": {"utter_action": "utter_ask_rating"}}
    again = WireDispatcher()
    tracker = make_tracker(slots={"order_id": "3027461958302746518"}, events=[asked])
    await ActionTrackParcel(deps).run(again, tracker, {})
    assert "utter_ask_rating" not in responses(again)
    closed = WireDispatcher()  # the window closed: a refusal, resolved but not for the customer
    await ActionRefundAfterShipping(deps).run(closed, make_tracker(slots={"order_id": "2938475610293835555"}), {})
    assert responses(closed) == ["utter_refund_window_closed"]


async def test_a_claimed_note_is_on_the_order_before_the_reply(deps, dispatcher, make_tracker):
    """「已在订单上备注」: the note is in the store, visible to agents (W15)."""
    from actions.logistics import ActionUrgeShipment

    await ActionUrgeShipment(deps).run(dispatcher, make_tracker(slots={"order_id": "3027461958302751137"}), {})
    assert responses(dispatcher) == ["utter_urge_not_shipped"]
    notes = deps.store.get_order("3027461958302751137").notes
    assert [n.kind for n in notes] == ["urgent"] and "催发货" in notes[0].text


async def test_asking_twice_keeps_the_first_deadline(deps, make_tracker):
    """Signed but not received, asked again a day later: the same answer_by (W14)."""
    from datetime import timedelta

    from tests.helpers.shop import WireDispatcher

    slots = {"order_id": "2938475610293840001"}
    first = WireDispatcher()
    await ActionSignedNotReceived(deps).run(first, make_tracker(slots=slots), {})
    later = dataclasses.replace(deps, clock=lambda: NOW + timedelta(hours=20))
    second = WireDispatcher()
    await ActionSignedNotReceived(later).run(second, make_tracker(slots=slots), {})
    assert first.messages[0]["answer_by"] == second.messages[0]["answer_by"] == "11月21日下午6点前"
    assert len(deps.store.get_order("2938475610293840001").notes) == 1  # one promise, kept
    overdue = dataclasses.replace(deps, clock=lambda: NOW + timedelta(days=2))
    third = WireDispatcher()
    await ActionSignedNotReceived(overdue).run(third, make_tracker(slots=slots), {})
    assert responses(third) == ["utter_snr_promise_overdue"]


async def test_the_promise_is_one_record_on_the_case_and_a_broken_one_changes_the_answer(deps, make_tracker):
    """「签收未收到」: the case's answer_by promise is the one record; the order note refers to
    it. Past it, the answer is the apology and the escalation with the missed time, never
    a new date; once kept, the note carries no due time and nothing is overdue."""
    from datetime import timedelta

    from bot.shop.cases import CaseState, PromiseKind
    from bot.shop.schema import OrderNote
    from tests.helpers.shop import WireDispatcher

    slots = {"order_id": "2938475610293840001"}
    first = WireDispatcher()
    await ActionSignedNotReceived(deps).run(first, make_tracker(slots=slots), {})
    [case] = deps.cases.cases_for_order("2938475610293840001")
    [promise] = deps.cases.promises(case.id)
    with deps.store.session() as s:
        [row] = s.query(OrderNote).filter_by(order_id="2938475610293840001").all()
        assert row.promise_id == promise.id and not hasattr(row, "due_at")
    [note] = deps.store.get_order("2938475610293840001").notes
    assert note.due_at == promise.due_at and "已备注" not in note.text
    from bot.playbook.scenarios import round_promise

    told = round_promise(promise.due_at, deps.policy)[0]  # the time the customer was given
    early = WireDispatcher()  # past the exact due time but not the one said: no false apology
    await ActionSignedNotReceived(dataclasses.replace(deps, clock=lambda: promise.due_at + timedelta(seconds=1))
                                  ).run(early, make_tracker(slots=slots), {})
    assert responses(early) != ["utter_snr_promise_overdue"] or told == promise.due_at
    late = dataclasses.replace(deps, clock=lambda: told + timedelta(minutes=1))
    broken = WireDispatcher()
    await ActionSignedNotReceived(late).run(broken, make_tracker(slots=slots), {})
    [said] = broken.messages
    assert said["response"] == "utter_snr_promise_overdue" and "answer_by" not in said
    assert said["missed_answer_by"] == first.messages[0]["answer_by"]
    assert deps.cases.get(case.id).state == CaseState.ESCALATED
    assert [p.id for p in deps.cases.promises(case.id)] == [promise.id]  # no second date
    assert deps.cases.keep(case.id, PromiseKind.ANSWER_BY, promise.due_at)
    assert deps.store.get_order("2938475610293840001").notes[0].due_at is None
    kept = WireDispatcher()
    await ActionSignedNotReceived(late).run(kept, make_tracker(slots=slots), {})
    assert responses(kept) != ["utter_snr_promise_overdue"]


async def test_scenario_action_names(deps):
    assert ActionTrackParcel(deps).name() == "action_track_parcel"
    assert ActionRefundAfterShipping(deps).name() == "action_refund_after_shipping"


async def test_a_scenario_without_an_order_asks_for_it(deps, dispatcher, make_tracker):
    await ActionTrackParcel(deps).run(dispatcher, make_tracker(), {})
    assert responses(dispatcher) == ["utter_ask_order_id"]


async def test_a_known_buyer_gets_no_facts_of_another_buyers_order(deps, dispatcher, make_tracker):
    tracker = make_tracker(slots={"order_id": "3027461958302746518"}, buyer="chen_hao")
    events = await ActionTrackParcel(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher) == ["utter_ask_order_id"]
    assert "tracking_number" not in dispatcher.messages[0]
    assert slot_values(events) == {"order_id": None, "order_checked_for": None}


async def test_a_broken_database_gets_a_clear_answer(policy, notes, dispatcher, make_tracker, tmp_path):
    # a database file that exists but has no tables: every query fails
    broken = Deps(
        store=OrderStore(create_engine(f"sqlite:///{tmp_path / 'empty.db'}")),
        policy=policy,
        notes=notes,
        clock=lambda: NOW,
        secret=SECRET,
    )
    tracker = make_tracker(slots={"order_id": "3027461958302746518"})
    assert await ActionTrackParcel(broken).run(dispatcher, tracker, {}) == []
    assert responses(dispatcher) == ["utter_order_lookup_failed"]


# -- validate_order_form ---------------------------------------------------------


NOT_FOUND = {"order_id": None, "order_checked_for": None}


async def run_form(deps, dispatcher, tracker):
    """The slots the form sets, but ``requested_slot`` (see ``next_question``)."""
    values = slot_values(await ValidateOrderForm(deps).run(dispatcher, tracker, DOMAIN))
    values.pop("requested_slot", None)
    return values


async def next_question(deps, dispatcher, tracker):
    events = await ValidateOrderForm(deps).run(dispatcher, tracker, DOMAIN)
    return slot_values(events).get("requested_slot", "(the domain's next)")


def pass_of(order_id, holder, sender="anonymous-visitor"):
    return order_pass(SECRET, sender, order_id, holder)


def asked(make_tracker, text, **kwargs):
    """A tracker in which the form asked for the order number and the customer answered.

    ``order_id`` is what NLU extracted from the answer, if anything.
    """
    order_id = kwargs.pop("order_id", None)
    return make_tracker(
        text=text,
        slots={"requested_slot": "order_id", **kwargs.pop("slots", {})},
        active_loop="order_form",
        events=[{"event": "slot", "name": "order_id", "value": order_id}] if order_id else [],
        **kwargs,
    )


def numbered(make_tracker, number, **kwargs):
    """The customer answered the question for the order with ``number``."""
    return asked(
        make_tracker, number, order_id=number,
        slots={"order_id": number, "order_checked_for": None}, **kwargs,
    )


async def test_a_buyers_own_order_number_is_accepted_with_a_pass(deps, dispatcher, make_tracker):
    tracker = numbered(make_tracker, "3027461958302746518", buyer="lin_xiaoyu")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "3027461958302746518",
        "order_checked_for": pass_of("3027461958302746518", "lin_xiaoyu", "lin_xiaoyu"),
    }
    assert dispatcher.messages == []
    assert await next_question(deps, WireDispatcher(), tracker) == "(the domain's next)"


async def test_an_anonymous_customer_is_asked_for_the_phone_digits_first(deps, dispatcher, make_tracker):
    tracker = numbered(make_tracker, "3027461958302746518")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "3027461958302746518", "order_checked_for": None, "phone_tail": None,
    }
    assert dispatcher.messages == []  # nothing about the order yet, not even that it exists
    assert await next_question(deps, WireDispatcher(), tracker) == "phone_tail"


def tail_answer(make_tracker, given, text):
    return make_tracker(
        text=text, active_loop="order_form",
        slots={"requested_slot": "phone_tail", "order_id": given, "order_checked_for": None},
    )


async def test_the_right_phone_digits_open_the_order(deps, dispatcher, make_tracker):
    tracker = tail_answer(make_tracker, "3027461958302746518", "尾号5678")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "3027461958302746518", "phone_tail": "verified",
        "order_checked_for": pass_of("3027461958302746518", ANONYMOUS),
    }
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    "given, text, response, cleared",
    [
        ("3027461958302746518", "1234", "utter_phone_tail_mismatch", True),
        ("1111222233334444555", "5678", "utter_phone_tail_mismatch", True),  # no such order
        ("3027461958302746518", "不记得了", "utter_phone_tail_invalid", False),
    ],
)
async def test_wrong_or_missing_phone_digits_open_nothing(
    deps, dispatcher, make_tracker, given, text, response, cleared
):
    result = await run_form(deps, dispatcher, tail_answer(make_tracker, given, text))
    assert responses(dispatcher) == [response]
    assert "order_checked_for" not in result or result["order_checked_for"] is None
    assert result.get("phone_tail") is None
    assert ("order_id" in result and result["order_id"] is None) == cleared


async def test_a_tracking_number_finds_its_order(deps, dispatcher, make_tracker):
    tracker = asked(make_tracker, "单号是SF1402938475610", buyer="chen_hao")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "1829374650192837465",
        "order_checked_for": pass_of("1829374650192837465", "chen_hao", "chen_hao"),
    }


@pytest.mark.parametrize(
    "text, response",
    [
        ("12345678", "utter_order_number_too_short"),
        ("123456789012345678901", "utter_order_number_too_long"),
        ("13812345678", "utter_order_number_is_phone"),
    ],
)
async def test_a_malformed_number_is_explained_and_asked_again(
    deps, dispatcher, make_tracker, text, response
):
    assert await run_form(deps, dispatcher, asked(make_tracker, text)) == NOT_FOUND
    assert responses(dispatcher) == [response]
    assert dispatcher.messages[0]["digits"] in text


async def test_an_unknown_order_number_gets_a_second_chance(deps, dispatcher, make_tracker):
    tracker = numbered(make_tracker, "1111222233334444555", buyer="lin_xiaoyu")
    assert await run_form(deps, dispatcher, tracker) == NOT_FOUND
    assert responses(dispatcher) == ["utter_order_not_found"]
    assert dispatcher.messages[0]["given"] == "1111222233334444555"


async def test_another_buyers_order_is_not_found(deps, dispatcher, make_tracker):
    tracker = numbered(make_tracker, "3027461958302746518", buyer="wang_fang")
    assert await run_form(deps, dispatcher, tracker) == NOT_FOUND
    assert responses(dispatcher) == ["utter_order_not_found"]


async def test_a_tapped_order_button_opens_the_buyers_own_order(deps, dispatcher, make_tracker):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(buyer="lin_xiaoyu"), {})
    payload = dispatcher.messages[0]["buttons"][1]["payload"]  # 羊毛混纺针织开衫
    tracker = numbered(make_tracker, payload, buyer="lin_xiaoyu")  # the payload, sent as her message
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "3027461958302746518",
        "order_checked_for": pass_of("3027461958302746518", "lin_xiaoyu", "lin_xiaoyu"),
    }


async def test_a_forged_button_payload_opens_nothing(deps, dispatcher, make_tracker):
    from actions.order_form import ActionAskOrderId

    await ActionAskOrderId(deps).run(dispatcher, make_tracker(buyer="lin_xiaoyu"), {})
    lins = dispatcher.messages[0]["buttons"][0]["payload"]
    dispatcher.messages.clear()
    # wang_fang sends lin_xiaoyu's payload as if she had tapped it
    assert await run_form(deps, dispatcher, numbered(make_tracker, lins, buyer="wang_fang")) == NOT_FOUND
    assert responses(dispatcher) == ["utter_order_not_found"]
    # nothing of the order is said: only the number she sent
    said = {k: v for k, v in dispatcher.messages[0].items() if v and k not in ("response", "template")}
    assert said == {"given": lins}


async def test_other_order_asks_again_for_a_typed_number(deps, dispatcher, make_tracker):
    # 「其他订单」 answers the question with no order: the form asks again (not rejected)
    tracker = asked(make_tracker, "其他订单", buyer="lin_xiaoyu")
    assert await run_form(deps, dispatcher, tracker) == {"order_id": None}
    assert dispatcher.messages == []


async def test_text_without_a_number_is_left_to_the_dialogue(deps, dispatcher, make_tracker):
    # nothing extracted: Rasa's form rejects and the rules take the message
    assert await run_form(deps, dispatcher, asked(make_tracker, "我不记得了")) == {}
    assert dispatcher.messages == []


async def test_a_buyer_with_one_recent_order_gets_it_named(deps, dispatcher, make_tracker):
    tracker = make_tracker(text="显示签收了但我没收到", intent="signed_not_received", buyer="chen_hao")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "1829374650192837465",
        "order_checked_for": pass_of("1829374650192837465", "chen_hao", "chen_hao"),
    }
    assert responses(dispatcher) == ["utter_order_picked"]
    assert dispatcher.messages[0]["order_id"] == "1829374650192837465"


@pytest.mark.parametrize("sender", ["lin_xiaoyu", "anonymous-visitor"])
async def test_no_order_is_guessed_for_several_or_unknown(deps, dispatcher, make_tracker, sender):
    tracker = make_tracker(text="我的快递到哪了", intent="track_parcel", buyer=sender if sender != "anonymous-visitor" else None)
    assert await run_form(deps, dispatcher, tracker) == {}
    assert dispatcher.messages == []


async def test_a_cleared_order_slot_is_not_explained_as_a_bad_number(deps, dispatcher, make_tracker):
    # action_forget_order cleared the slot after the customer's last message
    tracker = make_tracker(
        text="不是这个订单", intent="correct_order",
        events=[{"event": "slot", "name": "order_id", "value": None}],
    )
    assert await run_form(deps, dispatcher, tracker) == {"order_id": None}
    assert dispatcher.messages == []


def with_entities(tracker, **entities):
    tracker.latest_message["entities"] = [
        {"entity": name, "value": value} for name, values in entities.items() for value in values
    ]
    return tracker


@pytest.mark.parametrize(
    "entities, picked",
    [
        ({"courier": ["中通快递"]}, "3027461958302746518"),  # her only 中通 parcel
        ({"product": ["左旋"]}, "3027461958302749902"),
        ({"product": ["面膜"], "courier": ["顺丰速运"]}, None),  # the 面膜 order has no 顺丰 parcel
        ({}, None),
    ],
)
async def test_a_named_courier_or_product_picks_one_of_several_orders(
    deps, dispatcher, make_tracker, entities, picked
):
    tracker = with_entities(
        make_tracker(text="我的快递到哪了", intent="track_parcel", buyer="lin_xiaoyu"), **entities
    )
    result = await run_form(deps, dispatcher, tracker)
    assert result.get("order_id") == picked
    assert responses(dispatcher) == (["utter_order_matched"] if picked else [])


async def test_a_pass_found_for_someone_else_is_dropped_without_a_word(deps, dispatcher, make_tracker):
    # lin_xiaoyu found her order on this conversation id, then logged out; the
    # form, activated again, validates the order still in the slot
    tracker = make_tracker(
        text="到哪了", active_loop="order_form",
        slots={"order_id": "3027461958302746518",
               "order_checked_for": pass_of("3027461958302746518", "lin_xiaoyu")},
        events=[{"event": "slot", "name": "order_id", "value": "3027461958302746518"}],
    )
    assert await run_form(deps, dispatcher, tracker) == NOT_FOUND
    assert dispatcher.messages == []


async def test_the_number_typed_again_is_checked_for_whoever_writes_now(deps, dispatcher, make_tracker):
    tracker = numbered(make_tracker, "3027461958302746518")
    tracker.slots["order_checked_for"] = pass_of("3027461958302746518", "lin_xiaoyu")
    assert await run_form(deps, dispatcher, tracker) == {
        "order_id": "3027461958302746518", "order_checked_for": None, "phone_tail": None,
    }
    assert await next_question(deps, WireDispatcher(), tracker) == "phone_tail"


async def test_a_locked_order_is_refused_even_with_the_right_digits(deps, dispatcher, make_tracker):
    for guess in range(MAX_FAILED_CHECKS):
        await run_form(deps, WireDispatcher(), tail_answer(make_tracker, "3027461958302746518", f"{guess:04d}"))
    result = await run_form(deps, dispatcher, tail_answer(make_tracker, "3027461958302746518", "5678"))
    assert result == {"phone_tail": None, **NOT_FOUND}
    assert responses(dispatcher) == ["utter_order_check_locked"]


async def test_a_scenario_reads_the_entities_of_the_message(deps, dispatcher, make_tracker):
    tracker = make_tracker(
        slots={"order_id": "3027461958302749902"}, text="颜色发错了", intent="wrong_item",
        entities=[{"entity": "colour", "value": "黑色"}, {"entity": "aspect", "value": "颜色"}],
    )
    await ActionWrongItem(deps).run(dispatcher, tracker, {})
    assert responses(dispatcher)[0] == "utter_wrong_item_aspect"
    assert dispatcher.messages[0]["aspect"] == "颜色"


async def test_a_reply_missing_a_fact_is_never_sent_raw(deps, dispatcher, make_tracker, monkeypatch):
    """Rasa sends a template whose fact is missing unfilled: the action refuses to send it."""
    import actions.scenario
    from bot.playbook.scenarios import Reply

    monkeypatch.setattr(actions.scenario, "scenario_reply",
                        lambda *a, **k: Reply("utter_track_in_transit", {"order_id": "1"}))
    await ActionTrackParcel(deps).run(dispatcher, make_tracker(slots={"order_id": "3027461958302746518"}), {})
    assert responses(dispatcher) == ["utter_order_lookup_failed"] and deps.cases.open_cases() == []


class CountingStore(OrderStore):
    """The real store, counting how often the buyer is looked up."""

    buyer_reads = 0

    def has_buyer(self, account):
        self.buyer_reads += 1
        return super().has_buyer(account)


async def test_a_form_step_verifies_the_buyer_once(store, policy, notes, dispatcher, make_tracker):
    counting = CountingStore(store.engine)
    deps = Deps(store=counting, policy=policy, notes=notes, clock=lambda: NOW, secret=SECRET)
    tracker = numbered(make_tracker, "3027461958302746518", buyer="lin_xiaoyu")
    assert (await run_form(deps, dispatcher, tracker))["order_id"] == "3027461958302746518"
    assert counting.buyer_reads == 1  # required_slots three times, extraction, validation: one read
    await run_form(deps, WireDispatcher(), numbered(make_tracker, "3027461958302746518", buyer="lin_xiaoyu"))
    assert counting.buyer_reads == 2  # the next action call reads again
    gone = dataclasses.replace(deps, secret="another secret")  # another Deps: its own verdict
    assert (await run_form(gone, WireDispatcher(), tracker)).get("order_checked_for") is None
