"""Every reply right, for every order in every state (issue 10).

Drafts every scenario for every sample order (every state and every edge of the
sample shop: no tracking event, no ETA, unpaid, overdue, campaign date passed,
return received days ago, refunded without a return, partial refund, gifts or
none, cash on delivery), with the messages and earlier cases that change the
answer, at "now" and at times on both sides of each boundary the order has:
the return window's last day and the day after, the shortage window, the
quality-claim limit, the shipping deadline, the return's handling deadline,
the stale-tracking limit, and a promise already given (kept, or passed).

Every bubble is rendered the way the customer gets it (the domain's text,
phrases filled) and checked; the count of combinations is asserted so that a
change of the sample shop or the scenarios is seen.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterator, List, Optional, Tuple

import pytest

from bot.playbook.context import PriceDifferenceAsked
from bot.playbook.policy import (
    ShopPolicy,
    load_policy,
    quality_claim_open,
    return_window,
    returned_handling_deadline,
    ship_deadline,
)
from bot.playbook.render import bubbles, resolved
from bot.playbook.scenarios import COURIER_ANSWER, SCENARIOS, Context, Reply, draft, round_promise
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseLog, CaseRecord, CaseState
from bot.shop.compensation import CompensationState
from bot.shop.store import NoteFacts, OrderFacts
from rasa_adapter.project_files import responses
from tests.helpers.shop import NOW

POLICY = load_policy(PROJECT_ROOT / "shop.yml")

MAX_BUBBLE = 150
MINUTE = timedelta(minutes=1)
# messages that change an answer: exchanges (stock), a short capsule count
TEXTS = ("", "想换M码", "换成燕麦色", "能换奶白色吗", "想换藏青色M码", "粒数不够，少了几粒")
# a return without reason that is not taken (不予办理): used, a smell, gifts gone, opened
REFUSED_RETURN_TEXTS = ("穿过两次了想退", "沾了烟味，想退", "赠品丢了，想退货", "拆开了想退")
# quality triage: courier damage, seed 000's six product problems, misuse, a gift,
# not quality, unclear (both kinds of words)
QUALITY_TEXTS = ("", "箱子压烂了", "吃了一个月没什么效果", "锡箔纸没封好", "胶囊破了好几粒",
                 "粒数不够，少了几粒", "收到的产品被拆封过", "盒子压扁了", "不小心摔了一下就坏了",
                 "赠品坏了", "色差太大，不喜欢", "颜色和图片不一样，还开线了")
# stand-ins for missing data a customer must never read; 无 alone, not 无理由
MISSING = re.compile(r"暂无|None|null|[：:]\s*无(?!理由)|（无）")
# a claimed act → what must record it: the order note written with the reply, or the case's state
CLAIMS = {
    "已在订单上备注": "order_note",
    "已备注": "order_note",
    "已经备注": "order_note",
    "已在订单 ": "order_note",
    "已为您提交": CaseState.NEEDS_APPROVAL,
    "已转给人工": CaseState.ESCALATED,
}
NESTED = re.compile(r"（[^）]*（")  # 「…（…（…））」 is hard to read in a chat bubble
NEVER_CLAIMED = ("通知仓库", "已经通知", "已通知")  # nothing notifies a warehouse
PROMISE_FACTS = ("ship_by", "answer_by", "handle_by")


def boundary_times(order: OrderFacts, policy: ShopPolicy) -> List[datetime]:
    """NOW, and a minute either side of every boundary this order has, after it was made."""
    moments: List[datetime] = []
    ship = order.shipment
    if ship is not None and ship.signed_at is not None:
        _, closes, _ = return_window(ship.signed_at, NOW, policy)
        closes_utc = closes.astimezone(ZONE_UTC).replace(tzinfo=None)
        moments += [closes_utc - MINUTE, closes_utc]  # day 7 23:59, day 8 00:00
        shortage = ship.signed_at + timedelta(hours=policy.missing_report_hours)
        moments += [shortage, shortage + MINUTE]
        claim = ship.signed_at + timedelta(days=policy.quality_claim_days)
        moments += [claim - MINUTE, claim]
        assert quality_claim_open(ship.signed_at, claim - MINUTE, policy)
    deadline = ship_deadline(order.paid_at, order.ship_by, policy)
    if deadline is not None and ship is None:
        moments += [deadline - timedelta(hours=1), deadline + timedelta(hours=1)]
    if order.returned_at is not None:
        due = returned_handling_deadline(order.returned_at, policy)
        moments += [due - timedelta(hours=1), due + timedelta(hours=1)]
    if ship is not None and ship.last_event is not None and ship.signed_at is None:
        stale = ship.last_event.time + timedelta(hours=policy.tracking_stale_hours)
        moments += [stale - MINUTE, stale + MINUTE]
    protected = order.created_at + timedelta(days=policy.price_drop_days)
    moments += [protected, protected + MINUTE]
    return [NOW] + sorted({m for m in moments if m > order.created_at and m != NOW})


def exchange_editions(order: OrderFacts, scenario: str) -> List[OrderFacts]:
    """For a return without reason: the order as it is, and after an exchange was arranged
    on it (its order note; a second one is not taken)."""
    if scenario not in ("return_or_exchange", "refund_after_shipping"):
        return [order]
    note = NoteFacts("exchange", "换货：已安排", order.created_at, "assistant", None)
    return [order, dataclasses.replace(order, notes=(*order.notes, note))]


def promise_editions(order: OrderFacts, now: datetime) -> List[OrderFacts]:
    """The order as it is, and with a courier answer already promised (still due, or passed)."""
    if order.shipment is None or order.shipment.signed_at is None:
        return [order]
    def promised(due: datetime) -> OrderFacts:
        note = NoteFacts(COURIER_ANSWER, "联系快递核实签收", now - timedelta(hours=3), "assistant", due)
        return dataclasses.replace(order, notes=(note,))
    # promises are stored rounded, as the scenarios make them
    due = round_promise(now + timedelta(hours=5), POLICY)[0]
    passed = round_promise(now - timedelta(hours=15), POLICY)[0]
    assert passed < now
    return [order, promised(due), promised(passed)]


def case_editions(order: OrderFacts, now: datetime, scenario: str) -> List[Tuple[CaseRecord, ...]]:
    """No case, and the open cases that change the answer: for refund_status one per
    (what it is about × state); for a return, a quality case waiting for the choice."""
    found: List[Tuple[CaseRecord, ...]] = [()]
    if scenario in ("return_or_exchange", "refund_after_shipping"):
        kinds = [("quality_issue", CaseState.WAITING_CUSTOMER)]
    elif scenario == "signed_not_received":  # its promise holds while its case is open
        kinds = [("signed_not_received", CaseState.WAITING_SHOP), ("signed_not_received", CaseState.CLOSED)]
    elif scenario == "refund_status":
        kinds = [(i, s) for i in ("quality_issue", "urge_shipment", "missing_item", "price_drop_refund")
                 for s in CaseState]
    else:
        kinds = []
    for intent, state in kinds:
        found.append((CaseRecord(
            id=7, conversation_id="c", order_id=order.order_id, buyer_account=order.buyer_account,
            intent=intent, state=state, next_step="", note="", customer_message=None,
            handler="assistant", rating=None, created_at=now - timedelta(hours=2),
            updated_at=now - timedelta(hours=1),
        ),))
    return found


def price_difference_editions(now: datetime, scenario: str) -> List[Optional[PriceDifferenceAsked]]:
    """For 退差价: never asked, and asked before in each state of its record (pending,
    approved with its payout promise, paid with a reference or none, denied with a reason)."""
    if scenario != "price_drop_refund":
        return [None]
    amount, decided = Decimal("40.00"), now - timedelta(hours=2)
    due = round_promise(now + timedelta(hours=20), POLICY)[0]
    paid = dict(decided_at=decided, paid_at=now - timedelta(hours=1))
    return [None, PriceDifferenceAsked(CompensationState.PENDING, amount),
            PriceDifferenceAsked(CompensationState.APPROVED, amount, decided, pay_due=due),
            PriceDifferenceAsked(CompensationState.PAID, amount, reference="ALI2026112900001", **paid),
            PriceDifferenceAsked(CompensationState.PAID, amount, **paid),
            PriceDifferenceAsked(CompensationState.DENIED, amount, decided, reason="活动价商品不参与保价")]


def policy_editions(policy: ShopPolicy) -> List[ShopPolicy]:
    """The shop's rules, and every open business choice of shop.yml the other way round."""
    other = dataclasses.replace(
        policy,
        exchange_shipping="split",
        late_missing_reports="refuse",
        courier_damage_after_signing="shop",
        shipping_paid_by={r: "buyer" if p == "shop" else "shop" for r, p in policy.shipping_paid_by.items()},
    )
    return [policy, other]


