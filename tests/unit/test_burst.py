"""devtools/burst.py (`make bench BURST=N`, the burst test): how a reply is counted
(answered, told to wait, refused politely, broken promise, fallback, error) and what the
tally prints."""

from __future__ import annotations

import pytest

from bot.playbook import faults
from devtools import burst
from rasa_adapter.project_files import response_text


def reply(name: str) -> list:
    return [{"text": response_text(name).replace("{wait_minutes}", "3")}]


@pytest.mark.parametrize("status, body, kind", [
    (200, [{"text": "您的订单已发货，快递单号773029384756102"}], "answered"),
    (200, reply(faults.ASK_AGAIN), "told_to_wait"),
    (200, reply(faults.BUSY), "refused_politely"),
    (200, reply(faults.STILL_WORKING), "broken_promises"),
    (200, reply(faults.FALLBACK), "fallback"),
    (200, reply(faults.SERVICE_UNAVAILABLE), "fallback"),  # the shop's database failed
    (200, reply(faults.ORDER_LOOKUP_FAILED), "fallback"),
    (200, [], "errors"),
    (500, None, "errors"),
    (None, None, "errors"),  # refused connection, timeout
])
def test_a_burst_reply_is_counted_by_kind(status, body, kind):
    assert burst.classify(status, body, burst.guard_replies()) == kind


def test_a_widgets_message_is_counted_by_the_same_replies():
    replies = burst.guard_replies()
    assert burst.kind_of_texts(["正在为您查询"], replies) == ("answered", "")  # not the whole reply's start
    assert burst.kind_of_texts([reply(faults.STILL_WORKING)[0]["text"]], replies)[0] == "broken_promises"
    assert burst.kind_of_texts([None], replies)[0] == "errors"  # a bot_uttered without text


def test_an_error_says_why():
    replies = burst.guard_replies()
    assert burst.classify_why(502, None, replies) == ("errors", "HTTP 502")
    assert burst.classify_why(None, None, replies) == ("errors", "no response")
    assert burst.classify_why(200, [], replies)[1].startswith("empty body")
    assert burst.classify_why(200, [{"image": "x"}], replies)[1].startswith("no text")


def test_the_tally_names_every_kind_and_the_reasons_most_frequent_first():
    tally = burst.Tally(8, socketio=2)
    for kind in burst.KINDS:
        tally.add(kind, 100.0 * (1 + len(tally.times)), "no response" if kind == "errors" else "")
    tally.add("told_to_wait", 700.0)
    tally.later_answered = 1
    tally.add("errors", 800.0, "HTTP 502")
    tally.add("errors", 900.0, "HTTP 502")
    line = tally.line()
    assert line.startswith("burst: n=8 (socket.io 2, REST 6) answered=1 "
                           "told_to_wait=2 (later answered over socket.io: 1) refused_politely=1 broken_promises=1")
    assert "errors=3" in line and "p50=500ms" in line and "max=900ms" in line
    assert tally.why_lines() == ["    2 × HTTP 502", "    1 × no response"]
    assert not tally.ok  # errors, a broken promise, and 9 replies for 8 customers


def test_a_burst_is_ok_only_with_every_customer_counted_and_no_error_or_broken_promise():
    tally = burst.Tally(3)
    for kind in ("answered", "told_to_wait", "refused_politely"):
        tally.add(kind, 10.0)
    assert tally.ok and tally.line().startswith("burst: n=3 answered=1 told_to_wait=1 refused")
    tally.n = 4  # one customer not counted at all
    assert not tally.ok
