"""Open-loop load: customers arrive as a Poisson process at a fixed rate, whatever the
server's speed, and think between their turns, as real customers do.

A closed loop (N customers always waiting) measures only queueing; here a slow server
makes turns pile up, and the latency a customer feels shows it. For each offered rate
(turns per second) the run keeps arrivals going for ``seconds``, then waits for the
customers still talking, and reports p50/p95/p99, errors, the rate achieved and the
CPU each server spent per turn. The capacity is the highest rate with p95 under the
target and no error.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import aiohttp

from devtools.conversations import Conversation
from devtools.load import Copies, Result, cpu_seconds, customer, percentile, scripts, scripts_for

P95_TARGET_MS = 200.0


@dataclass
class RateRun:
    """One offered rate: every turn's result and what each server spent."""

    rate: float
    seconds: float  # from the first arrival to the last reply
    results: List[Result]
    cpu_s: Dict[str, float] = field(default_factory=dict)

    @property
    def times(self) -> List[float]:
        return [r.ms for r in self.results]

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.error)

    @property
    def achieved(self) -> float:
        return len(self.results) / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.times, q)

    def cpu_ms_per_turn(self) -> Dict[str, float]:
        turns = max(len(self.results), 1)
        return {name: s * 1000 / turns for name, s in self.cpu_s.items()}

    def ok(self, target_ms: float = P95_TARGET_MS) -> bool:
        return bool(self.results) and self.errors == 0 and self.p(95) < target_ms


def mean_turns() -> float:
    """The mean number of turns of a first conversation (what one arrival sends)."""
    firsts = [scripts_for(n)[0] for n in range(len(scripts()) * 4)]
    return sum(len(s.turns) for s in firsts) / len(firsts)


def arrivals(rate: float, seconds: float, *, think: float = 1.0,
             seed: int = 7) -> List[Tuple[float, Conversation, float]]:
    """The schedule of a rate: each customer's arrival (seconds from the start), its
    conversation and its think time, Poisson arrivals at ``rate`` turns per second."""
    rng = random.Random(seed)
    arrivals_per_s = rate / mean_turns()
    schedule: List[Tuple[float, Conversation, float]] = []
    at = 0.0
    while True:
        at += rng.expovariate(arrivals_per_s)
        if at >= seconds:
            return schedule
        pause = rng.expovariate(1 / think) if think else 0.0
        schedule.append((at, scripts_for(len(schedule))[0], pause))


Schedule = List[Tuple[float, Conversation, float]]


def on_copies(schedule: Schedule, copies: Optional[Copies]) -> Schedule:
    """The schedule with each customer on a copy of its sample buyer of its own."""
    if copies is None:
        return schedule
    given = copies.give([script for _, script, _ in schedule])
    return [(at, script, pause) for (at, _, pause), script in zip(schedule, given)]


async def offered(url: str, schedule: Schedule, secret: str, *, run: str = "open") -> List[Result]:
    """The customers of ``schedule``, each arriving at its time (seconds from now) for
    its one conversation, pausing its think time between turns."""
    results: List[Result] = []
    webhook = f"{url}/webhooks/rest/webhook"
    tasks: List[asyncio.Task] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for number, (at, script, pause) in enumerate(schedule):
            await asyncio.sleep(max(0.0, start + at - loop.time()))
            tasks.append(asyncio.ensure_future(customer(
                http, webhook, f"{run}-{number}", [script], len(script.turns), results, secret, pause)))
        await asyncio.gather(*tasks)
    return results


def run_rate(url: str, rate: float, seconds: float, secret: str,
             procs: Dict[str, subprocess.Popen], run: str, think: float = 1.0,
             copies: Optional[Copies] = None) -> RateRun:
    """One rate; with ``copies``, each customer's buyer and orders are copied first
    (before the clock and the CPU count start)."""
    schedule = on_copies(arrivals(rate, seconds, think=think), copies)
    before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
    started = time.perf_counter()
    results = asyncio.run(offered(url, schedule, secret, run=run))
    elapsed = time.perf_counter() - started
    cpu = {name: cpu_seconds(proc.pid) - before[name] for name, proc in procs.items()}
    return RateRun(rate, elapsed, results, cpu)


def sweep(url: str, rates: Sequence[float], seconds: float, secret: str,
          procs: Dict[str, subprocess.Popen], label: str, *, say=print,
          stop_after_failures: int = 2, think: float = 1.0, copies: Optional[Copies] = None) -> List[RateRun]:
    """Each rate in turn (lowest first); stops after ``stop_after_failures`` rates in a
    row miss the target (higher ones would only pile up further). Under a rate with
    errors, a few of them (why the rate missed)."""
    runs: List[RateRun] = []
    missed = 0
    for rate in sorted(rates):
        r = run_rate(url, rate, seconds, secret, procs, f"{label}-{int(rate)}-{int(time.time())}",
                     think=think, copies=copies)
        runs.append(r)
        say(f"    {label:<6} {rate:>6.0f}/s offered  {r.achieved:6.1f}/s done  p50 {r.p(50):5.0f}  "
            f"p95 {r.p(95):5.0f}  p99 {r.p(99):5.0f} ms  errors {r.errors}  "
            f"cpu/turn {sum(r.cpu_ms_per_turn().values()):.1f} ms")
        for line in error_examples(r.results):
            say(f"           {line}")
        missed = 0 if r.ok() else missed + 1
        if missed >= stop_after_failures:
            break
    return runs


def error_examples(results: Sequence[Result], n: int = 3) -> List[str]:
    """Up to ``n`` failed turns, one per distinct reason (its conversation and what was wrong)."""
    seen: Dict[str, str] = {}
    for r in results:
        if r.error and r.error not in seen and len(seen) < n:
            seen[r.error] = r.script
    return [f"error: {script}: {error[:160]}" for error, script in seen.items()]


def why_missed(r: RateRun, target_ms: float = P95_TARGET_MS) -> str:
    """Why a rate did or did not meet the target, in a few words."""
    if not r.results:
        return f"{r.rate:.0f}/s: no turn answered"
    reasons = [f"{r.errors} errors"] if r.errors else []
    if r.p(95) >= target_ms:
        reasons.append(f"p95 {r.p(95):.0f} ms")
    return f"{r.rate:.0f}/s: " + (", ".join(reasons) or "met")


def capacity(runs: Sequence[RateRun]) -> Optional[RateRun]:
    """The highest offered rate that met the target (p95 and no errors)."""
    good = [r for r in runs if r.ok()]
    return max(good, key=lambda r: r.rate) if good else None


async def one_customer(url: str, secret: str, rounds: int = 2,
                       copies: Optional[Copies] = None) -> Tuple[List[float], List[Result]]:
    """One customer alone: every conversation ``rounds`` times, turn after turn: the
    times (ms) of the turns answered as expected, and every turn's result."""
    results: List[Result] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for k in range(rounds):
            todo = copies.give(scripts()) if copies else scripts()
            await customer(http, f"{url}/webhooks/rest/webhook", f"alone-{k}-{int(time.time())}",
                           todo, sum(len(s.turns) for s in todo), results, secret)
    return [r.ms for r in results if not r.error], results