def stock_editions(store, order: OrderFacts):
    """The variants' stock as it is, and with everything sold out."""
    stock = {i.product_id: store.variants(i.product_id) for i in order.goods}
    return [stock, {p: [(v, 0) for v, _ in found] for p, found in stock.items()}]


def combinations(store, policy) -> Iterator[Tuple[str, OrderFacts, datetime, Context, ShopPolicy]]:
    for base in store.all_orders():
        stock = stock_editions(store, base)
        for now in boundary_times(base, policy):
            for order in promise_editions(base, now):
                for rules in policy_editions(policy):
                    for scenario in SCENARIOS:
                        texts = TEXTS if scenario in ("return_or_exchange", "missing_item") else (
                            QUALITY_TEXTS if scenario == "quality_issue" else ("",))
                        if scenario in ("return_or_exchange", "refund_after_shipping"):
                            texts = (*texts, *REFUSED_RETURN_TEXTS)
                        aspects = ((), ("颜色",)) if scenario == "wrong_item" else ((),)
                        cases = case_editions(order, now, scenario)
                        stocks = stock if scenario == "return_or_exchange" else [{}]
                        asked = price_difference_editions(now, scenario)
                        for edition in exchange_editions(order, scenario):
                            for text in texts:
                                for aspect in aspects:
                                    for case in cases:
                                        for variants, before in itertools.product(stocks, asked):
                                            ctx = Context(text=text, variants=variants,
                                                          entities={"aspect": list(aspect)}, cases=case,
                                                          price_difference=before)
                                            yield scenario, edition, now, ctx, rules


