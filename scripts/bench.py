"""`make bench`: bounded load runs against the real servers, on loopback.

Open loop (``--rates R1,R2,...``, what `make bench` runs; devtools/openloop.py):
customers arrive as a Poisson process at each turn rate in turn, one conversation
each, thinking between turns; per rate p50/p95/p99, errors and CPU per turn; then
the same against a plain Rasa server of the same model (Rasa's own REST channel, no
speedups) as the anchor. Writes reports/bench-open.json; last line:
  bench: capacity=<turns/s> p95=<ms> cpu_per_turn=<ms> one_customer_p50=<ms> errors=<n> rss=<MB>

Closed loop (`make bench CLOSED=1`):

Starts its own action server and Rasa server (devtools/stack.py: the project's model
and endpoints.yml, as `make run`) on free ports against a fresh sample database,
then simulates CUSTOMERS customers of TURNS turns each, CONCURRENCY at a time, over
the REST channel: the scripted conversations of tests/conversations.yml (the
repeatable ones), three customers in four logged-in buyers (signed buyer token in
the metadata), the others anonymous visitors who type their order numbers. Every
reply is checked; one that is missing, empty or lacks what the script expects
counts as an error.

Prints p50/p95/p99 per turn, throughput, errors, the peak RSS of each server
and the training time; writes reports/bench.md (and reports/bench.json). The
last line of output is the summary:
  bench: p50=…ms p95=…ms p99=…ms throughput=…turns/s errors=N rss=…MB

  .venv/bin/python scripts/bench.py [--customers 240] [--turns 10] [--concurrency 20] [--no-train]
BENCH_TRAIN=0 skips the timed training (the figure then comes from the last run that trained).

Burst mode (``--burst N``, `make bench BURST=N [SOCKETIO=K]`; devtools/burst.py): N
customers send their first message at the same moment, over REST, K of them from chat
widgets on socket.io (to its own servers, or ``--url`` of running ones, e.g. `make
run`'s). Each reply is classified: answered; told to wait (REST: the REST deadline
passed and the reply says when to ask again; socket.io: "still working", then the
answer, counted as later answered); refused politely (admission control: come back in
N minutes); broken promise (a "still working" over REST, which nothing can follow, or
one over socket.io never followed by the answer: must be 0); fallback; error (no 200,
no reply, a timeout, a refused connection). Last line:
  burst: n=N answered=… told_to_wait=… refused_politely=… broken_promises=… fallback=… errors=… p50=…ms max=…ms
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot.settings import PROJECT_ROOT
from devtools.burst import burst
from devtools.load import (
    Copies,
    MemorySampler,
    Result,
    cpu_seconds,
    load,
    load_average,
    percentile,
    scripts,
    warm_up,
)
from devtools.stack import (
    MODEL,
    RASA,
    Assistant,
    Ports,
    Secrets,
    StackError,
    make_shop,
    project_endpoints,
)

REPORT = PROJECT_ROOT / "reports" / "bench.md"  # and its figures in bench.json


# -- burst: N first messages at once (devtools/burst.py) ------------------------------


def run_burst(n: int, url: Optional[str], keep: bool, over_socketio: int = 0) -> int:
    """The burst against ``url``, or against servers of its own (as the load run);
    ``over_socketio`` of the customers are chat widgets."""
    secrets = Secrets.from_settings()
    if url:
        tally = asyncio.run(burst(url.rstrip("/"), n, secrets.buyer_secret, over_socketio))
        print(tally.report())
        return 0 if tally.ok else 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    try:
        shop = make_shop(tmp)
        print("==> starting the action server and the Rasa server", flush=True)
        with Assistant(tmp, Ports.free(), secrets, endpoints=project_endpoints(tmp), env=shop.env(),
                       web=False) as servers:
            servers.init_db()
            servers.start()
            print("==> warming up: every conversation once", flush=True)
            asyncio.run(warm_up(servers.rasa_url, secrets.buyer_secret))
            limit = os.environ.get("MAX_CONCURRENT_TURNS", "the default")
            print(f"==> {n} first messages at once, {over_socketio} of them over socket.io "
                  f"(MAX_CONCURRENT_TURNS: {limit})", flush=True)
            tally = asyncio.run(burst(servers.rasa_url, n, secrets.buyer_secret, over_socketio))
            if keep:
                print(f"    server logs: {', '.join(str(s.log) for s in servers.servers.values())}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(tally.report())
    return 0 if tally.ok else 1


# -- open loop: Poisson arrivals at fixed rates, and plain Rasa as the anchor --------------

OPEN_RATES = "10,25,50,100,150"


def profiled_rate(url: str, rate: float, seconds: float, secret: str, procs: Dict[str, subprocess.Popen],
                  think: float, copies: Copies, directory: Path, say) -> Dict[str, List[Tuple[str, float, float]]]:
    """One more run of ``rate`` (not counted) with py-spy sampling our servers: the top
    functions per turn, printed and returned; the collapsed stacks stay in ``directory``."""
    from devtools import openloop

    say(f"==> profiling (py-spy, not counted): {rate:.0f}/s for {seconds:.0f} s")
    profiler = Profiler(procs, directory)
    r = openloop.run_rate(url, rate, seconds, secret, procs, f"profile-{int(time.time())}", think=think,
                          copies=copies)
    profiler.stop()
    tops = profiler.top(len(r.results))
    for name, rows in tops.items():
        say(f"    {name}: ms per turn inside (own)")
        say("\n".join(f"      {inside:6.1f} ({own:5.1f})  {frame[:110]}" for frame, inside, own in rows))
    say(f"    collapsed stacks in {directory}")
    return tops


def run_open_loop(rates: Sequence[float], seconds: float, think: float, keep: bool,
                  profile: Optional[Path] = None, anchor_run: bool = True) -> int:
    """The rates against our servers, then against a plain Rasa server of the same model
    (Rasa's own REST channel, no guard, no speedups; the same action server). With
    ``profile``, one more run of the lowest rate under py-spy."""
    from devtools import openloop
    from devtools.stack import add_rasa, free_port, local_url, write_endpoints

    secrets = Secrets.from_settings()
    tmp = Path(tempfile.mkdtemp(prefix="bench-open-"))
    say = lambda line: print(line, flush=True)  # noqa: E731
    try:
        shop = make_shop(tmp)
        plain_dir = tmp / "plain"
        plain_dir.mkdir()
        (plain_dir / "credentials.yml").write_text("rest:\n", encoding="utf-8")
        with Assistant(tmp, Ports.free(), secrets, endpoints=project_endpoints(tmp), env=shop.env(),
                       web=False) as servers:
            plain_port = free_port()
            add_rasa(servers, plain_port, write_endpoints(plain_dir / "endpoints.yml", project_endpoints(plain_dir),
                                                          servers.action_url),
                     name="plain", credentials=plain_dir / "credentials.yml")
            servers.init_db()
            copies = Copies(shop.db)  # every customer on a copy of its sample buyer and orders
            say("==> starting the action server and the Rasa server")
            servers.start("actions", "rasa")
            running = servers.procs()
            ours = {"rasa": running["rasa"], "action server": running["actions"]}
            sampler = MemorySampler(ours)
            sampler.start()
            asyncio.run(warm_up(servers.rasa_url, secrets.buyer_secret, copies))
            cpu_before = sum(cpu_seconds(proc.pid) for proc in ours.values())
            alone, alone_results = asyncio.run(openloop.one_customer(servers.rasa_url, secrets.buyer_secret,
                                                                     copies=copies))
            alone_cpu = (sum(cpu_seconds(proc.pid) for proc in ours.values()) - cpu_before) * 1000
            say(f"==> one customer alone: p50 {percentile(alone, 50):.0f} ms over {len(alone)} turns, "
                f"CPU per turn {alone_cpu / max(len(alone_results), 1):.1f} ms (both servers)")
            for line in openloop.error_examples(alone_results):
                say(f"           {line}")
            say(f"==> open loop: {seconds:.0f} s of Poisson arrivals per rate, think time mean {think:.1f} s; "
                f"load average {load_average()}")
            mine = openloop.sweep(servers.rasa_url, rates, seconds, secrets.buyer_secret, ours, "ours", say=say,
                                  think=think, copies=copies)
            profile_top: Dict[str, List[Tuple[str, float, float]]] = {}
            if profile:
                profile_top = profiled_rate(servers.rasa_url, min(rates), seconds, secrets.buyer_secret, ours,
                                            think, copies, profile, say)
            sampler.stopped.set()
            sampler.join()
            peak_kb = sampler.high_water_kb()
            servers.stop("rasa")
            plain: List[openloop.RateRun] = []
            plain_alone: List[float] = []
            if anchor_run:
                say(f"==> the same against plain Rasa (its own REST channel, no speedups); "
                    f"load average {load_average()}")
                servers.start("plain")
                plain_url = local_url(plain_port)
                asyncio.run(warm_up(plain_url, secrets.buyer_secret, copies))
                plain_alone, _ = asyncio.run(openloop.one_customer(plain_url, secrets.buyer_secret, copies=copies))
                plain = openloop.sweep(plain_url, rates, seconds, secrets.buyer_secret,
                                       {"rasa": servers.procs()["plain"], "action server": running["actions"]},
                                       "plain", say=say, think=think, copies=copies)
            say(f"    load average {load_average()}")
            if keep:
                say(f"    server logs: {', '.join(str(s.log) for s in servers.servers.values())}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)

    best, anchor = openloop.capacity(mine), openloop.capacity(plain)
    cap = best.rate if best else 0.0
    ratio = ("plain Rasa not run (--no-anchor)" if not anchor_run else
             f"{cap / anchor.rate:.1f}x plain Rasa's capacity ({anchor.rate:.0f}/s)" if anchor
             else "plain Rasa met the target at no rate")
    # at the capacity; with none, at the lowest rate (what a turn costs is known all the same)
    costed = best or (mine[0] if mine else None)
    cpu = sum(costed.cpu_ms_per_turn().values()) if costed else float("nan")
    cpu_parts = ", ".join(f"{k} {v:.1f}" for k, v in costed.cpu_ms_per_turn().items()) if costed else "-"
    rss = sum(peak_kb.values()) / 1024
    errors = sum(r.errors for r in mine)
    say(f"capacity     {cap:.0f} turns/s at p95 < {openloop.P95_TARGET_MS:.0f} ms; {ratio}")
    if not best:
        say("             no rate met the target: " + "; ".join(openloop.why_missed(r) for r in mine))
    where = "at capacity" if best else f"at {costed.rate:.0f}/s (no capacity)" if costed else ""
    plain_cpu = (f"; plain Rasa {sum(plain[0].cpu_ms_per_turn().values()):.1f} ms at {plain[0].rate:.0f}/s"
                 if plain else "")
    say(f"CPU per turn {cpu:.1f} ms {where} ({cpu_parts}){plain_cpu}")
    say(f"one customer p50 {percentile(alone, 50):.0f} ms"
        + (f" (plain Rasa {percentile(plain_alone, 50):.0f} ms)" if plain_alone else ""))
    say(f"peak RSS     {', '.join(f'{k} {v / 1024:.0f} MB' for k, v in peak_kb.items())}")
    figures = {
        "rates": [{"who": who, "rate": r.rate, "achieved": r.achieved, "p50": r.p(50), "p95": r.p(95),
                   "p99": r.p(99), "errors": r.errors, "cpu_ms_per_turn": r.cpu_ms_per_turn()}
                  for who, runs in (("ours", mine), ("plain", plain)) for r in runs],
        "capacity": cap, "plain_capacity": anchor.rate if anchor else 0.0,
        "one_customer_p50_ms": percentile(alone, 50), "rss_mb": rss, "profile": profile_top,
        "at": f"{datetime.now().astimezone():%Y-%m-%d %H:%M}",
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.with_name("bench-open.json").write_text(json.dumps(figures, indent=1))
    say(f"bench: capacity={cap:.0f} p95={best.p(95) if best else float('nan'):.0f} cpu_per_turn={cpu:.1f} "
        f"one_customer_p50={percentile(alone, 50):.0f} errors={errors} rss={rss:.0f}")
    return 0


# -- memory, training, the machine ------------------------------------------------------


def train_seconds(tmp: Path) -> float:
    """Train the model from scratch into ``tmp`` (an empty Rasa cache) and time it."""
    print("==> training the model into a temporary directory (BENCH_TRAIN=0 skips this)", flush=True)
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(tmp / "cache"), "PYTHONPATH": str(PROJECT_ROOT),
           "RASA_TELEMETRY_ENABLED": "false"}
    started = time.perf_counter()
    result = subprocess.run(
        [str(RASA), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
         "--out", str(tmp / "models"), "--fixed-model-name", "bench"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or not (tmp / "models" / "bench.tar.gz").exists():
        print(result.stdout[-3000:], file=sys.stderr)
        raise SystemExit("error: training failed")
    print(f"    trained in {seconds:.0f} s", flush=True)
    return seconds


class Profiler:
    """py-spy (if installed; the bench does not need it) sampling each server
    during the load, written as collapsed stacks to ``directory``."""

    RATE = 100  # samples per second

    def __init__(self, procs: Dict[str, subprocess.Popen], directory: Path) -> None:
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(py_spy).exists():
            raise SystemExit("error: PROFILE needs py-spy: .venv/bin/pip install py-spy")
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {name: directory / f"{name.replace(' ', '_')}.txt" for name in procs}
        self.spies = [
            subprocess.Popen([py_spy, "record", "--pid", str(proc.pid), "--rate", str(self.RATE),
                              "--format", "raw", "--nolineno", "--nonblocking", "--subprocesses",
                              "--output", str(self.files[name])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, proc in procs.items()
        ]

    def stop(self) -> None:
        for spy in self.spies:
            spy.send_signal(signal.SIGINT)
        for spy in self.spies:
            spy.wait(timeout=60)

    def top(self, turns: int, n: int = 12) -> Dict[str, List[Tuple[str, float, float]]]:
        """Per server: (function, CPU ms per turn inside it, of which in itself), biggest first."""
        tops = {}
        for name, path in self.files.items():
            inclusive: Dict[str, int] = {}
            own: Dict[str, int] = {}
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                stack, _, count = line.rpartition(" ")
                if not count.isdigit():
                    continue
                frames = stack.split(";")
                for frame in set(frames[1:]):  # the first frame is the process
                    inclusive[frame] = inclusive.get(frame, 0) + int(count)
                own[frames[-1]] = own.get(frames[-1], 0) + int(count)
            per_turn = 1000 / self.RATE / max(turns, 1)
            ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
            tops[name] = [(frame, samples * per_turn, own.get(frame, 0) * per_turn)
                          for frame, samples in ranked[:n]]
            tops[name + " (by own time)"] = [
                (frame, inclusive[frame] * per_turn, samples * per_turn)
                for frame, samples in sorted(own.items(), key=lambda kv: -kv[1])[:n]]
        return tops


# -- the report -------------------------------------------------------------------------


@dataclass
class Run:
    customers: int
    turns: int
    concurrency: int
    think_ms: float
    results: List[Result]
    seconds: float
    peak_kb: Dict[str, int]
    load_peak_kb: Dict[str, int]
    training: str
    training_s: Optional[float]
    load_before: str
    load_after: str
    tuning: Dict[str, str] = field(default_factory=dict)
    tracker_store: str = ""
    profile: Dict[str, List[Tuple[str, float, float]]] = field(default_factory=dict)
    cpu_s: Dict[str, float] = field(default_factory=dict)  # CPU seconds during the load, per process

    def cpu_per_turn(self) -> str:
        turns = max(len(self.results), 1)
        return ", ".join(f"{name} {seconds * 1000 / turns:.1f} ms ({seconds / self.seconds * 100:.0f}% of a core)"
                         for name, seconds in self.cpu_s.items())

    @property
    def times(self) -> List[float]:
        return [r.ms for r in self.results]

    @property
    def errors(self) -> List[Result]:
        return [r for r in self.results if r.error]

    @property
    def throughput(self) -> float:
        return len(self.results) / self.seconds if self.seconds else 0.0

    @property
    def rss_mb(self) -> float:
        return sum(self.peak_kb.values()) / 1024

    def summary(self) -> str:
        t = self.times
        return (f"bench: p50={percentile(t, 50):.0f}ms p95={percentile(t, 95):.0f}ms "
                f"p99={percentile(t, 99):.0f}ms throughput={self.throughput:.1f}turns/s "
                f"errors={len(self.errors)} rss={self.rss_mb:.0f}MB")


def markdown(run: Run) -> str:
    t = run.times
    lines = [
        "# `make bench`",
        "",
        f"Run at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}); load average before "
        f"{run.load_before}, after {run.load_after} (other work on the machine skews the figures).",
        "",
        "## Setup",
        "",
        f"- {run.customers} simulated customers x {run.turns} turns, {run.concurrency} at a time, "
        "over the REST channel on loopback (one aiohttp client on the same machine); "
        + (f"a customer waits {run.think_ms:.0f} ms after each reply." if run.think_ms else
           "a customer sends its next message as soon as it has the reply (no think time), so "
           f"{run.concurrency} turns are always in flight and mean latency = {run.concurrency} / throughput."),
        f"- Servers started by the bench (devtools/stack.py): `rasa run actions` and `rasa run` with "
        f"`{MODEL.relative_to(PROJECT_ROOT) if MODEL.is_relative_to(PROJECT_ROOT) else MODEL}`, "
        f"`credentials.yml`, and `endpoints.yml` as `make run` uses it (tracker store: {run.tracker_store}); "
        "a fresh sample database (`python -m bot init-db`) in a temporary directory.",
        "- Three customers in four are logged-in sample buyers (signed buyer token in the metadata), "
        "the others anonymous: they type their order or tracking number and prove it with the phone's "
        "last four digits. Each customer goes through the scripted conversations of "
        "tests/conversations.yml one after another, each a new chat, until its turns are sent.",
        "- A turn is one POST to /webhooks/rest/webhook, timed until the whole reply is received. "
        "A reply that is missing, empty or lacks the facts the scenario expects counts as an error "
        "(and ends that conversation). One warm-up run of every conversation is not counted.",
        "- Tuning in effect: the Rasa speed-ups of rasa_adapter/compat.py "
        + ("OFF (`AFTERSALES_SPEEDUPS=0`)" if run.tuning.get("AFTERSALES_SPEEDUPS") == "0" else "on")
        + "; the store's SQLite settings (bot/shop/store.py: pooled connections, WAL, synchronous=NORMAL); "
        + "environment: " + (", ".join(f"`{k}={v}`" for k, v in run.tuning.items()) or "Rasa's defaults") + ".",
        "",
        "## Figures",
        "",
        "| | |",
        "|---|---|",
        f"| turns | {len(t)} in {run.seconds:.1f} s |",
        f"| latency per turn | p50 {percentile(t, 50):.0f} ms, p95 {percentile(t, 95):.0f} ms, "
        f"p99 {percentile(t, 99):.0f} ms, max {max(t, default=0):.0f} ms |",
        f"| throughput | {run.throughput:.1f} turns/s |",
        f"| errors | {len(run.errors)} |",
        f"| CPU per turn | {run.cpu_per_turn()} |",
    ]
    for name in run.peak_kb:
        lines.append(f"| peak RSS, {name} | {run.peak_kb[name] / 1024:.0f} MB "
                     f"(highest during the load: {run.load_peak_kb[name] / 1024:.0f} MB) |")
    lines += [
        f"| rss in the summary | {run.rss_mb:.0f} MB: the SUM of the servers' peak RSS (VmHWM, "
        "which includes loading the model) |",
        f"| training time | {run.training} |",
        "",
        "## Per conversation",
        "",
        "| conversation | customer | turns | p50 ms | p95 ms | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for script in scripts():
        mine = [r for r in run.results if r.script == script.name]
        ms = [r.ms for r in mine]
        lines.append(f"| {script.name} | {script.buyer or 'anonymous'} | {len(mine)} | "
                     f"{percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {sum(1 for r in mine if r.error)} |")
    if run.profile:
        lines += ["", "## Where the time goes (py-spy during this run)", "",
                  "CPU time per turn in each function of the servers (sampled at "
                  f"{Profiler.RATE} Hz; waiting on I/O is not counted; the profiler itself slows the servers).", ""]
        for name, rows in run.profile.items():
            lines += [f"### {name}", "", "| function | ms per turn inside | of which its own |", "|---|---:|---:|"]
            lines += [f"| `{frame}` | {inside:.1f} | {own:.1f} |" for frame, inside, own in rows]
            lines.append("")
    if run.errors:
        lines += ["", "## Errors (first 20)", ""]
        lines += [f"- {r.script}: {r.error}" for r in run.errors[:20]]
    lines += ["", "```", run.summary(), "```", ""]
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------


TUNING_VARIABLES = ("AFTERSALES_SPEEDUPS", "TRACKER_CACHE_SIZE", "SANIC_WORKERS", "TF_INTRA_OP_PARALLELISM_THREADS",
                    "TF_INTER_OP_PARALLELISM_THREADS", "OMP_NUM_THREADS", "SANIC_ACCESS_LOG", "LOG_LEVEL")


def previous_training(figures_file: Path) -> Tuple[str, Optional[float], Optional[str]]:
    """The training time of the last bench run that trained, for BENCH_TRAIN=0."""
    try:
        figures = json.loads(figures_file.read_text())
        seconds, when = float(figures["training_s"]), str(figures["training_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return "not measured (BENCH_TRAIN=0, and no earlier bench run on this checkout trained)", None, None
    return (f"{seconds:.0f} s, from the bench run of {when} (BENCH_TRAIN=0: not measured this time)",
            seconds, when)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=int(os.environ.get("CUSTOMERS", 240)))
    parser.add_argument("--turns", type=int, default=int(os.environ.get("TURNS", 10)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("CONCURRENCY", 20)))
    parser.add_argument("--think-ms", type=float, default=float(os.environ.get("THINK_MS", 0)),
                        help="a customer waits this long after a reply before the next message (default 0)")
    parser.add_argument("--no-train", action="store_true", default=os.environ.get("BENCH_TRAIN", "1") == "0",
                        help="do not time a training (also BENCH_TRAIN=0)")
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--profile", type=Path, default=None,
                        help="sample both servers with py-spy during the load; collapsed stacks into this directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (server logs)")
    parser.add_argument("--burst", type=int, default=0, metavar="N",
                        help="burst mode: N first messages at the same moment (see above)")
    parser.add_argument("--url", default=None, help="burst mode: the Rasa server to send to (default: its own)")
    parser.add_argument("--socketio", type=int, default=0, metavar="K",
                        help="burst mode: K of the N customers are chat widgets on socket.io")
    parser.add_argument("--rates", default=None, metavar="R1,R2,...",
                        help=f"open loop: Poisson arrivals at these turn rates (make bench: {OPEN_RATES})")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SECONDS_PER_RATE", 20)),
                        help="open loop: arrivals per rate last this long")
    parser.add_argument("--no-anchor", action="store_true", default=os.environ.get("ANCHOR", "1") == "0",
                        help="open loop: skip the plain Rasa anchor (also ANCHOR=0), to compare our runs quickly")
    parser.add_argument("--think", type=float, default=float(os.environ.get("THINK_S", 1.0)),
                        help="open loop: a customer's mean think time between turns (s)")
    args = parser.parse_args(argv)
    if args.burst:
        return run_burst(args.burst, args.url, args.keep, args.socketio)
    if args.rates:
        return run_open_loop([float(r) for r in args.rates.split(",")], args.seconds, args.think, args.keep,
                             args.profile, not args.no_anchor)
    if min(args.customers, args.turns, args.concurrency) < 1:
        parser.error("customers, turns and concurrency must be at least 1")

    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        if args.no_train:
            training, training_s, training_at = previous_training(args.report.with_suffix(".json"))
        else:
            training_s = train_seconds(tmp)
            training = f"{training_s:.0f} s (`rasa train` from scratch with an empty cache, this run)"
            training_at = f"{datetime.now().astimezone():%Y-%m-%d %H:%M}"

        shop = make_shop(tmp)
        endpoints = project_endpoints(tmp)
        tracker = endpoints.get("tracker_store") or {}
        tracker_store = (f"{tracker.get('type')} {tracker.get('dialect', '')}".strip()
                         if tracker else "in memory (none configured)")
        secrets = Secrets.from_settings()
        print(f"==> starting the action server and the Rasa server (tracker store: {tracker_store})", flush=True)
        with Assistant(tmp, Ports.free(), secrets, endpoints=endpoints, env=shop.env(), web=False) as servers:
            servers.init_db()
            copies = Copies(shop.db)  # every conversation on a copy of its sample buyer and orders
            servers.start()
            # the names in the report (and bench.json) since the first bench runs
            running = servers.procs()
            procs = {"action server": running["actions"], "rasa": running["rasa"]}
            print("==> warming up: every conversation once", flush=True)
            warm = asyncio.run(warm_up(servers.rasa_url, secrets.buyer_secret, copies))
            if any(r.error for r in warm):
                print("warning: warm-up errors: " + "; ".join(f"{r.script}: {r.error}" for r in warm if r.error),
                      file=sys.stderr)
            print(f"==> {args.customers} customers x {args.turns} turns, {args.concurrency} at a time", flush=True)
            load_before = load_average()
            sampler = MemorySampler(procs)
            sampler.start()
            profiler = Profiler(procs, args.profile) if args.profile else None
            cpu_before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
            client_before = time.process_time()
            results, seconds = asyncio.run(load(servers.rasa_url, args.customers, args.turns, args.concurrency,
                                                secrets.buyer_secret, args.think_ms / 1000, copies))
            cpu = {name: cpu_seconds(proc.pid) - cpu_before[name] for name, proc in procs.items()}
            cpu["bench client"] = time.process_time() - client_before
            if profiler:
                profiler.stop()
            sampler.stopped.set()
            sampler.join()
            peak_kb = sampler.high_water_kb()
            if args.keep:
                print(f"    server logs: {', '.join(str(s.log) for s in servers.servers.values())}")
        run = Run(args.customers, args.turns, args.concurrency, args.think_ms, results, seconds, peak_kb,
                  sampler.load_peak_kb, training, training_s, load_before, load_average(),
                  {k: os.environ[k] for k in TUNING_VARIABLES if k in os.environ}, tracker_store,
                  profiler.top(len(results)) if profiler else {}, cpu)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(markdown(run), encoding="utf-8")
    figures = {
        "p50_ms": percentile(run.times, 50), "p95_ms": percentile(run.times, 95),
        "p99_ms": percentile(run.times, 99), "throughput": run.throughput, "errors": len(run.errors),
        "cpu_ms_per_turn": {k: v * 1000 / max(len(run.results), 1) for k, v in run.cpu_s.items()},
        "rss_mb": {**{k: v / 1024 for k, v in peak_kb.items()}, "sum": run.rss_mb},
        "training_s": training_s,
        "training_at": training_at,
    }
    args.report.with_suffix(".json").write_text(json.dumps(figures, indent=1))
    print()
    print(f"turns        {len(run.times)} in {run.seconds:.1f} s ({run.customers} customers x {run.turns} "
          f"turns, concurrency {run.concurrency}; load average {run.load_before} -> {run.load_after})")
    print(f"latency      p50 {percentile(run.times, 50):.0f} ms  p95 {percentile(run.times, 95):.0f} ms  "
          f"p99 {percentile(run.times, 99):.0f} ms")
    print(f"throughput   {run.throughput:.1f} turns/s")
    print(f"CPU per turn {run.cpu_per_turn()}")
    print(f"errors       {len(run.errors)}" + (f" (first: {run.errors[0].script}: {run.errors[0].error})"
                                               if run.errors else ""))
    for name, kb in peak_kb.items():
        print(f"peak RSS     {name}: {kb / 1024:.0f} MB")
    print(f"training     {training}")
    shown = args.report.relative_to(PROJECT_ROOT) if args.report.is_relative_to(PROJECT_ROOT) else args.report
    print(f"report       {shown}")
    print(run.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
