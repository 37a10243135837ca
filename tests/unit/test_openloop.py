"""devtools/openloop.py: what counts as meeting the target, and the capacity."""

from __future__ import annotations

import asyncio

from devtools.load import Copies, Result, account_of, scripts
from devtools.openloop import (
    RateRun,
    arrivals,
    capacity,
    error_examples,
    mean_turns,
    offered,
    on_copies,
    why_missed,
)


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
    results = asyncio.run(offered("http://127.0.0.1:9", arrivals(40.0, 1.0, think=0.0), secret="x"))
    assert results and all(r.error for r in results)
    assert 10 <= len(results) <= 90  # ~40 first turns in 1 s (a customer stops at its first error)
    schedule = arrivals(40.0, 30.0)
    assert schedule == arrivals(40.0, 30.0)  # the same customers for the same rate, run after run
    assert 0.8 < len(schedule) * mean_turns() / 30.0 / 40.0 < 1.2
    assert all(0 <= at < 30 for at, _, _ in schedule)


def test_a_rate_that_missed_says_why_with_examples():
    r = run(10, [50.0] * 90 + [500.0] * 10, errors=2)
    assert why_missed(r) == "10/s: 2 errors, p95 500 ms" and why_missed(run(10, [5.0])) == "10/s: met"
    r.results.append(Result("other", False, 9.0, "reply lacks 拒签: '...'"))
    assert error_examples(r.results) == ["error: s: HTTP 500", "error: other: reply lacks 拒签: '...'"]


def test_every_customer_gets_a_copy_of_its_buyer_and_orders(tmp_path):
    from bot.access.ids import find_order_id, find_tracking_number
    from bot.shop.sample_data import ORDERS, seed
    from bot.shop.store import OrderStore
    from tests.helpers.shop import NOW

    SAMPLE = {o["id"] for o in ORDERS}
    assert {account_of(c) for c in scripts()} <= {o["buyer"] for o in ORDERS}

    db = f"sqlite:///{tmp_path / 'shop.db'}"
    seed(OrderStore.from_url(db), NOW)
    copies = Copies(db)
    schedule = on_copies(arrivals(25.0, 2.0), copies)
    store = copies.store
    buyers = [script.buyer for _, script, _ in schedule if script.buyer]
    assert buyers and len(set(buyers)) == len(buyers)  # one copy each
    assert all(store.buyer(b) is not None and b.rsplit("_", 1)[1].isdigit() for b in buyers)
    typed = [(find_order_id(t.say), find_tracking_number(t.say)) for _, s, _ in schedule for t in s.turns]
    orders = [store.get_order(o) if o else store.order_by_tracking_number(w) for o, w in typed if o or w]
    assert orders and all(o is not None and o.order_id not in SAMPLE for o in orders)


def test_rasas_own_buttons_are_checked_as_numbered_lines_and_a_number_taps_one():
    from devtools.conversations import Expect, Turn
    from devtools.load import buttons_of, check, tapped

    reply = [{"recipient_id": "c", "text": "请问是哪一笔订单呢？",
              "buttons": [{"title": "补水面膜", "payload": "/inform{\"order_id\":\"1\"}"},
                          {"title": "其他订单", "payload": "/deny"}]}]
    turn = Turn("我的快递到哪了", (Expect("1. 补水面膜"), Expect("2. 其他订单")))
    assert check(reply, turn) is None
    assert check([{"text": "请问是哪一笔订单呢？"}], turn) is not None
    assert tapped("2", buttons_of(reply)) == "/deny"
    assert tapped("3", buttons_of(reply)) == "3" and tapped("好的", buttons_of(reply)) == "好的"
    assert tapped("1", buttons_of([{"text": "1. 补水面膜"}])) == "1"  # our channel: numbered lines


def test_a_closed_loop_customer_takes_the_conversations_its_turns_need():
    from devtools.load import enough

    pool = scripts()
    taken = enough(pool * 3, 10)
    assert sum(len(c.turns) for c in taken) >= 10 > sum(len(c.turns) for c in taken[:-1])
    assert enough(pool, 0) == [] and enough(pool * 2, 1) == pool[:1]
