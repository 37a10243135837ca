from datetime import timedelta

import pytest

from bot.cli import main
from bot.shop.cases import CaseLog, CaseState
from tests.helpers.shop import NOW


def register(log, **overrides):
    fields = dict(
        conversation_id="c1", intent="wrong_item", state=CaseState.WAITING_CUSTOMER,
        next_step="等照片", note="疑似发错货", now=NOW, order_id="3027461958302749902",
        buyer_account="lin_xiaoyu",
    )
    fields.update(overrides)
    return log.register(**fields)


def test_a_case_is_registered_with_everything_the_next_shift_needs(store):
    case = register(CaseLog(store))
    assert case.id and case.state == CaseState.WAITING_CUSTOMER
    assert (case.order_id, case.buyer_account, case.handler) == ("3027461958302749902", "lin_xiaoyu", "assistant")
    assert case.created_at == case.updated_at == NOW


def test_repeating_a_message_updates_the_same_case(store):
    log = CaseLog(store)
    first = register(log)
    again = register(log, now=NOW + timedelta(minutes=5), note="客户又问了一次")
    assert again.id == first.id
    assert again.note == "客户又问了一次" and again.created_at == NOW
    assert len(log.open_cases()) == 1


def test_another_intent_order_or_conversation_is_another_case(store):
    log = CaseLog(store)
    ids = {
        register(log).id,
        register(log, intent="quality_issue").id,
        register(log, order_id="3027461958302746518").id,
        register(log, conversation_id="c2").id,
        register(log, order_id=None, intent="complaint").id,
    }
    assert len(ids) == 5
    assert register(log, order_id=None, intent="complaint").id in ids  # no order: still one case


def test_a_closed_case_is_not_reopened_by_a_new_message(store):
    log = CaseLog(store)
    first = register(log)
    assert log.close(first.id, NOW, handler="小王")
    assert not log.close(first.id, NOW)
    assert log.open_cases() == []
    assert register(log).id != first.id


def test_ratings_are_stored_and_bounded(store):
    log = CaseLog(store)
    case = register(log)
    assert log.rate(case.id, 5, NOW)
    assert log.get(case.id).rating == 5
    with pytest.raises(ValueError):
        log.rate(case.id, 6, NOW)
    assert not log.rate(999, 3, NOW)


def test_cli_lists_and_closes_cases(store, capsys):
    case = register(CaseLog(store))
    url = str(store.engine.url)
    assert main(["--db", url, "cases"]) == 0
    listing = capsys.readouterr().out
    assert "1 open case(s)" in listing and f"#{case.id}" in listing
    assert "疑似发错货" in listing and "等照片" in listing
    assert main(["--db", url, "cases", "close", str(case.id), "--handler", "小王"]) == 0
    assert main(["--db", url, "cases", "close", str(case.id)]) == 1
    capsys.readouterr()
    assert main(["--db", url, "cases"]) == 0
    assert "0 open case(s)" in capsys.readouterr().out