def check(reply: Reply, order: OrderFacts, now: datetime, notes, domain) -> List[str]:
    """What is wrong with ``reply``; empty when it is right."""
    problems = []
    texts = bubbles(reply, domain)
    for text in texts:
        if "{" in text or "}" in text:
            problems.append(f"a raw placeholder: {text}")
        if MISSING.search(text):
            problems.append(f"a stand-in for missing data: {text}")
        if len(text) > MAX_BUBBLE:
            problems.append(f"{len(text)} characters (> {MAX_BUBBLE}): {text}")
        if NESTED.search(text):
            problems.append(f"nested brackets: {text}")
        if any(word in text for word in NEVER_CLAIMED):
            problems.append(f"claims an act nothing performs: {text}")
    said = "\n".join(texts)
    note = notes.for_reply(resolved(reply, domain))
    for word, record in CLAIMS.items():
        if word in said:
            if record == "order_note" and reply.order_note is None:
                problems.append(f"says {word} but writes no note on the order: {said}")
            if isinstance(record, CaseState) and note.state != record:
                problems.append(f"says {word} but its case is {note.state.value}: {said}")
    if any(f in reply.facts for f in PROMISE_FACTS):
        if reply.promised is None:
            problems.append(f"promises a time it does not record: {said}")
    if reply.promised is not None and reply.promised <= now:
        problems.append(f"promises {reply.promised} at {now}: {said}")
    ship = order.shipment
    if order.order_id not in said and not (ship and ship.tracking_number in said):
        problems.append(f"names neither the order nor its tracking number: {said}")
    if "〔" in note.note + note.next_step:
        problems.append(f"case note lacks a fact: {note}")
    return problems


ZONE_UTC = __import__("zoneinfo").ZoneInfo("UTC")

# Checked by hand when the sample shop or the scenarios change: the number of
# (scenario, order, time, promise, message, case) combinations drafted below.
# 51,544 before quality triage; then quality_issue 2 → 12 messages (1,516 → 9,096),
# refund_after_shipping 1 → 5 messages × 2 exchange editions (1,516 → 15,160),
# return_or_exchange 6 → 10 messages × 2 exchange editions (18,192 → 60,640);
# then price_drop_refund × 6 editions of a 退差价 asked before (758 → 4,548).
EXPECTED_COMBINATIONS = 119006


