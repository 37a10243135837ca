import re
import string
from datetime import datetime, timedelta

import pytest

from bot.playbook.render import bubbles, resolved
from bot.playbook.scenarios import SCENARIOS, Context, can_change_address, draft, fmt_date
from bot.settings import PROJECT_ROOT
from bot.shop.store import OrderState
from rasa_adapter.project_files import responses
from tests.helpers.shop import NOW


def domain_responses():
    return responses()


def template_variables(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def by_state(store, state):
    return next(o for o in store.all_orders() if o.state == state)


EXCHANGE_TEXTS = ["", "想换M码", "换成燕麦色", "能换奶白色吗"]


def all_drafts(store, policy):
    """Every scenario for every sample order, with texts that ask for exchanges."""
    for order in store.all_orders():
        variants = {i.product_id: store.variants(i.product_id) for i in order.goods}
        for scenario in SCENARIOS:
            for text in EXCHANGE_TEXTS if scenario == "return_or_exchange" else [""]:
                yield scenario, order, draft(scenario, order, NOW, policy, Context(text=text, variants=variants))


def test_every_draft_names_responses_whose_variables_it_fills(store, policy, notes):
    responses = domain_responses()
    for scenario, order, reply in all_drafts(store, policy):
        for bubble in reply.bubbles:
            assert bubble in responses, bubble
            for variant in responses[bubble]:
                missing = template_variables(variant["text"]) - set(reply.facts)
                assert not missing, (scenario, order.order_id, bubble, missing)
        assert "{" not in "".join(bubbles(reply, responses))
    # every case note and every bubble across all states, edges and boundaries:
    # tests/unit/test_every_reply.py


def test_every_draft_has_a_case_note_whose_variables_it_fills(store, policy, notes):
    responses = domain_responses()
    for _scenario, _order, reply in all_drafts(store, policy):
        assert reply.response in notes.templates, reply.response
        note = notes.for_reply(resolved(reply, responses))
        assert note.note and note.next_step and "〔" not in note.note + note.next_step


def test_a_case_note_missing_a_fact_still_logs_the_case(notes):
    from bot.playbook.scenarios import Reply

    note = notes.for_reply(Reply("utter_track_in_transit", {"order_id": "1"}))
    assert "〔courier?〕" in note.note  # visible to the agent, never a KeyError


def test_case_notes_name_only_real_responses(notes):
    assert set(notes.templates) <= set(domain_responses())


@pytest.mark.parametrize(
    "state, response",
    [
        (OrderState.NOT_SHIPPED, "utter_track_not_shipped"),
        (OrderState.IN_TRANSIT, "utter_track_in_transit"),
        (OrderState.OUT_FOR_DELIVERY, "utter_track_out_for_delivery"),
        (OrderState.SIGNED, "utter_track_signed"),
        (OrderState.REFUSED_RETURNING, "utter_parcel_returning"),
        (OrderState.RETURNED, "utter_return_received"),
        (OrderState.REFUNDED, "utter_refunded"),
    ],
)
def test_track_parcel_follows_the_state(store, policy, state, response):
    assert draft("track_parcel", by_state(store, state), NOW, policy).response == response


def test_track_parcel_gives_tracking_number_and_latest_event(store, policy):
    reply = draft("track_parcel", store.get_order("3027461958302746518"), NOW, policy)
    assert reply.facts["tracking_number"] == "773029384756102"
    assert reply.facts["courier"] == "中通快递"
    text = "\n".join(bubbles(reply, domain_responses()))
    # the latest event, 6 hours before 14:00 Shanghai time, and the ETA
    assert "最新物流：11月20日 08:00 【上海市】快件已发往 上海浦东张江网点" in text
    assert "预计 11月21日 送达" in text


def test_a_parcel_without_tracking_event_or_eta_says_so_in_words(store, policy):
    reply = draft("track_parcel", store.get_order("8801234567890000101"), NOW, policy)
    text = "\n".join(bubbles(reply, domain_responses()))
    assert "快递已揽收，物流信息稍后更新" in text and "送达时间以快递的更新为准" in text
    assert "{" not in text and "暂无" not in text


def test_not_shipped_promises_the_campaign_date_rounded_for_people(store, policy):
    reply = draft("track_parcel", store.get_order("7700112233445500991"), NOW, policy)
    assert reply.facts["ship_by"] == "11月22日下午6点前"  # 14:00, rounded up
    assert reply.promised == datetime(2026, 11, 22, 10, 0)  # 18:00 Shanghai, kept as data


def test_signed_not_received_names_who_signed_and_when_we_answer(store, policy):
    reply = draft("signed_not_received", store.get_order("1829374650192837465"), NOW, policy)
    assert reply.bubbles == ("utter_snr_signed", "utter_snr_steps")
    assert "签收人：丰巢快递柜" in bubbles(reply, domain_responses())[0]
    assert reply.facts["answer_by"] == "11月21日下午6点前"  # 24 h from shop.yml, rounded up
    assert reply.order_note is not None and reply.order_note.about_promise and reply.promised is not None
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
        ("5566778899001122334", "utter_parcel_returning"),
        ("5566778899001100778", "utter_return_received"),  # arrived 2 days ago: due today
        ("8801234567890000505", "utter_return_received_overdue"),  # arrived 5 days ago
        ("5566778899001155660", "utter_refunded"),
        ("8801234567890000606", "utter_refunded"),  # cancelled before shipping
        ("8801234567890000707", "utter_refunded_partly"),
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
    """Reply wording lives in the domain: no Chinese sentences in bot/playbook/scenarios.py."""
    source = (PROJECT_ROOT / "bot" / "playbook" / "scenarios.py").read_text(encoding="utf-8")
    code = re.sub(r'""".*?"""|#.*', "", source, flags=re.S)
    sentences = re.findall(r"[\u4e00-\u9fff]{6,}", code)
    assert not sentences, sentences


# -- the rest of the playbook ------------------------------------------------------


@pytest.mark.parametrize(
    "order_id, response",
    [
        ("3027461958302751137", "utter_urge_not_shipped"),  # paid 20 h ago, 48 h promise
        ("7700112233445500991", "utter_urge_campaign"),  # 双11 pre-sale
        ("3027461958302746518", "utter_urge_already_shipped"),
    ],
)
def test_urge_shipment(store, policy, order_id, response):
    assert draft("urge_shipment", store.get_order(order_id), NOW, policy).response == response


def test_urge_shipment_overdue(store, policy):
    from datetime import timedelta

    late = NOW + timedelta(days=3)
    reply = draft("urge_shipment", store.get_order("3027461958302751137"), late, policy)
    assert reply.response == "utter_not_shipped_overdue" and reply.order_note is not None
    # a campaign date passed is overdue too, never restated as a promise (W2)
    campaign = draft("urge_shipment", store.get_order("8801234567890000404"), NOW, policy)
    assert campaign.response == "utter_not_shipped_overdue" and campaign.promised is None


def test_an_unpaid_order_gets_a_payment_reminder(store, policy):
    for scenario in ("urge_shipment", "track_parcel", "signed_not_received"):
        reply = draft(scenario, store.get_order("8801234567890000202"), NOW, policy)
        assert reply.response == "utter_order_unpaid", scenario


def test_missing_item_within_and_after_24_hours(store, policy):
    recent = store.get_order("7700112233445566778")  # signed 20 h before NOW
    reply = draft("missing_item", recent, NOW, policy)
    assert reply.response == "utter_missing_item"
    assert "；赠品：补水面膜（赠品 1片）×2" in bubbles(reply, domain_responses())[0]
    late = draft("missing_item", store.get_order("3027461958302749902"), NOW, policy)  # 3 days
    assert late.response == "utter_missing_item_late" and late.facts["report_hours"] == 24
    from dataclasses import replace

    strict = replace(policy, late_missing_reports="refuse")
    refused = draft("missing_item", store.get_order("3027461958302749902"), NOW, strict)
    assert refused.response == "utter_missing_item_refused"


def exchange(store, policy, order_id, text):
    order = store.get_order(order_id)
    variants = {i.product_id: store.variants(i.product_id) for i in order.goods}
    return draft("return_or_exchange", order, NOW, policy, Context(text=text, variants=variants))


def test_exchange_checks_that_the_variant_exists_and_is_in_stock(store, policy):
    # wang_fang's cardigan 藏青色 L, signed 2 days ago
    available = exchange(store, policy, "2938475610293840001", "能换成燕麦色吗")
    assert available.response == "utter_exchange_available"
    assert (available.facts["from_variant"], available.facts["to_variant"]) == ("藏青色 L", "燕麦色 L")
    sold_out = exchange(store, policy, "2938475610293840001", "想换M码")
    assert sold_out.response == "utter_exchange_out_of_stock"
    assert "藏青色 M" not in sold_out.facts["in_stock"] and "燕麦色 M" in sold_out.facts["in_stock"]
    plain = exchange(store, policy, "2938475610293840001", "怎么退货")
    assert plain.response == "utter_return_or_exchange"
    assert plain.facts["must_return"] == policy.must_return


def test_return_or_exchange_outside_the_window(store, policy):
    assert exchange(store, policy, "2938475610293835555", "换个颜色").response == "utter_refund_window_closed"


def test_price_drop_refund_needs_approval(store, policy):
    reply = draft("price_drop_refund", store.get_order("7700112233445566778"), NOW, policy)
    assert reply.response == "utter_price_drop_approval"
    assert reply.facts["difference"] == "¥40.00"
    assert "¥199.00 → ¥159.00" in reply.facts["price_items"]
    same = draft("price_drop_refund", store.get_order("3027461958302746518"), NOW, policy)
    assert same.response == "utter_price_no_drop"
    # W5: not for an order made long before, nor for one refused, returned or refunded
    later = NOW + timedelta(days=policy.price_drop_days)
    assert draft("price_drop_refund", store.get_order("7700112233445566778"), later, policy).response == (
        "utter_price_drop_too_old")
    refused = draft("price_drop_refund", store.get_order("5566778899001122334"), NOW, policy)
    assert refused.response == "utter_parcel_returning"


@pytest.mark.parametrize(
    "order_id, response",
    [
        ("3027461958302751137", "utter_change_address_ask"),
        ("3027461958302746518", "utter_change_address_shipped"),
        ("3027461958302749902", "utter_change_address_too_late"),
    ],
)
def test_change_address(store, policy, order_id, response):
    assert draft("change_address", store.get_order(order_id), NOW, policy).response == response


def test_the_address_form_follows_exactly_when_the_reply_asks_for_it(store, policy):
    for order in store.all_orders():
        asks = draft("change_address", order, NOW, policy).response == "utter_change_address_ask"
        assert can_change_address(order) == asks, order.order_id


def test_dates_read_month_and_day_with_an_optional_clock():
    assert fmt_date(datetime(2026, 1, 5, 9, 7)) == "1月5日"
    assert fmt_date(datetime(2026, 11, 21, 9, 0), clock=True) == "11月21日 09:00"


def test_the_date_format_is_written_once():
    """Every date a customer reads goes through fmt_date."""
    written = [
        f"{path.relative_to(PROJECT_ROOT)}:{n}"
        for path in sorted((PROJECT_ROOT / "bot").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"月\{|\}月|%m月|日\s*\{", line)
    ]
    assert len(written) == 1 and written[0].startswith("bot/playbook/facts.py:"), written


def test_refund_status_follows_the_order_and_its_cases(store, policy):
    from bot.shop.cases import CaseLog, CaseState

    order = store.get_order("7700112233445566778")
    assert draft("refund_status", order, NOW, policy).response == "utter_refund_status_none"
    case = CaseLog(store).register(
        conversation_id="c", intent="price_drop_refund", state=CaseState.NEEDS_APPROVAL,
        next_step="", note="", now=NOW, order_id=order.order_id,
    )
    ctx = Context(cases=CaseLog(store).cases_for_order(order.order_id))
    reply = draft("refund_status", order, NOW, policy, ctx)
    # a price difference is not a refund: no refund is said to be pending (W6)
    assert reply.response == "utter_case_status_needs_approval" and case.id
    CaseLog(store).register(
        conversation_id="c", intent="quality_issue", state=CaseState.WAITING_SHOP,
        next_step="", note="", now=NOW + timedelta(minutes=1), order_id=order.order_id,
    )
    ctx = Context(cases=CaseLog(store).cases_for_order(order.order_id))
    assert draft("refund_status", order, NOW, policy, ctx).response == "utter_refund_status_waiting_shop"
    refunded = draft("refund_status", store.get_order("5566778899001155660"), NOW, policy)
    assert refunded.response == "utter_refunded"


def test_who_pays_shipping_comes_from_the_shop_policy(store, policy):
    from dataclasses import replace

    order = store.get_order("2938475610293840001")
    plain = exchange(store, policy, order.order_id, "怎么退货")
    assert (plain.facts["fee_personal"].response, plain.facts["fee_fault"].response) == (
        "utter_phrase_fee_buyer", "utter_phrase_fee_shop")
    generous = replace(policy, shipping_paid_by={**policy.shipping_paid_by, "dislike": "shop"})
    text = "\n".join(bubbles(exchange(store, generous, order.order_id, "怎么退货"), domain_responses()))
    assert "不喜欢、尺码或颜色不合适，运费由我们承担" in text
    split = replace(policy, exchange_shipping="split")
    swap = exchange(store, split, order.order_id, "能换成燕麦色吗")
    assert "各承担一半" in "\n".join(bubbles(swap, domain_responses()))


def test_wrong_item_names_the_aspect_the_customer_mentioned(store, policy):
    order = store.get_order("2938475610293840001")
    reply = draft("wrong_item", order, NOW, policy, Context(entities={"aspect": ["颜色"]}))
    assert reply.response == "utter_wrong_item_aspect" and reply.facts["aspect"] == "颜色"


def test_courier_damage_after_signing_follows_shop_yml(store, policy):
    """W8: a box crushed on the way and noticed after signing is the signer's (001), unless
    shop.yml says the shop still covers it; a product defect stays a quality case."""
    from dataclasses import replace

    order = store.get_order("2938475610293840001")
    crushed = Context(text="快递的箱子压烂了")
    assert draft("quality_issue", order, NOW, policy, crushed).response == "utter_quality_courier_damage_signed"
    covering = replace(policy, courier_damage_after_signing="shop")
    assert draft("quality_issue", order, NOW, covering, crushed).response == "utter_quality_issue"
    assert draft("quality_issue", order, NOW, policy, Context(text="开线了")).response == "utter_quality_issue"
    late = draft("quality_issue", store.get_order("1829374650190011223"), NOW, policy)  # signed 72 days ago
    assert late.response == "utter_quality_claim_late"


def test_a_short_capsule_count_is_a_quality_problem_not_a_shortage(store, policy):
    """W9: 粒数不够 is a product defect: no parcel weight check, no shortage window. It gets
    seed 000's script for problem 3 and is a quality case (its photo waits for a review)."""
    order = store.get_order("3027461958302749902")
    reply = draft("missing_item", order, NOW, policy, Context(text="胶囊粒数不够，少了几粒"))
    assert reply.response == "utter_problem_short_count" and reply.case_intent == "quality_issue"


def test_a_promise_holds_while_its_case_is_open(store, policy):
    """W14: asked again, the first deadline; once the case is closed, a new question gets a new one."""
    from bot.shop.cases import CaseLog, CaseState

    order_id = "1829374650192837465"
    from bot.shop.cases import PromiseKind, PromiseTerms

    first = draft("signed_not_received", store.get_order(order_id), NOW, policy)
    log = CaseLog(store)
    case = log.register(conversation_id="c", intent="signed_not_received", state=CaseState.WAITING_SHOP,
                        next_step="", note="", now=NOW, order_id=order_id,
                        promises=[PromiseTerms(PromiseKind.ANSWER_BY, due_at=first.promised)])
    store.add_note(order_id, "courier_answer", "联系快递", NOW, promise_id=log.open_promise(case.id).id)
    later = NOW + timedelta(hours=5)
    again = draft("signed_not_received", store.get_order(order_id), later, policy,
                  Context(cases=log.cases_for_order(order_id)))
    assert again.promised == first.promised and again.order_note is None
    log.close(case.id, later)
    fresh = draft("signed_not_received", store.get_order(order_id), NOW + timedelta(days=9), policy,
                  Context(cases=log.cases_for_order(order_id)))
    assert fresh.promised > first.promised and fresh.order_note is not None
