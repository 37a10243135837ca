"""Promises as data on their case, and `python -m bot cases` by due time, a day later."""

import asyncio
from datetime import timedelta

from actions.evidence import ActionPhotoReceived
from actions.logistics import ActionSignedNotReceived
from bot.cli import main
from bot.playbook.casenotes import log_case, promise_terms
from bot.playbook.evidence import photos_received
from bot.playbook.scenarios import Reply
from bot.shop.cases import (
    CaseLog,
    CaseRecord,
    CaseState,
    DueCase,
    PromiseKind,
    PromiseRecord,
    PromiseTerms,
    due_order,
)
from bot.shop.uploads import Uploads, clean_image
from tests.helpers.images import photo
from tests.helpers.shop import NOW, responses

DAY = timedelta(days=1)


def case(log, conversation, intent, state=CaseState.WAITING_SHOP, order_id=None, at=NOW, promises=()):
    return log.register(conversation_id=conversation, intent=intent, state=state, next_step="下一步",
                        note=f"{intent} 备注", now=at, order_id=order_id, promises=promises)


def test_due_order_puts_broken_promises_first_then_the_soonest():
    def rec(i, due=None, days=None):
        c = CaseRecord(i, f"c{i}", None, None, "x", CaseState.WAITING_SHOP, "", "", None, "assistant", None,
                       created_at=NOW - DAY, updated_at=NOW - timedelta(hours=i))
        p = PromiseRecord(i, i, PromiseKind.ANSWER_BY, due, days, NOW, None) if due or days else None
        return c, p

    rows = [rec(1), rec(2, due=NOW + 3 * DAY), rec(3, due=NOW - timedelta(hours=2)),
            rec(4, due=NOW - DAY), rec(5, days=2), rec(6, due=NOW + DAY)]
    listed = due_order([c for c, _ in rows], [p for _, p in rows if p], NOW)
    assert [d.case.id for d in listed] == [4, 3, 6, 2, 5, 1]
    assert [d.overdue for d in listed] == [True, True, False, False, False, False]
    assert isinstance(listed[0], DueCase)


def test_a_kept_promise_no_longer_places_its_case(store):
    log = CaseLog(store)
    c = case(log, "c1", "signed_not_received", promises=[PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW + DAY)])
    assert log.due(NOW + 2 * DAY)[0].overdue
    assert log.keep(c.id, PromiseKind.ANSWER_BY, NOW + 2 * DAY)
    assert not log.keep(c.id, PromiseKind.ANSWER_BY, NOW + 2 * DAY)
    listed = log.due(NOW + 2 * DAY)
    assert listed[0].promise is None and not listed[0].overdue


def test_asking_again_never_moves_a_promised_date(store):
    log = CaseLog(store)
    first = PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW + DAY)
    c = case(log, "c1", "signed_not_received", promises=[first])
    later = PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW + 3 * DAY)
    case(log, "c1", "signed_not_received", at=NOW + 2 * DAY, promises=[later])  # the same case again
    assert [p.due_at for p in log.promises(c.id)] == [NOW + DAY]


def test_handling_starts_when_the_return_arrives(store, policy):
    log = CaseLog(store)
    terms = promise_terms(PromiseKind.HANDLE_AFTER_RETURN, None, NOW, policy)
    assert terms == (PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2),)  # returns.handling_days 1-2
    c = case(log, "c1", "quality_issue", state=CaseState.WAITING_CUSTOMER, promises=terms)
    assert log.promises(c.id)[0].due_at is None and not log.due(NOW + 30 * DAY)[0].overdue
    arrived = log.return_arrived(c.id, NOW + 5 * DAY)
    assert arrived.due_at == NOW + 7 * DAY
    assert log.due(NOW + 8 * DAY)[0].overdue


def test_a_scenario_reply_records_its_promise(deps, dispatcher, make_tracker):
    # signed for by someone else: the shop promises the courier's answer within courier.answer_within_hours
    tracker = make_tracker(slots={"order_id": "2938475610293840001"}, intent="signed_not_received",
                           buyer="wang_fang")
    asyncio.run(ActionSignedNotReceived(deps).run(dispatcher, tracker, {}))
    [c] = deps.cases.open_cases()
    [p] = deps.cases.promises(c.id)
    assert p.kind == PromiseKind.ANSWER_BY
    assert p.due_at == NOW + timedelta(hours=deps.policy.courier_answer_hours)


def test_log_case_without_a_policy_records_no_promise(store, notes):
    reply = Reply("utter_price_drop_approval", {"difference": "10.00", "price_items": "x", "order_id": "1"})
    c = log_case(CaseLog(store), notes, conversation="c1", intent="price_drop_refund", reply=reply, order=None,
                 now=NOW)
    assert CaseLog(store).promises(c.id) == []


def test_a_photo_moves_the_waiting_case_on_and_is_acknowledged(deps, dispatcher, make_tracker, tmp_path):
    log = deps.cases
    c = case(log, "wang_fang", "wrong_item", state=CaseState.WAITING_CUSTOMER, order_id="2938475610293840001")
    Uploads(deps.store, tmp_path, 6).attach(c, clean_image(photo(), 5 * 1024 * 1024), NOW)
    tracker = make_tracker(intent="EXTERNAL_photo_received", buyer="wang_fang")
    asyncio.run(ActionPhotoReceived(deps).run(dispatcher, tracker, {}))
    assert responses(dispatcher) == ["utter_photo_received"]
    assert dispatcher.messages[0]["photo_count"] == 1 and dispatcher.messages[0]["photos_left"] == 5
    moved = log.get(c.id)
    assert moved.state == CaseState.WAITING_SHOP and moved.next_step.startswith("照片待审核")
    assert moved.note == c.note  # the case's note stays


