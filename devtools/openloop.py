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
from typing import Dict, List, Optional, Sequence

import aiohttp

from devtools.load import Result, cpu_seconds, customer, percentile, scripts, scripts_for

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


async def offered(url: str, rate: float, seconds: float, secret: str, *, think: float = 1.0,
                  seed: int = 7, run: str = "open") -> List[Result]:
    """Customers arriving at ``rate`` turns per second (Poisson) for ``seconds``, each
    one conversation with exponential think times (mean ``think`` s) between turns."""
    rng = random.Random(seed)
    arrivals_per_s = rate / mean_turns()
    results: List[Result] = []
    webhook = f"{url}/webhooks/rest/webhook"
    tasks: List[asyncio.Task] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        number = 0
        next_at = loop.time()
        while True:
            next_at += rng.expovariate(arrivals_per_s)
            if next_at >= end:
                break
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            script = scripts_for(number)[0]
            pause = rng.expovariate(1 / think) if think else 0.0
            tasks.append(asyncio.ensure_future(customer(
                http, webhook, f"{run}-{number}", [script], len(script.turns), results, secret, pause)))
            number += 1
        await asyncio.gather(*tasks)
    return results


def run_rate(url: str, rate: float, seconds: float, secret: str,
             procs: Dict[str, subprocess.Popen], run: str, think: float = 1.0) -> RateRun:
    before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
    started = time.perf_counter()
    results = asyncio.run(offered(url, rate, seconds, secret, think=think, run=run))
    elapsed = time.perf_counter() - started
    cpu = {name: cpu_seconds(proc.pid) - before[name] for name, proc in procs.items()}
    return RateRun(rate, elapsed, results, cpu)


def sweep(url: str, rates: Sequence[float], seconds: float, secret: str,
          procs: Dict[str, subprocess.Popen], label: str, *, say=print,
          stop_after_failures: int = 2) -> List[RateRun]:
    """Each rate in turn (lowest first); stops after ``stop_after_failures`` rates in a
    row miss the target (higher ones would only pile up further)."""
    runs: List[RateRun] = []
    missed = 0
    for rate in sorted(rates):
        r = run_rate(url, rate, seconds, secret, procs, f"{label}-{int(rate)}-{int(time.time())}")
        runs.append(r)
        say(f"    {label:<6} {rate:>6.0f}/s offered  {r.achieved:6.1f}/s done  p50 {r.p(50):5.0f}  "
            f"p95 {r.p(95):5.0f}  p99 {r.p(99):5.0f} ms  errors {r.errors}  "
            f"cpu/turn {sum(r.cpu_ms_per_turn().values()):.1f} ms")
        missed = 0 if r.ok() else missed + 1
        if missed >= stop_after_failures:
            break
    return runs


def capacity(runs: Sequence[RateRun]) -> Optional[RateRun]:
    """The highest offered rate that met the target (p95 and no errors)."""
    good = [r for r in runs if r.ok()]
    return max(good, key=lambda r: r.rate) if good else None


async def one_customer(url: str, secret: str, rounds: int = 2) -> List[float]:
    """One customer alone: every conversation ``rounds`` times, turn after turn (ms)."""
    results: List[Result] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for k in range(rounds):
            await customer(http, f"{url}/webhooks/rest/webhook", f"alone-{k}-{int(time.time())}",
                           scripts(), sum(len(s.turns) for s in scripts()), results, secret)
    return [r.ms for r in results if not r.error]
