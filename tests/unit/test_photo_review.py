"""An agent's look at the photos (bot/workbench/photo_review.py): only then are the return
address and the free return shipping told; a refusal says its reason; a 折价 is recorded
(what, how much, who, when), within the cap at once, above it through a supervisor."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from actions.followups import ActionCaseChanged
from bot.playbook.evidence import photos_received
from bot.playbook.render import bubbles, resolved
from bot.playbook.scenarios import Context, draft
from bot.shop.casefacts import CaseChange, FactKind, facts_of, notices_of
from bot.shop.cases import CaseState, PromiseKind
from bot.shop.compensation import CompensationState, compensations_of_order
from bot.shop.compensation import decide as decide_compensation
from bot.shop.store import OrderState
from bot.shop.uploads import Uploads, clean_image
from bot.workbench.approvals import compensation_request, decision_reply
from bot.workbench.card import order_card
from bot.workbench.inbox import build_inbox
from bot.workbench.photo_review import (
    PHOTO_REVIEW_STEP,
    ReviewRefused,
    Verdict,
    awaiting_review,
    parse_amount,
    review_photos,
)
from rasa_adapter.project_files import responses
from tests.helpers.images import photo
from tests.helpers.shop import NOW

LATER = NOW + timedelta(hours=1)


class Conversations:
    """Where the notices go: what ``tell_case_changed`` says, and whether Rasa takes it."""

    def __init__(self, up: bool = True) -> None:
        self.up, self.said = up, []

    def __call__(self, conversation, intent, entities):
        self.said.append((conversation, intent, dict(entities)))
        return self.up


def cup_order(store):
    return next(o for o in store.all_orders() if o.state == OrderState.SIGNED
                and [i.name for i in o.goods] == ["316 不锈钢保温杯"])


def photographed_case(deps, tmp_path, intent="quality_issue", conversation="r1"):
    """A quality case told by the scenario, with a photo sent: it waits for an agent."""
    order = cup_order(deps.store)
    case = deps.cases.register(conversation_id=conversation, intent=intent, state=CaseState.WAITING_CUSTOMER,
                               next_step="等照片", note="客户反映质量问题", now=NOW, order_id=order.order_id)
    assert not awaiting_review(case)
    Uploads(deps.store, tmp_path / "up", per_case=6).attach(case, clean_image(photo(), 5 * 1024 * 1024), NOW)
    assert photos_received(deps.cases, deps.notes, deps.store, conversation, 6, NOW) is not None
    waiting = deps.cases.get(case.id)
    assert waiting.next_step.startswith(PHOTO_REVIEW_STEP) and awaiting_review(waiting)
    return order, waiting


def told(deps, dispatcher, make_tracker, case_id, change):
    """The bubbles the customer reads for a notice (action_case_changed, as Rasa runs it)."""
    entities = [{"entity": "case_id", "value": str(case_id)}, {"entity": "change", "value": change.value}]
    tracker = make_tracker(intent="EXTERNAL_case_changed", entities=entities, sender_id="r1")
    asyncio.run(ActionCaseChanged(deps).run(dispatcher, tracker, {}))
    domain = responses()
    return [m["response"] for m in dispatcher.messages], [
        t for m in dispatcher.messages for t in bubbles(_reply(m), domain)]


def _reply(message):
    from bot.playbook.scenarios import Reply

    facts = {k: v for k, v in message.items() if k not in ("response", "text", "buttons", "template")}
    return Reply(message["response"], facts)


def test_the_scenario_gives_no_return_address_before_the_photo_is_looked_at(deps):
    order = cup_order(deps.store)
    domain = responses()
    for intent, text in (("quality_issue", "杯子有裂缝"), ("quality_issue", "盒子压扁了"),
                         ("wrong_item", "发错货了"), ("return_or_exchange", "换货")):
        cases = (deps.cases.register(conversation_id="q", intent="quality_issue", state=CaseState.WAITING_CUSTOMER,
                                     next_step="", note="", now=NOW, order_id=order.order_id),) \
            if intent == "return_or_exchange" else ()
        reply = draft(intent, order, NOW, deps.policy, Context(text=text, cases=cases))
        said = "".join(bubbles(resolved(reply, domain), domain))
        assert "utter_return_address" not in reply.bubbles and deps.policy.return_address not in said, said


def test_approved_the_customer_is_told_the_address_and_who_pays(deps, tmp_path, dispatcher, make_tracker):
    order, case = photographed_case(deps, tmp_path)
    # in the inbox as 照片待审核
    [entry] = build_inbox(deps.cases.open_cases(), {}, [], LATER, deps.policy)
    assert (entry.reason, entry.reason_text, entry.order_id) == ("photo_review", "照片待审核", order.order_id)
    rasa = Conversations()
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.APPROVE, "小王", LATER, rasa)
    assert rasa.said == [("r1", "EXTERNAL_case_changed", {"case_id": str(case.id), "change": "photo_approved"})]
    assert outcome.notice.delivered and outcome.case.state == CaseState.WAITING_CUSTOMER
    assert "小王已审核照片" in outcome.case.next_step and not awaiting_review(outcome.case)
    assert [f.value for f in facts_of(deps.store, case.id, FactKind.PHOTO_REVIEW)] == ["approved"]
    assert [p.kind for p in deps.cases.promises(case.id)] == [PromiseKind.HANDLE_AFTER_RETURN]
    note = deps.store.get_order(order.order_id).notes[-1]  # 审查后插旗备注 (001)
    assert note.kind == "photo_confirmed" and note.author == "小王"
    assert build_inbox(deps.cases.open_cases(), {}, [], LATER, deps.policy) == []
    names, texts = told(deps, dispatcher, make_tracker, case.id, CaseChange.PHOTO_APPROVED)
    assert names == ["utter_case_photo_approved", "utter_return_address"]
    said = "\n".join(texts)
    assert order.order_id in texts[0] and deps.policy.return_address in texts[1] and deps.policy.return_phone in said
    assert "{" not in said and "}" not in said and "寄回" in texts[0]
    # a second verdict on the same photos: nothing waits for one
    with pytest.raises(ReviewRefused) as refused:
        review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.APPROVE, "小王", LATER, rasa)
    assert refused.value.status == 409


def test_a_wrong_item_confirmed_says_so(deps, tmp_path, dispatcher, make_tracker):
    _, case = photographed_case(deps, tmp_path, intent="wrong_item")
    review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.APPROVE, "小王", LATER, Conversations())
    names, texts = told(deps, dispatcher, make_tracker, case.id, CaseChange.PHOTO_APPROVED)
    assert names == ["utter_case_wrong_item_confirmed", "utter_return_address"] and "发错" in texts[0]


def test_refused_the_reason_is_said_kindly_and_recorded(deps, tmp_path, dispatcher, make_tracker):
    _, case = photographed_case(deps, tmp_path)
    for reason, status in (("", 400), ("because", 400), ("opened", 400)):  # a cup is no consumable
        with pytest.raises(ReviewRefused) as refused:
            review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.REFUSE, "小王", LATER, Conversations(),
                          reason=reason)
        assert refused.value.status == status
    assert facts_of(deps.store, case.id) == []  # nothing recorded for a refused verdict
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.REFUSE, "小王", LATER, Conversations(),
                            reason="misuse")
    assert outcome.case.state == CaseState.RESOLVED and outcome.case.handler == "小王"
    assert "不予办理（使用或保管不当）" in outcome.case.next_step
    names, texts = told(deps, dispatcher, make_tracker, case.id, CaseChange.PHOTO_REFUSED)
    assert names == ["utter_case_photo_refused", "utter_refuse_misuse"]
    assert "保管不当" in texts[1] and "抱歉" in texts[1]


def test_a_notice_rasa_did_not_take_is_recorded_to_be_said_again(deps, tmp_path):
    _, case = photographed_case(deps, tmp_path)
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.APPROVE, "小王", LATER, Conversations(up=False))
    assert not outcome.notice.delivered
    assert [(n.change, n.delivered) for n in notices_of(deps.store, case.id)] == [(CaseChange.PHOTO_APPROVED, False)]
    assert facts_of(deps.store, case.id, FactKind.PHOTO_REVIEW)  # the verdict stands


def test_a_discount_up_to_the_shipping_fee_is_granted_and_recorded(deps, tmp_path, dispatcher, make_tracker):
    order, case = photographed_case(deps, tmp_path)
    cap = deps.policy.compensation_cap
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.DISCOUNT, "小王", LATER, Conversations(),
                            amount=cap, problem="外盒压扁，不影响使用")
    given = outcome.compensation
    assert (given.amount, given.problem, given.offered_by, given.offered_at, given.state) == (
        cap, "外盒压扁，不影响使用", "小王", LATER, CompensationState.GRANTED)
    assert outcome.case.state == CaseState.WAITING_SHOP and "财务" in outcome.case.next_step
    names, texts = told(deps, dispatcher, make_tracker, case.id, CaseChange.COMPENSATION_GRANTED)
    assert names == ["utter_case_compensation_granted"] and f"¥{cap:.2f}" in texts[0] and "已登记" in texts[0]
    card = order_card(deps.store.get_order(order.order_id), [outcome.case], LATER, deps.policy,
                      compensations=compensations_of_order(deps.store, order.order_id))
    [shown] = card["compensations"]
    assert (shown["amount"], shown["problem"], shown["offered_by"], shown["state_text"]) == (
        f"¥{cap:.2f}", "外盒压扁，不影响使用", "小王", "已批出")
    # the pending notice is not said for a granted one: only what is recorded is told
    _, pending = told(deps, type(dispatcher)(), make_tracker, case.id, CaseChange.COMPENSATION_PENDING)
    assert pending == []


def test_a_discount_above_the_shipping_fee_waits_for_a_supervisor(deps, tmp_path, dispatcher, make_tracker):
    order, case = photographed_case(deps, tmp_path)
    above = deps.policy.compensation_cap + Decimal("0.01")
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.DISCOUNT, "小王", LATER, Conversations(),
                            amount=above, problem="杯身划痕")
    assert outcome.compensation.state == CompensationState.PENDING
    assert outcome.case.state == CaseState.NEEDS_APPROVAL and outcome.case in deps.cases.awaiting_approval()
    assert PromiseKind.APPROVAL in [p.kind for p in deps.cases.promises(case.id)]
    names, texts = told(deps, dispatcher, make_tracker, case.id, CaseChange.COMPENSATION_PENDING)
    assert names == ["utter_case_compensation_pending"] and "主管审批" in texts[0] and "已为您提交" in texts[0]
    # the supervisor approves (web/approvals.py): who and when are recorded on it
    request = compensation_request(outcome.compensation)
    assert request == f"折价补偿 ¥{above:.2f}"
    reply = decision_reply(outcome.case, True, "", request)
    assert reply.facts["request"] == request
    decided = decide_compensation(deps.store, outcome.compensation.id, True, "主管老李", LATER)
    assert (decided.state, decided.decided_by, decided.decided_at) == (CompensationState.APPROVED, "主管老李", LATER)
    assert decide_compensation(deps.store, outcome.compensation.id, False, "主管老李", LATER) is None


@pytest.mark.parametrize("raw", ["", "abc", "0", "-1", "1.234", "NaN", "Infinity", None])
def test_a_discount_amount_must_be_yuan(raw):
    with pytest.raises(ReviewRefused):
        parse_amount(raw)


def test_a_discount_needs_its_problem_and_no_more_than_was_paid(deps, tmp_path):
    order, case = photographed_case(deps, tmp_path)
    for amount, problem in ((Decimal("5"), ""), (Decimal("5"), "{x}"), (order.amount_paid + 1, "划痕")):
        with pytest.raises(ReviewRefused):
            review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.DISCOUNT, "小王", LATER, Conversations(),
                          amount=amount, problem=problem)
    assert compensations_of_order(deps.store, order.order_id) == []
    assert awaiting_review(deps.cases.get(case.id))


def test_the_photo_received_note_starts_as_the_inbox_reads_it(notes):
    assert notes.templates["utter_photo_received"]["next_step"].startswith(PHOTO_REVIEW_STEP)
    assert notes.templates["utter_photo_received"]["state"] == CaseState.WAITING_SHOP.value


def test_a_discount_preferred_is_recorded_on_the_quality_case(deps, tmp_path, dispatcher, make_tracker):
    from actions.triage import ActionPreferDiscount

    def prefer(conversation):
        d = type(dispatcher)()
        tracker = make_tracker(text="不用退了，补偿一点就行", intent="prefer_discount", sender_id=conversation)
        asyncio.run(ActionPreferDiscount(deps).run(d, tracker, {}))
        return d.messages

    [none] = prefer("nobody")
    assert none["response"] == "utter_discount_no_quality_case"
    order, case = photographed_case(deps, tmp_path)
    [said] = prefer("r1")
    assert said["response"] == "utter_discount_wish_recorded" and said["order_id"] == order.order_id
    assert [f.value for f in facts_of(deps.store, case.id, FactKind.DISCOUNT_WISH)] == ["折价，不退换"]
    now = deps.cases.get(case.id)
    assert awaiting_review(now) and "客户选择折价" in now.next_step  # still in the inbox as 照片待审核
    text = bubbles(_reply(said), responses())[0]
    assert order.order_id in text and "{" not in text and "已记下" in text


def test_the_case_list_shows_the_verdict_and_the_wish(deps, tmp_path, dispatcher, make_tracker):
    import io

    from actions.triage import ActionPreferDiscount
    from bot.cli import main

    _, case = photographed_case(deps, tmp_path)
    tracker = make_tracker(text="补偿一点就行", intent="prefer_discount", sender_id="r1")
    asyncio.run(ActionPreferDiscount(deps).run(dispatcher, tracker, {}))
    review_photos(deps.cases, deps.notes, deps.policy, case.id, Verdict.DISCOUNT, "小王", LATER, Conversations(),
                  amount=Decimal("5.00"), problem="外盒压扁")
    out = io.StringIO()
    assert main(["--db", str(deps.store.engine.url), "cases", "--all"], out=out) == 0
    listed = out.getvalue()
    assert "照片审核: discount" in listed and "客户意愿: 折价，不退换" in listed and "折价 ¥5.00（外盒压扁）" in listed


def test_the_courier_damage_after_signing_says_that_a_proxy_signed_for_the_buyer(deps):
    order = deps.store.get_order("2938475610293840001")  # signed by the door guard
    assert order.shipment.signed_by
    reply = draft("quality_issue", order, NOW, deps.policy, Context(text="快递把箱子压烂了"))
    assert reply.response == "utter_quality_courier_damage_signed"
    [text] = bubbles(resolved(reply, responses()), responses())
    assert "代签也算签收" in text and "签收人负责" in text


@pytest.mark.parametrize("verdict, extra, response", [
    (Verdict.APPROVE, {}, "utter_case_photo_approved"),
    (Verdict.REFUSE, {"reason": "gift"}, "utter_case_photo_refused"),
    (Verdict.DISCOUNT, {"amount": Decimal("1.00"), "problem": "划痕"}, "utter_case_compensation_granted"),
    (Verdict.DISCOUNT, {"amount": "above the cap", "problem": "划痕"}, "utter_case_compensation_pending"),
])
def test_a_verdict_s_case_note_is_case_notes_yml_s_filled(deps, tmp_path, verdict, extra, response):
    """The state, next step, promise (and an approval's order note) of a verdict are the
    entry of the response that tells the customer, every placeholder filled."""
    order, case = photographed_case(deps, tmp_path)
    if extra.get("amount") == "above the cap":
        extra = {**extra, "amount": deps.policy.compensation_cap + Decimal("0.01")}
    outcome = review_photos(deps.cases, deps.notes, deps.policy, case.id, verdict, "小王", LATER, Conversations(),
                            **extra)
    entry = deps.notes.templates[response]
    assert outcome.case.state.value == entry["state"]
    assert "小王" in outcome.case.next_step and not set("{}〔") & set(outcome.case.next_step)
    promised = [p.kind.value for p in deps.cases.promises(case.id)]
    assert promised == ([entry["promise"]] if entry.get("promise") else [])
    notes = deps.store.get_order(order.order_id).notes
    if verdict == Verdict.APPROVE:
        assert notes[-1].kind == "photo_confirmed" and notes[-1].text == entry["note"]
    if verdict == Verdict.REFUSE:
        assert f"（{deps.notes.templates['utter_refuse_gift']['reason']}）" in outcome.case.next_step