def test_no_open_case_no_acknowledgement(deps):
    assert photos_received(deps.cases, deps.notes, deps.store, "nobody", 6, NOW) is None


def test_cli_lists_overdue_first_after_a_simulated_day(store, capsys):
    log = CaseLog(store)
    url = str(store.engine.url)
    soon = case(log, "c-ship", "urge_shipment", order_id="7700112233445500991",
                promises=[PromiseTerms(PromiseKind.SHIP_BY, due_at=NOW + 3 * DAY)])
    courier = case(log, "c-snr", "signed_not_received", order_id="2938475610293840001",
                   promises=[PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW + timedelta(hours=20))])
    nodate = case(log, "c-quality", "quality_issue", state=CaseState.WAITING_CUSTOMER,
                  promises=[PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2)])
    done = case(log, "c-track", "track_parcel", state=CaseState.RESOLVED)
    # now: nothing overdue yet
    assert main(["--db", url, "cases", "--at", "2026-11-20T14:00"]) == 0
    today = capsys.readouterr().out
    assert "3 open case(s), 0 overdue" in today and f"#{done.id} " not in today
    # a day later (the shop's 11月21日 14:00): the courier's answer is 4 hours late
    assert main(["--db", url, "cases", "--at", "2026-11-21T14:00"]) == 0
    tomorrow = capsys.readouterr().out
    assert "3 open case(s), 1 overdue" in tomorrow
    order = [tomorrow.index(f"#{c.id} ") for c in (courier, soon, nodate)]
    assert order == sorted(order)
    assert "OVERDUE 4h answer_by" in tomorrow and "handle_after_return 2d after return" in tomorrow
    assert main(["--db", url, "cases", "--all", "--at", "2026-11-21T14:00"]) == 0
    assert f"#{done.id} " in capsys.readouterr().out
    assert main(["--db", url, "cases", "--at", "tomorrow"]) == 2


def test_cli_keeps_a_promise_and_starts_the_handling_clock(store, capsys):
    log = CaseLog(store)
    url = str(store.engine.url)
    snr = case(log, "c-snr", "signed_not_received",
               promises=[PromiseTerms(PromiseKind.ANSWER_BY, due_at=NOW - DAY)])
    quality = case(log, "c-q", "quality_issue", promises=[PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=2)])
    quiet = ["--no-notice"]  # the customer's notice: tests/unit/test_followups.py
    assert main(["--db", url, "cases", "keep", str(snr.id), "answer_by", *quiet]) == 0
    assert main(["--db", url, "cases", "keep", str(snr.id), "answer_by", *quiet]) == 1  # kept already
    assert main(["--db", url, "cases", "keep", str(snr.id), *quiet]) == 2
    assert main(["--db", url, "cases", "return-arrived", str(quality.id), *quiet]) == 0
    assert "to be handled by" in capsys.readouterr().out
    assert main(["--db", url, "cases", "return-arrived", str(snr.id), *quiet]) == 1
    assert log.promises(snr.id)[0].kept_at is not None
    assert log.promises(quality.id)[0].due_at is not None


def test_the_acknowledgement_is_about_the_case_the_photo_joined(deps, tmp_path):
    log = deps.cases
    first = case(log, "c1", "wrong_item", state=CaseState.WAITING_CUSTOMER, order_id="2938475610293840001")
    second = case(log, "c1", "quality_issue", state=CaseState.WAITING_CUSTOMER, order_id="2938475610293835555",
                  at=NOW - DAY)  # older, but about the order the conversation is on now
    assert log.open_case_for_evidence("c1").id == first.id
    assert log.open_case_for_evidence("c1", order_id="2938475610293835555").id == second.id
    Uploads(deps.store, tmp_path, 6).attach(second, clean_image(photo(), 5 * 1024 * 1024), NOW)
    reply = photos_received(log, deps.notes, deps.store, "c1", 6, NOW)
    assert reply.facts["order_id"] == "2938475610293835555" and reply.facts["photo_count"] == 1
    assert log.get(second.id).state == CaseState.WAITING_SHOP
    assert log.get(first.id).state == CaseState.WAITING_CUSTOMER
    log.close(second.id, NOW)
    assert photos_received(log, deps.notes, deps.store, "c1", 6, NOW) is None  # closed meanwhile


def test_cli_shows_a_supervisors_checklist_with_the_shops_numbers(store, policy, capsys):
    """The checklist of agent_checklists.yml names shop.yml's numbers, never a {placeholder}."""
    from bot.playbook.complaints import SUPERVISOR
    from bot.shop.cases import Escalation

    CaseLog(store).register(conversation_id="c-threat", intent="complaint", state=CaseState.ESCALATED,
                            next_step="主管跟进", note="差评威胁", now=NOW,
                            escalation=Escalation(kind="complaint", priority=2, to=SUPERVISOR, reason="差评"))
    assert main(["--db", str(store.engine.url), "cases", "--at", "2026-11-20T14:00"]) == 0
    listed = capsys.readouterr().out
    assert "补偿超过¥" in listed and "{" not in listed and "}" not in listed
