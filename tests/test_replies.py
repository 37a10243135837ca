import re
import string
from pathlib import Path

import pytest
import yaml

from bot.replies import SCENARIOS, draft
from bot.settings import PROJECT_ROOT
from bot.store import OrderState
from tests.conftest import NOW


def domain_responses():
    responses = {}
    for path in sorted(Path(PROJECT_ROOT / "domain").glob("*.yml")):
        responses.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {})
    return responses


def template_variables(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def by_state(store, state):
    return next(o for o in store.all_orders() if o.state == state)


def test_every_draft_names_a_response_whose_variables_it_fills(store, policy):
    responses = domain_responses()
    for order in store.all_orders():
        for scenario in SCENARIOS:
            reply = draft(scenario, order, NOW, policy)
            assert reply.response in responses, reply.response
            for variant in responses[reply.response]:
                missing = template_variables(variant["text"]) - set(reply.facts)
                assert not missing, (scenario, order.order_id, reply.response, missing)


@pytest.mark.parametrize(
    "state, response",
    [
        (OrderState.NOT_SHIPPED, "utter_track_not_shipped"),
        (OrderState.IN_TRANSIT, "utter_track_in_transit"),
        (OrderState.OUT_FOR_DELIVERY, "utter_track_out_for_delivery"),
        (OrderState.SIGNED, "utter_track_signed"),
        (OrderState.REFUSED_RETURNING, "utter_track_returning"),
        (OrderState.RETURNED, "utter_track_back_at_shop"),
    ],
)
def test_track_parcel_follows_the_state(store, policy, state, response):
    assert draft("track_parcel", by_state(store, state), NOW, policy).response == response


def test_track_parcel_gives_tracking_number_and_latest_event(store, policy):
    reply = draft("track_parcel", store.get_order("3027461958302746518"), NOW, policy)
    assert reply.facts["tracking_number"] == "773029384756102"
    assert reply.facts["courier"] == "中通快递"
    assert "上海浦东张江网点" in reply.facts["last_event"]
    # 6 hours before 14:00 Shanghai time
    assert reply.facts["last_event_time"] == "11月20日 08:00"
    assert reply.facts["eta"] == "11月21日"


def test_not_shipped_promises_the_campaign_date(store, policy):
    reply = draft("track_parcel", store.get_order("7700112233445500991"), NOW, policy)
    assert reply.facts["ship_by"] == "11月22日 14:00"


def test_signed_not_received_names_who_signed_and_when_we_answer(store, policy):
    reply = draft("signed_not_received", store.get_order("1829374650192837465"), NOW, policy)
    assert reply.response == "utter_snr_signed_other"
    assert reply.facts["signed_by"] == "丰巢快递柜"
    assert reply.facts["answer_by"] == "11月21日 14:00"  # 24 h, from shop.yml
    self_signed = draft("signed_not_received", store.get_order("3027461958302749902"), NOW, policy)
    assert self_signed.response == "utter_snr_signed_self"
    in_transit = draft("signed_not_received", store.get_order("3027461958302746518"), NOW, policy)
    assert in_transit.response == "utter_snr_not_signed_yet"


def test_wrong_item_gives_the_return_address_and_ordered_items(store, policy):
    reply = draft("wrong_item", store.get_order("2938475610293840001"), NOW, policy)
    assert reply.response == "utter_wrong_item"
    assert reply.facts["items"] == "羊毛混纺针织开衫（藏青色 L）×1"
    assert reply.facts["return_address"] == policy.return_address
    assert reply.facts["return_phone"] == policy.return_phone


def test_quality_issue_depends_on_signing(store, policy):
    assert draft("quality_issue", by_state(store, OrderState.SIGNED), NOW, policy).response == "utter_quality_issue"
    assert draft("quality_issue", by_state(store, OrderState.IN_TRANSIT), NOW, policy).response == "utter_quality_before_signing"
    assert draft("quality_issue", by_state(store, OrderState.NOT_SHIPPED), NOW, policy).response == "utter_goods_not_shipped_yet"


@pytest.mark.parametrize(
    "order_id, response",
    [
        ("3027461958302751137", "utter_refund_cancel_unshipped"),
        ("3027461958302746518", "utter_refund_refuse_delivery"),
        ("2938475610293847561", "utter_refund_refuse_delivery"),  # out for delivery
        ("3027461958302749902", "utter_refund_return_in_window"),  # signed 3 days ago
        ("2938475610293835555", "utter_refund_window_closed"),  # signed 10 days ago
        ("5566778899001122334", "utter_refund_parcel_returning"),
        ("5566778899001100778", "utter_refund_returned_processing"),
        ("5566778899001155660", "utter_refund_already_done"),
    ],
)
def test_refund_after_shipping_follows_the_state(store, policy, order_id, response):
    assert draft("refund_after_shipping", store.get_order(order_id), NOW, policy).response == response


def test_refund_in_window_counts_the_days_left(store, policy):
    reply = draft("refund_after_shipping", store.get_order("3027461958302749902"), NOW, policy)
    # signed 3 days before 11-20 14:00 → 11-17 is day 1, 11-23 the last day
    assert reply.facts["window_last_day"] == "11月23日"
    assert reply.facts["days_left"] == 4
    assert reply.facts["amount"] == "¥258.00"


def test_no_reply_text_in_python():
    """Reply wording lives in the domain: no Chinese sentences in bot/replies.py."""
    source = (PROJECT_ROOT / "bot" / "replies.py").read_text(encoding="utf-8")
    code = re.sub(r'""".*?"""|#.*', "", source, flags=re.S)
    sentences = re.findall(r"[\u4e00-\u9fff]{6,}", code)
    assert not sentences, sentences
