"""scripts/bench.py --burst: how a reply is counted (answered, told to wait, refused
politely, broken promise, fallback, error)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from bot.playbook import faults
from bot.settings import PROJECT_ROOT
from rasa_adapter.project_files import response_text

spec = importlib.util.spec_from_file_location("bench", PROJECT_ROOT / "scripts" / "bench.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules.setdefault("bench", bench)  # its dataclasses look their module up
spec.loader.exec_module(bench)


def reply(name: str) -> list:
    return [{"text": response_text(name).replace("{wait_minutes}", "3")}]


@pytest.mark.parametrize("status, body, kind", [
    (200, [{"text": "您的订单已发货，快递单号773029384756102"}], "answered"),
    (200, reply(faults.ASK_AGAIN), "told_to_wait"),
    (200, reply(faults.BUSY), "refused_politely"),
    (200, reply(faults.STILL_WORKING), "broken_promises"),
    (200, reply(faults.FALLBACK), "fallback"),
    (200, [], "errors"),
    (500, None, "errors"),
    (None, None, "errors"),  # refused connection, timeout
])
def test_a_burst_reply_is_counted_by_kind(status, body, kind):
    assert bench.classify(status, body, bench.guard_replies()) == kind


def test_the_burst_line_names_every_kind():
    line = bench.burst_line(3, {k: 1 for k in bench.BURST_KINDS}, [100.0, 200.0, 300.0])
    assert line.startswith("burst: n=3 answered=1 told_to_wait=1 refused_politely=1 broken_promises=1")
    assert "errors=1" in line and "p50=200ms" in line


def test_an_error_says_why_and_the_reasons_are_listed_most_frequent_first():
    replies = bench.guard_replies()
    assert bench.classify_why(502, None, replies) == ("errors", "HTTP 502")
    assert bench.classify_why(None, None, replies) == ("errors", "no response")
    assert bench.classify_why(200, [], replies)[1].startswith("empty body")
    assert bench.classify_why(200, [{"image": "x"}], replies)[1].startswith("no text")
    assert bench.why_lines({"HTTP 502": 1, "no response": 3}) == ["    3 × no response", "    1 × HTTP 502"]
    assert bench.why_lines({}) == []