def test_every_reply_for_every_order_state_edge_and_boundary(store, policy, notes, capsys):
    domain = responses()
    count, failures, seen = 0, [], set()
    for scenario, order, now, ctx, rules in combinations(store, policy):
        reply = draft(scenario, order, now, rules, ctx)
        count += 1
        seen.add(reply.response)
        for problem in check(reply, order, now, notes, domain):
            failures.append(f"{scenario} {order.order_id} at {now:%m-%d %H:%M} "
                            f"({reply.response}, text {ctx.text!r}): {problem}")
    with capsys.disabled():
        print(f"\n{count} combinations drafted, {len(seen)} responses reached")
    firsts = {}
    for failure in failures:  # one example per response and kind of fault
        key = failure.split("(")[1].split(",")[0] + failure.split("): ")[1][:12]
        firsts.setdefault(key, failure)
    assert not failures, f"{len(failures)} wrong replies:\n" + "\n".join(sorted(firsts.values()))
    assert count == EXPECTED_COMBINATIONS
    # every main response a case note covers is reached by some combination
    scenario_notes = {r for r in notes.templates if r not in NOT_FROM_SCENARIOS}
    assert scenario_notes - seen == set()


# case notes of replies that other actions send (hand-over, address form, order form,
# a photo's acknowledgement: tests/unit/test_promises.py, tests/unit/test_uploads.py)
NOT_FROM_SCENARIOS = {
    "utter_handoff_now", "utter_message_taken", "utter_ask_other_order",
    "utter_address_changed", "utter_address_redirect_noted", "utter_photo_received",
    # the complaint's (tests/unit/test_actions_complaints.py)
    "utter_complaint_ask_details", "utter_complaint_recorded_now", "utter_complaint_recorded_closed",
    "utter_complaint_supervisor",
    # answers on the open case (tests/unit/test_followups.py)
    "utter_snr_courier_contacted", "utter_return_waybill_recorded", "utter_refund_account_recorded",
    # a 折价 preferred to a return, an agent's verdict on photos (tests/unit/test_photo_review.py)
    "utter_discount_wish_recorded", "utter_case_photo_approved", "utter_case_wrong_item_confirmed",
    "utter_case_photo_refused", "utter_case_compensation_granted", "utter_case_compensation_pending",
    # money owed marked paid by an agent (tests/unit/test_payouts.py)
    "utter_case_compensation_paid",
}


@pytest.mark.parametrize("bad, problem", [
    ("订单 {order_id} 由{courier}配送", "raw placeholder"),
    ("订单 {order_id} 预计 暂无 送达", "stand-in"),
    ("订单 {order_id} " + "很" * 150, "characters"),
    ("订单 {order_id}：我已经通知仓库优先给您安排", "nothing performs"),
    ("订单 {order_id} 已在订单上备注了您着急要货", "no note"),
    ("您的包裹很快就到", "names neither"),
])
def test_the_checks_catch_each_fault(store, policy, notes, bad, problem):
    order = next(o for o in store.all_orders() if o.shipment and o.shipment.last_event)
    domain = {**responses(), "utter_track_in_transit": [{"text": bad.replace("{courier}", "{{courier}}")
                                                         if problem == "raw placeholder" else bad}]}
    reply = draft("track_parcel", order, NOW, policy)
    reply = Reply("utter_track_in_transit", reply.facts)
    problems = check(reply, order, NOW, notes, domain)
    assert any(problem in p for p in problems), problems


def test_a_promise_in_the_past_is_caught(store, policy, notes):
    order = next(o for o in store.all_orders() if o.shipment is None and o.paid_at is not None)
    reply = dataclasses.replace(draft("track_parcel", order, NOW, policy), promised=NOW - MINUTE)
    assert any("promises" in p for p in check(reply, order, NOW, notes, responses()))


def test_case_log_registers_reach_refund_status(store):
    """refund_status reads cases newest first from the real log too (not only built records)."""
    log = CaseLog(store)
    order = next(o for o in store.all_orders() if o.state.value == "signed")
    log.register(conversation_id="c", intent="urge_shipment", state=CaseState.WAITING_SHOP,
                 next_step="", note="", now=NOW, order_id=order.order_id)
    assert log.cases_for_order(order.order_id)[0].intent == "urge_shipment"
