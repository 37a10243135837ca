"""devtools/openloop.py: what counts as meeting the target, and the capacity."""

from __future__ import annotations

import asyncio

from devtools.load import Result
from devtools.openloop import RateRun, capacity, mean_turns, offered


def run(rate: float, ms: list, errors: int = 0) -> RateRun:
    results = [Result("s", True, m, None) for m in ms] + [Result("s", True, 10.0, "HTTP 500")] * errors
    return RateRun(rate, 10.0, results, {"rasa": 0.5, "action server": 0.1})


def test_a_rate_meets_the_target_with_p95_under_it_and_no_error():
    assert run(10, [50.0] * 100).ok()
    assert not run(10, [50.0] * 90 + [500.0] * 10).ok()  # p95 is 500 ms
    assert not run(10, [50.0] * 100, errors=1).ok()
    assert not run(10, []).ok()  # nothing answered proves nothing


def test_the_capacity_is_the_highest_rate_that_met_the_target():
    runs = [run(10, [20.0] * 50), run(25, [90.0] * 50), run(50, [900.0] * 50), run(100, [30.0] * 5, errors=1)]
    best = capacity(runs)
    assert best is not None and best.rate == 25
    assert capacity([run(10, [900.0] * 50)]) is None
    assert run(10, [1.0] * 50).cpu_ms_per_turn() == {"rasa": 10.0, "action server": 2.0}


def test_arrivals_follow_the_rate_and_a_refused_connection_is_an_error():
    assert 1 < mean_turns() < 10
    # nothing listens on port 9 of loopback: every turn sent is an error, none is lost
    results = asyncio.run(offered("http://127.0.0.1:9", rate=40.0, seconds=1.0, secret="x", think=0.0))
    assert results and all(r.error for r in results)
    assert 10 <= len(results) <= 90  # ~40 first turns in 1 s (a customer stops at its first error)
