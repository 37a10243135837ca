"""The playbook table (playbook.yml): its named conditions at their edges, the matcher,
the loader's and `make validate`'s checks, and a row a trainer adds."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.playbook import table as playbook
from bot.playbook.conditions import CONDITIONS, COURIER_ANSWER
from bot.playbook.context import NO_CONTEXT, Context, PriceDifferenceAsked, Situation
from bot.playbook.facts import round_promise
from bot.playbook.policy import ShopPolicy, return_window, returned_handling_deadline, ship_deadline
from bot.playbook.scenarios import KNOWN, default_table, draft, from_table
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.compensation import CompensationState
from bot.shop.store import NoteFacts, OrderFacts, OrderState, OrderStore
from tests.helpers.shop import NOW
from tests.unit.test_trainer_mistakes import validate

SECOND = timedelta(seconds=1)


def of_state(store: OrderStore, state: OrderState, **where: Any) -> OrderFacts:
    return next(o for o in store.all_orders() if o.state == state
                and all(getattr(o, k) == v if k != "has" else v(o) for k, v in where.items()))


def last_event_time(order: OrderFacts) -> datetime:
    last = order.shipment.last_event if order.shipment else None
    assert last is not None
    return last.time


def holds(name: str, order: OrderFacts, now: datetime, policy: ShopPolicy, ctx: Context = NO_CONTEXT) -> bool:
    return CONDITIONS[name](Situation(order, now, policy, ctx))


def case(intent: str, state: CaseState) -> CaseRecord:
    return CaseRecord(1, "c", None, None, intent, state, "", "", None, "assistant", None, NOW, NOW)


# -- the named conditions, each at its edge ---------------------------------------------------


def test_unpaid_and_the_shipping_deadline_edge(store, policy):
    order = of_state(store, OrderState.NOT_SHIPPED, has=lambda o: o.paid_at is not None and o.ship_by is None)
    assert not holds("unpaid", order, NOW, policy)
    assert holds("unpaid", dataclasses.replace(order, paid_at=None), NOW, policy)
    due = ship_deadline(order.paid_at, None, policy)
    assert due is not None
    assert not holds("ship_deadline_passed", order, due, policy)
    assert holds("ship_deadline_passed", order, due + SECOND, policy)
    # an unpaid order has no deadline to pass
    assert not holds("ship_deadline_passed", dataclasses.replace(order, paid_at=None), due + SECOND, policy)
    assert not holds("campaign_date", order, NOW, policy)
    assert holds("campaign_date", dataclasses.replace(order, ship_by=NOW), NOW, policy)


def test_tracking_goes_stale_after_the_shops_hours(store, policy):
    order = of_state(store, OrderState.IN_TRANSIT, has=lambda o: o.shipment.last_event is not None)
    last = last_event_time(order)
    stale = timedelta(hours=policy.tracking_stale_hours)
    assert not holds("tracking_stale", order, last + stale, policy)
    assert holds("tracking_stale", order, last + stale + SECOND, policy)
    assert order.shipment is not None
    no_event = dataclasses.replace(order, shipment=dataclasses.replace(order.shipment, events=()))
    assert not holds("tracking_stale", no_event, last + 10 * stale, policy)


def test_a_return_is_overdue_after_the_handling_days(store, policy):
    order = of_state(store, OrderState.RETURNED, has=lambda o: o.returned_at is not None)
    assert order.returned_at is not None
    due = returned_handling_deadline(order.returned_at, policy)
    assert not holds("return_handling_overdue", order, due, policy)
    assert holds("return_handling_overdue", order, due + SECOND, policy)


def test_refunded_partly_only_when_less_was_refunded(store, policy):
    order = of_state(store, OrderState.REFUNDED)
    paid = order.amount_paid
    assert not holds("refunded_partly", dataclasses.replace(order, refund_amount=None), NOW, policy)
    assert not holds("refunded_partly", dataclasses.replace(order, refund_amount=paid), NOW, policy)
    assert holds("refunded_partly", dataclasses.replace(order, refund_amount=paid - Decimal("0.01")), NOW, policy)


def test_the_return_window_closes_after_its_last_day(store, policy):
    order = of_state(store, OrderState.SIGNED)
    assert order.shipment is not None and order.shipment.signed_at is not None
    _, closes, _ = return_window(order.shipment.signed_at, NOW, policy)
    at = closes.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)  # 00:00 after the last day
    assert holds("return_window_open", order, at - SECOND, policy)
    assert not holds("return_window_open", order, at, policy)


def test_unopened_goods_come_from_shop_yml(store, policy):
    order = of_state(store, OrderState.SIGNED)
    names = {i.name for i in order.goods}
    assert not holds("unopened_goods", order, NOW, dataclasses.replace(policy, unopened_only=()))
    assert holds("unopened_goods", order, NOW, dataclasses.replace(policy, unopened_only=tuple(names)))


def test_only_a_quality_case_waiting_for_the_customer_is_in_quality_case(store, policy):
    order = of_state(store, OrderState.SIGNED)
    waiting = case("quality_issue", CaseState.WAITING_CUSTOMER)
    assert holds("in_quality_case", order, NOW, policy, Context(cases=(waiting,)))
    assert not holds("in_quality_case", order, NOW, policy, Context())
    assert not holds("in_quality_case", order, NOW, policy,
                     Context(cases=(case("quality_issue", CaseState.WAITING_SHOP),)))
    # only the newest case counts
    assert not holds("in_quality_case", order, NOW, policy,
                     Context(cases=(case("wrong_item", CaseState.WAITING_CUSTOMER), waiting)))


def test_a_courier_answer_is_held_while_its_case_is_open_and_overdue_after_it(store, policy):
    order = of_state(store, OrderState.SIGNED)
    due = NOW + timedelta(hours=5)
    promised = dataclasses.replace(order, notes=(NoteFacts(COURIER_ANSWER, "", NOW, "assistant", due),))
    open_case = Context(cases=(case("signed_not_received", CaseState.WAITING_SHOP),))
    closed = Context(cases=(case("signed_not_received", CaseState.CLOSED),))
    assert holds("courier_answer_held", promised, NOW, policy, open_case)
    assert not holds("courier_answer_held", promised, NOW, policy, closed)
    assert not holds("courier_answer_held", order, NOW, policy, open_case)
    told = round_promise(due, policy)[0]  # the time the customer was given
    assert told > due  # NOW + 5 h is no round hour: the words give the customer more
    assert not holds("courier_answer_overdue", promised, due + SECOND, policy, open_case)
    assert not holds("courier_answer_overdue", promised, told, policy, open_case)
    assert holds("courier_answer_overdue", promised, told + SECOND, policy, open_case)


def signed_time(order: OrderFacts) -> datetime:
    assert order.shipment is not None and order.shipment.signed_at is not None
    return order.shipment.signed_at


def test_the_quality_claim_and_shortage_windows_close_at_shop_yml_s_numbers(store, policy):
    order = of_state(store, OrderState.SIGNED)
    claim = signed_time(order) + timedelta(days=policy.quality_claim_days)
    assert holds("quality_claim_open", order, claim - SECOND, policy)
    assert not holds("quality_claim_open", order, claim, policy)
    shortage = signed_time(order) + timedelta(hours=policy.missing_report_hours)
    assert holds("shortage_report_open", order, shortage, policy)  # the last hour itself counts
    assert not holds("shortage_report_open", order, shortage + SECOND, policy)


def test_price_drop_conditions(store, policy):
    order = of_state(store, OrderState.SIGNED)
    same = dataclasses.replace(order, items=tuple(dataclasses.replace(i, current_price=i.price_paid)
                                                  for i in order.items))
    cheaper = dataclasses.replace(order, items=tuple(
        dataclasses.replace(i, current_price=i.price_paid - Decimal("0.01")) if n == 0 else
        dataclasses.replace(i, current_price=i.price_paid) for n, i in enumerate(order.items)))
    assert not holds("price_dropped", same, NOW, policy)
    assert holds("price_dropped", cheaper, NOW, policy)
    protected = order.created_at + timedelta(days=policy.price_drop_days)
    assert holds("price_protected", order, protected, policy)
    assert not holds("price_protected", order, protected + SECOND, policy)


ASKED_CONDITIONS = ("price_difference_pending", "price_difference_approved", "price_difference_paid",
                    "price_difference_denied")


@pytest.mark.parametrize("state, holding", [
    (None, None),  # never asked: none holds (the request goes to a supervisor)
    (CompensationState.PENDING, "price_difference_pending"),
    (CompensationState.APPROVED, "price_difference_approved"),
    (CompensationState.GRANTED, "price_difference_approved"),  # owed all the same
    (CompensationState.PAID, "price_difference_paid"),
    (CompensationState.DENIED, "price_difference_denied"),
])
def test_a_price_difference_asked_before_is_read_from_its_record(store, policy, state, holding):
    order = of_state(store, OrderState.SIGNED)
    asked = PriceDifferenceAsked(state, Decimal("40.00")) if state is not None else None
    ctx = Context(price_difference=asked)
    assert [n for n in ASKED_CONDITIONS if holds(n, order, NOW, policy, ctx)] == ([holding] if holding else [])


@pytest.mark.parametrize("name, text, expected", [
    ("mentions_courier_damage", "箱子压烂了", True),
    ("mentions_courier_damage", "快递把外包装摔破了", True),
    ("mentions_courier_damage", "衣服有个洞", False),
    ("mentions_short_count", "少了几粒", True),
    ("mentions_short_count", "少了一件", False),
])
def test_what_the_message_mentions(store, policy, name, text, expected):
    order = of_state(store, OrderState.SIGNED)
    assert holds(name, order, NOW, policy, Context(text=text)) is expected


# quality triage (bot/playbook/triage.py; the words' edges are in tests/unit/test_triage.py)
@pytest.mark.parametrize("name, text", [
    ("problem_no_effect", "坚持一个月了，没什么效果"),
    ("problem_short_count", "粒数不够，少了几粒"),
    ("problem_foil_seal", "锡箔纸没封好"),
    ("problem_capsules_broken", "胶囊破了好几粒"),
    ("problem_opened", "收到的产品被拆封过"),
    ("problem_box_crushed", "盒子压扁了"),
    ("not_quality", "色差太大，不喜欢"),
    ("quality_unclear", "颜色和图片不一样，还开线了"),
    ("refused_misuse", "不小心摔了一下就坏了"),
])
def test_what_the_quality_message_names_holds_its_condition_and_no_other(store, policy, name, text):
    order = of_state(store, OrderState.SIGNED)
    triage = [n for n in CONDITIONS if n.startswith(("problem_", "refused_")) or n in ("not_quality", "quality_unclear")]
    said = [n for n in triage if holds(n, order, NOW, policy, Context(text=text))]
    assert said == [name]
    assert [n for n in triage if holds(n, order, NOW, policy, Context(text="衣服开线了"))] == []


def test_a_return_that_names_a_quality_problem_is_a_quality_return(store, policy):
    order = of_state(store, OrderState.SIGNED)
    assert holds("names_quality_problem", order, NOW, policy, Context(text="衣服开线了想退"))
    assert holds("names_quality_problem", order, NOW, policy, Context(text="锡箔纸没封好，想退"))
    assert not holds("names_quality_problem", order, NOW, policy, Context(text="不喜欢，想退"))
    assert not holds("names_quality_problem", order, NOW, policy, Context(text="吊牌掉了还能退吗"))
    reply = draft("return_or_exchange", order, NOW, policy, Context(text="衣服开线了想退"))
    assert reply.response == "utter_quality_issue"
    reply = draft("refund_after_shipping", order, NOW, policy, Context(text="颜色不喜欢，而且开线了，退款"))
    assert reply.response == "utter_quality_ask_kind"


def test_the_refusals_that_read_the_order(store, policy):
    gifted = of_state(store, OrderState.SIGNED, has=lambda o: bool(o.gifts) and bool(o.goods))
    plain = of_state(store, OrderState.SIGNED, has=lambda o: not o.gifts)
    assert holds("refused_gift", gifted, NOW, policy, Context(text="赠品坏了"))
    assert not holds("refused_gift", gifted, NOW, policy, Context(text=f"赠品和{gifted.goods[0].name}都坏了"))
    assert holds("refused_gifts_missing", gifted, NOW, policy, Context(text="赠品丢了，想退货"))
    assert not holds("refused_gifts_missing", plain, NOW, policy, Context(text="赠品丢了，想退货"))
    assert holds("refused_used", plain, NOW, policy, Context(text="穿过两次了想退"))
    assert holds("refused_odour", plain, NOW, policy, Context(text="沾了烟味，想退"))
    consumable = of_state(store, OrderState.SIGNED, has=lambda o: any(i.name == "芦荟胶" for i in o.goods))
    cup = of_state(store, OrderState.SIGNED, has=lambda o: [i.name for i in o.goods] == ["316 不锈钢保温杯"])
    assert holds("refused_opened", consumable, NOW, policy, Context(text="拆开了想退"))
    assert not holds("refused_opened", cup, NOW, policy, Context(text="拆开了想退"))
    exchanged = dataclasses.replace(cup, notes=(NoteFacts("exchange", "换货", NOW, "assistant", None),))
    assert holds("refused_exchanged_once", exchanged, NOW, policy, Context(text="想退"))
    assert not holds("refused_exchanged_once", cup, NOW, policy, Context(text="想退"))
    # while that exchange's case is still under way, asking again is the same exchange
    ongoing = Context(text="想退", cases=(case("return_or_exchange", CaseState.WAITING_CUSTOMER),))
    assert not holds("refused_exchanged_once", exchanged, NOW, policy, ongoing)


def test_an_aspect_counts_only_when_the_message_has_one(store, policy):
    order = of_state(store, OrderState.SIGNED)
    assert holds("aspect_mentioned", order, NOW, policy, Context(entities={"aspect": ["颜色"]}))
    assert not holds("aspect_mentioned", order, NOW, policy, Context(entities={"aspect": []}))
    assert not holds("aspect_mentioned", order, NOW, policy, Context())


def test_the_business_choices_of_shop_yml(store, policy):
    order = of_state(store, OrderState.SIGNED)
    for choice, expected in (("buyer", True), ("shop", False)):
        rules = dataclasses.replace(policy, courier_damage_after_signing=choice)
        assert holds("signer_pays_courier_damage", order, NOW, rules) is expected
    for choice, expected in (("supervisor", True), ("refuse", False)):
        rules = dataclasses.replace(policy, late_missing_reports=choice)
        assert holds("late_shortage_to_supervisor", order, NOW, rules) is expected


def test_a_requested_variant_and_its_stock(store, policy):
    order = of_state(store, OrderState.SIGNED, has=lambda o: any(" " in i.variant for i in o.goods))
    item = next(i for i in order.goods if " " in i.variant)
    colour, size = item.variant.split()
    other = "XS" if size != "XS" else "S"
    wanted, spare = f"{colour} {other}", f"{colour} XXL"

    def ctx(stock: Dict[str, int]) -> Context:
        return Context(text=f"换{other}码", variants={item.product_id: [(item.variant, 1), *stock.items()]})

    names = ("variant_requested", "requested_variant_in_stock", "other_variants_in_stock")
    assert [holds(n, order, NOW, policy, Context(text=f"换{other}码")) for n in names] == [False] * 3
    assert [holds(n, order, NOW, policy, ctx({wanted: 2, spare: 0})) for n in names] == [True, True, False]
    assert [holds(n, order, NOW, policy, ctx({wanted: 0, spare: 1})) for n in names] == [True, False, True]
    assert [holds(n, order, NOW, policy, ctx({wanted: 0, spare: 0})) for n in names] == [True, False, False]


STATUS_CONDITIONS = {
    CaseState.WAITING_CUSTOMER: "status_case_waiting_customer",
    CaseState.WAITING_SHOP: "status_case_waiting_shop",
    CaseState.NEEDS_APPROVAL: "status_case_needs_approval",
    CaseState.ESCALATED: "status_case_escalated",
}


def test_a_status_question_is_about_the_newest_case_under_way(store, policy):
    order = of_state(store, OrderState.SIGNED)

    def true(*cases: CaseRecord) -> List[str]:
        return [n for n in ("status_case_about_refund", *STATUS_CONDITIONS.values())
                if holds(n, order, NOW, policy, Context(cases=cases))]

    assert true() == []
    for state, name in STATUS_CONDITIONS.items():
        assert true(case("quality_issue", state)) == ["status_case_about_refund", name]
        assert true(case("urge_shipment", state)) == [name]
    # resolved or closed cases and earlier status questions are passed over, newest first
    assert true(case("wrong_item", CaseState.RESOLVED), case("urge_shipment", CaseState.WAITING_SHOP)) == [
        "status_case_waiting_shop"]
    assert true(case("refund_status", CaseState.WAITING_SHOP), case("wrong_item", CaseState.CLOSED)) == []


def test_every_condition_is_tested_here():
    source = Path(__file__).read_text(encoding="utf-8")
    assert [n for n in CONDITIONS if f'"{n}"' not in source] == []


# -- the matcher and the loader -------------------------------------------------------------------


def parse(raw: Dict[str, Any]) -> playbook.Table:
    return playbook.parse(raw, "playbook.yml", KNOWN)


TABLE = {
    "blocks": {"late": [{"when": ["ship_deadline_passed"], "reply": "b_late"}]},
    "intents": {"ask": [
        {"states": ["not_shipped"], "when": ["unpaid"], "reply": "a_unpaid"},
        {"states": ["not_shipped"], "use": "late"},
        {"states": ["not_shipped"], "when": ["not campaign_date"], "reply": "a_plain"},
        {"states": ["not_shipped"], "reply": "a_campaign"},
    ]},
}


@pytest.mark.parametrize("true, expected", [
    ({"unpaid", "ship_deadline_passed"}, "a_unpaid"),  # the first row that holds wins
    ({"ship_deadline_passed"}, "b_late"),  # through use
    (set(), "a_plain"),  # the block had no row: matching goes on
    ({"campaign_date"}, "a_campaign"),  # `not` negates
])
def test_the_first_row_that_holds_wins(true, expected):
    row = playbook.match(parse(TABLE), "ask", OrderState.NOT_SHIPPED, lambda c: c in true)
    assert row is not None and row.reply == expected


def test_no_row_for_another_state_and_covers_says_so():
    table = parse(TABLE)
    assert playbook.match(table, "ask", OrderState.SIGNED, lambda c: False) is None
    assert playbook.covers(table, "ask", OrderState.NOT_SHIPPED)
    assert not playbook.covers(table, "ask", OrderState.SIGNED)
    assert not playbook.covers(table, "late", OrderState.NOT_SHIPPED)  # conditional only


@pytest.mark.parametrize("row, message", [
    ({"when": ["sunny"], "reply": "x"}, "unknown condition 'sunny'"),
    ({"facts": ["weather"], "reply": "x"}, "unknown facts 'weather'"),
    ({"promise": "soon", "reply": "x"}, "unknown promise 'soon'"),
    ({"states": ["lost"], "reply": "x"}, "'lost' is not a valid OrderState"),
    ({"reply": "x", "use": "ask"}, "either reply or use"),
    ({"use": "nowhere"}, "no intent or block 'nowhere'"),
    ({"reply": "x", "colour": "red"}, "unknown key(s) colour"),
    ({"reply": "x", "order_note": {"kind": "k", "until_promise": True}}, "needs a promise"),
])
def test_a_wrong_row_is_named_when_loading(row, message):
    with pytest.raises(ValueError, match="ask\\[0\\]" if "nowhere" not in message else "ask") as raised:
        parse({"intents": {"ask": [row]}})
    assert message in str(raised.value)


def test_use_going_round_in_a_circle_is_refused():
    with pytest.raises(ValueError, match="circle"):
        parse({"intents": {"a": [{"use": "b"}], "b": [{"use": "a"}]}})


def test_the_projects_table_loads_and_answers_every_state_of_its_intents():
    table = default_table()
    for intent in table.intents:
        assert all(playbook.covers(table, intent, s) for s in OrderState), intent


# -- make validate ----------------------------------------------------------------------------


def problems(tmp_path: Path, edit: Callable[[Dict[str, Any]], Any]) -> List[str]:
    raw = yaml.safe_load((PROJECT_ROOT / "playbook.yml").read_text(encoding="utf-8"))
    edit(raw)
    (tmp_path / "playbook.yml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    project = validate.Project(tmp_path, PROJECT_ROOT)
    dom, _ = validate.domain(validate.Project(PROJECT_ROOT))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in dom["intents"]]
    return validate.playbook_problems(project, dom, intents)


def test_validate_passes_the_projects_table(tmp_path):
    assert problems(tmp_path, lambda raw: None) == []


def test_validate_wants_a_row_for_every_state(tmp_path):
    found = problems(tmp_path, lambda raw: raw["intents"]["track_parcel"].pop(-2))  # signed
    # urge_shipment answers a signed order with track_parcel's rows: both are named
    assert [p.split(": ", 1)[1] for p in found] == [
        f"{intent} has no row that answers every signed order: add one without `when` (a fallback)"
        for intent in ("track_parcel", "urge_shipment")]


def test_validate_names_an_unknown_response_and_a_placeholder_the_row_lacks(tmp_path):
    def edit(raw: Dict[str, Any]) -> None:
        rows = raw["intents"]["track_parcel"]
        rows[2]["reply"] = "utter_track_stal"
        rows[1].pop("promise")  # utter_track_not_shipped says {ship_by}

    found = problems(tmp_path, edit)
    assert any("track_parcel[2]: response utter_track_stal is not in domain.yml" in p for p in found), found
    assert any("track_parcel[1]: utter_track_not_shipped uses {ship_by}, which a not_shipped order "
               "does not give" in p for p in found), found


def test_validate_wants_a_case_note_for_the_answering_response(tmp_path):
    found = problems(tmp_path, lambda raw: raw["intents"]["track_parcel"][1].update(reply="utter_greet"))
    assert any("track_parcel[1]: utter_greet has no entry in case_notes.yml" in p for p in found), found


def test_validate_names_an_unknown_condition_at_its_line(tmp_path):
    found = problems(tmp_path, lambda raw: raw["intents"]["urge_shipment"][1].update(when=["campain_date"]))
    assert len(found) == 1 and found[0].startswith("playbook.yml:") and "unknown condition 'campain_date'" in found[0]
    assert found[0].split(":")[1] != "1"


# -- a trainer's new row ----------------------------------------------------------------------------


def test_a_new_row_changes_the_answer_without_python(store, policy):
    """A stale parcel that is out for delivery: the trainer answers it as a plain
    out-for-delivery reply by putting a row above the stale one."""
    raw = yaml.safe_load((PROJECT_ROOT / "playbook.yml").read_text(encoding="utf-8"))
    rows = raw["intents"]["track_parcel"]
    rows.insert(2, {"states": ["out_for_delivery"], "reply": "utter_track_out_for_delivery"})
    table = parse(raw)
    order = of_state(store, OrderState.OUT_FOR_DELIVERY, has=lambda o: o.shipment.last_event is not None)
    late = last_event_time(order) + timedelta(hours=policy.tracking_stale_hours + 1)
    assert draft("track_parcel", order, late, policy).response == "utter_track_stale"
    sit = Situation(order, late, policy)
    reply = from_table("track_parcel", sit, table)
    assert reply is not None and reply.bubbles == ("utter_track_out_for_delivery",)



def test_every_fact_set_gives_the_keys_validate_checks_against(store, policy):
    """FACT_SETS declare their keys for `make validate`; what they compute is exactly that."""
    from bot.playbook.facts import FACT_SETS

    computed = set()
    for order in store.all_orders():
        due = NOW - timedelta(hours=1)
        promised = dataclasses.replace(order, notes=(NoteFacts(COURIER_ANSWER, "", NOW, "assistant", due),))
        stock = {i.product_id: store.variants(i.product_id) for i in order.goods}
        ctx = Context(text="换货", cases=(case("signed_not_received", CaseState.WAITING_SHOP),))
        asks = [Context(text=text, variants=stock) for text in ("换M码", "换燕麦色")]
        asks.append(Context(price_difference=PriceDifferenceAsked(CompensationState.PAID, Decimal("40"))))
        for sit in (Situation(order, NOW, policy), Situation(promised, NOW, policy, ctx),
                    *(Situation(order, NOW, policy, c) for c in asks)):
            for name, facts in FACT_SETS.items():
                try:
                    got = facts.compute(sit)
                except AssertionError:  # a fact set only for the states its rows name
                    continue
                assert tuple(got) == facts.keys, name
                computed.add(name)
    assert computed == set(FACT_SETS)
