"""The inbox order and the order card (bot/workbench/inbox.py, card.py): pure functions."""

from datetime import timedelta

from bot.shop.cases import CaseLog, CaseState
from bot.workbench.card import order_card, overdue
from bot.workbench.inbox import Activity, build_inbox
from tests.helpers.shop import NOW


def register(log, conversation, intent, state=CaseState.ESCALATED, minutes_ago=0, **extra):
    return log.register(conversation_id=conversation, intent=intent, state=state, next_step="",
                        note="n", now=NOW - timedelta(minutes=minutes_ago), **extra)


def activity(cid, minutes_ago=0, not_understood=False, text="最后一句"):
    at = NOW - timedelta(minutes=minutes_ago)
    return Activity(cid, at, text, at, not_understood=not_understood, paused=False)


def test_complaints_and_overdue_promises_first_then_messages_then_requests(store, policy):
    log = CaseLog(store)
    register(log, "asks", "request_human", minutes_ago=30)
    register(log, "left", "request_human", minutes_ago=5, customer_message="晚上留言")
    register(log, "angry", "complaint", minutes_ago=1)
    hours = policy.courier_answer_hours + 1
    register(log, "late", "signed_not_received", state=CaseState.WAITING_SHOP, minutes_ago=hours * 60)
    register(log, "calm", "track_parcel", state=CaseState.RESOLVED)
    entries = build_inbox(log.open_cases(), {}, [activity("lost", 2, not_understood=True)], NOW, policy)
    assert [(e.conversation_id, e.reason) for e in entries] == [
        ("late", "overdue"), ("angry", "complaint"), ("left", "message"), ("asks", "request_human"),
        ("lost", "not_understood")]
    asks = entries[3]
    assert asks.waiting_seconds == 30 * 60 and asks.reason_text == "转人工" and asks.held_by is None


def test_held_and_live_conversations(store, policy):
    log = CaseLog(store)
    register(log, "asks", "request_human")
    live = [activity("asks"), activity("chatting", 3)]
    waiting = build_inbox(log.open_cases(), {"asks": "li", "other": "wang"}, live, NOW, policy)
    assert [(e.conversation_id, e.held_by, e.reason) for e in waiting] == [
        ("asks", "li", "request_human"), ("other", "wang", "held")]
    everything = build_inbox(log.open_cases(), {}, live, NOW, policy, live=True)
    assert ("chatting", "live") in [(e.conversation_id, e.reason) for e in everything]
    assert everything[0].last_message == "最后一句"


def test_a_resolved_handover_leaves_the_inbox(store, policy):
    log = CaseLog(store)
    register(log, "asks", "request_human", minutes_ago=1)
    before = log.latest_change()
    assert log.resolve_handover("asks", "li", NOW, "人工客服li已处理", ("request_human", "complaint")) == 1
    assert build_inbox(log.open_cases(), {}, [], NOW, policy) == []
    assert log.latest_change() != before  # the inbox stream's mark of a change
    (case,) = log.cases_for_conversation("asks")
    assert case.state == CaseState.RESOLVED and case.handler == "li" and "li已处理" in case.note


def test_the_order_card_has_items_tracking_open_cases_and_a_place_for_photos(store, policy):
    order = store.get_order("2938475610293840001")
    log = CaseLog(store)
    late = register(log, "c", "signed_not_received", state=CaseState.WAITING_SHOP,
                    minutes_ago=(policy.courier_answer_hours + 1) * 60, order_id=order.order_id)
    register(log, "c", "track_parcel", state=CaseState.CLOSED, order_id=order.order_id)
    card = order_card(order, log.cases_for_order(order.order_id), NOW, policy)
    assert card["state_text"] == "已签收" and card["amount_paid"].startswith("¥")
    assert card["shipment"]["events"][0]["description"]  # newest first
    assert [c["id"] for c in card["cases"]] == [late.id] and card["cases"][0]["overdue"] is True
    assert overdue(late, NOW, policy) and card["attachments"] == []


def test_the_order_card_shows_the_customers_photos_behind_the_agent_api(store, policy):
    from bot.shop.uploads import AttachmentRecord

    order = store.get_order("2938475610293840001")
    photo = AttachmentRecord("ab" * 16, 7, "c", order.order_id, "jpeg", 800, 600, 12345, NOW)
    (shown,) = order_card(order, [], NOW, policy, [photo])["attachments"]
    assert shown["case_id"] == 7 and shown["url"] == f"/agent/uploads/{'ab' * 16}"
    assert shown["thumbnail"].endswith("/thumb") and shown["at"]


def test_a_broken_promise_puts_its_conversation_on_top(store, policy):
    """A case whose promise is past due (the promises table, as `cases` lists it) is overdue
    whatever its state: on top, before the messages, requests and the bot's failures."""
    from bot.shop.cases import PromiseKind, PromiseTerms

    log = CaseLog(store)
    register(log, "asks", "request_human", minutes_ago=60)
    register(log, "left", "request_human", minutes_ago=50, customer_message="晚上留言")
    promised = [PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW - timedelta(minutes=1))]
    late = register(log, "late", "signed_not_received", state=CaseState.WAITING_CUSTOMER, promises=promised)
    soon = [PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW + timedelta(hours=1))]
    register(log, "running", "signed_not_received", state=CaseState.WAITING_CUSTOMER, promises=soon)
    broken = {d.case.id for d in log.due(NOW) if d.overdue}
    assert broken == {late.id}
    entries = build_inbox(log.open_cases(), {}, [activity("lost", 2, not_understood=True)], NOW, policy,
                          broken=broken)
    assert [(e.conversation_id, e.reason, e.overdue) for e in entries] == [
        ("late", "overdue", True), ("left", "message", False), ("asks", "request_human", False),
        ("lost", "not_understood", False)]
    # without the promises the same case is not overdue: the promise is what counts
    assert "late" not in [e.conversation_id for e in build_inbox(log.open_cases(), {}, [], NOW, policy)]


def test_a_running_promise_not_the_cases_age_says_when_the_shop_is_late(store, policy):
    """A case waiting for the shop past shop.yml's courier answer time is late, unless a
    promise still runs on it: then only that promise's due time counts (a payout due in 48
    hours is not late after a day; a return's handling has no due time until the parcel
    arrives). The promise past due makes it late again."""
    from bot.shop.cases import PromiseKind, PromiseTerms

    log = CaseLog(store)
    age = (policy.courier_answer_hours + 1) * 60
    payout = [PromiseTerms(PromiseKind.PAYOUT, due_at=NOW + timedelta(hours=20))]
    paying = register(log, "paying", "quality_issue", state=CaseState.WAITING_SHOP, minutes_ago=age,
                      promises=payout)
    waiting = [PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, due_at=None)]
    returning = register(log, "returning", "quality_issue", state=CaseState.WAITING_SHOP, minutes_ago=age,
                         promises=waiting)
    forgotten = register(log, "forgotten", "signed_not_received", state=CaseState.WAITING_SHOP,
                         minutes_ago=age)
    running = log.running_promises([paying.id, returning.id, forgotten.id])
    assert set(running) == {paying.id, returning.id}
    assert [overdue(c, NOW, policy, running.get(c.id)) for c in (paying, returning, forgotten)] == [
        False, False, True]
    assert overdue(paying, NOW + timedelta(hours=21), policy, running[paying.id])
    entries = build_inbox(log.open_cases(), {}, [], NOW, policy, promises=running)
    assert [(e.conversation_id, e.overdue) for e in entries] == [("forgotten", True)]
    # without the promises the age rule alone flags all three, as it did before
    assert {e.conversation_id for e in build_inbox(log.open_cases(), {}, [], NOW, policy)} == {
        "paying", "returning", "forgotten"}
