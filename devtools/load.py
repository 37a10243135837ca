"""The load the benchmarks send: the scripted customers over REST, their checked replies,
and what the servers cost meanwhile (CPU seconds, peak memory), read from /proc.

Used by `make bench` (scripts/bench.py) for the closed-loop run, the burst and the
open-loop rates (devtools/openloop.py).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import aiohttp  # Rasa's own HTTP client library

from bot.access.identity import sign
from bot.access.ids import find_order_id, find_tracking_number
from bot.settings import utcnow
from bot.shop import sample_data
from bot.shop.store import OrderStore
from devtools import conversations
from devtools.conversations import Conversation, Turn


def scripts() -> List[Conversation]:
    """The conversations the bench repeats."""
    return [c for c in conversations.load() if c.repeatable]


def scripts_for(customer: int) -> List[Conversation]:
    """Customer ``customer``'s conversations, in order: three in four are
    logged-in buyers, the others anonymous; each starts at another script."""
    anonymous = customer % 4 == 3
    pool = [s for s in scripts() if s.anonymous == anonymous]
    start = customer // 4 if anonymous else customer - customer // 4
    return [pool[(start + k) % len(pool)] for k in range(len(pool))]


# -- a copy of the sample buyer for each customer ----------------------------------------


def account_of(conversation: Conversation) -> str:
    """The sample buyer whose orders ``conversation`` is about: its logged-in buyer, or
    the owner of the first order or tracking number an anonymous visitor types."""
    if conversation.buyer is not None:
        return conversation.buyer
    for turn in conversation.turns:
        for number in (find_order_id(turn.say), find_tracking_number(turn.say)):
            account = sample_data.owner(number) if number else None
            if account:
                return account
    raise ValueError(f"{conversation.name}: names no order of the sample shop")


class Copies:
    """Gives every simulated customer a copy of its sample buyer and that buyer's orders
    (bot.shop.sample_data.seed_copies), seeded in the servers' shop database before
    the customer starts. Since replies depend on an order's cases and promises (a
    promise already given, a case in progress), customers sharing the sample orders
    would change each other's answers, and the scripted checks would fail."""

    def __init__(self, db_url: str) -> None:
        self.store = OrderStore.from_url(db_url)
        self.given = 0

    def give(self, conversations: Sequence[Conversation]) -> List[Conversation]:
        """Each conversation on a new copy, seeded now."""
        pairs = [(self.given + 1 + i, account_of(c)) for i, c in enumerate(conversations)]
        self.given += len(pairs)
        sample_data.seed_copies(self.store, utcnow(), pairs)
        return [c.renamed(sample_data.copy_names(k)) for c, (k, _) in zip(conversations, pairs)]


# -- the load ---------------------------------------------------------------------------


@dataclass
class Result:
    script: str
    buyer: bool
    ms: float
    error: Optional[str]


def buttons_of(reply: object) -> List[Dict[str, str]]:
    """The buttons of a REST reply, as Rasa's own REST channel sends them (ours sends
    numbered lines instead, and has none)."""
    if not isinstance(reply, list):
        return []
    return [b for m in reply if isinstance(m, dict) for b in m.get("buttons") or [] if isinstance(b, dict)]


def tapped(say: str, buttons: List[Dict[str, str]]) -> str:
    """What a widget sends when the customer answers ``say`` to a reply with ``buttons``:
    the payload of the button numbered ``say`` (a tap), else ``say``."""
    if say.isdigit() and 1 <= int(say) <= len(buttons):
        return str(buttons[int(say) - 1].get("payload") or say)
    return say


def check(reply: object, turn: Turn) -> Optional[str]:
    """Why a REST reply is not sane, or None. Buttons (Rasa's own REST channel) count
    as numbered lines, as our channel writes them."""
    if not isinstance(reply, list) or not reply:
        return "no reply"
    texts = [m.get("text") for m in reply if isinstance(m, dict)]
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        return "empty message"
    buttons = buttons_of(reply)
    texts += [f"{n}. {b.get('title', '')}" for n, b in enumerate(buttons, 1)]
    joined = "\n".join(str(t) for t in texts)
    missing = turn.missing(joined)
    return f"reply lacks {missing}: {joined[:80]!r}" if missing else None


async def customer(
    http: aiohttp.ClientSession, url: str, name: str, script_list: List[Conversation], turns: int,
    results: List[Result], secret: str, think: float = 0.0,
) -> None:
    """One customer: its conversations one after another (each a new chat) until
    ``turns`` messages are sent or the scripts are done; ``think`` seconds
    between a reply and the next message."""
    now = utcnow()
    sent = 0
    for k, script in enumerate(script_list):
        sender = f"{name}-{k}"
        metadata = {"buyer_token": sign(script.buyer, secret, now)} if script.buyer else {}
        buttons: List[Dict[str, str]] = []
        for turn in script.turns:
            if sent == turns:
                return
            if sent and think:
                await asyncio.sleep(think)
            sent += 1
            started = time.perf_counter()
            try:
                async with http.post(url, json={"sender": sender, "message": tapped(turn.say, buttons),
                                                "metadata": metadata}) as response:
                    body = await response.json(content_type=None) if response.status == 200 else None
                    error = check(body, turn) if response.status == 200 else f"HTTP {response.status}"
                    buttons = buttons_of(body)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
            ms = (time.perf_counter() - started) * 1000
            results.append(Result(script.name, script.buyer is not None, ms, error))
            if error:
                break  # the rest of this conversation would make no sense


def enough(conversations: Sequence[Conversation], turns: int) -> List[Conversation]:
    """The first of ``conversations`` that hold ``turns`` turns between them."""
    taken: List[Conversation] = []
    for conversation in conversations:
        if sum(len(c.turns) for c in taken) >= turns:
            break
        taken.append(conversation)
    return taken


async def load(
    url: str, customers: int, turns: int, concurrency: int, secret: str, think: float = 0.0,
    copies: Optional[Copies] = None,
) -> Tuple[List[Result], float]:
    """``customers`` customers, ``concurrency`` at a time: the results and the seconds taken.
    With ``copies``, each conversation is on a copy of its sample buyer (seeded first)."""
    results: List[Result] = []
    plans = [enough(scripts_for(number) * (turns // 2 + 1), turns) for number in range(customers)]
    if copies is not None:
        given = iter(copies.give([c for plan in plans for c in plan]))
        plans = [[next(given) for _ in plan] for plan in plans]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(customers):
        queue.put_nowait(number)
    webhook = f"{url}/webhooks/rest/webhook"
    run = f"bench-{os.getpid()}-{int(time.time())}"

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            number = queue.get_nowait()
            await customer(http, webhook, f"{run}-{number}", plans[number], turns, results, secret, think)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        return results, time.perf_counter() - started


async def warm_up(url: str, secret: str, copies: Optional[Copies] = None) -> List[Result]:
    """Every conversation once, one after another (not counted); each on a copy of its
    sample buyer if ``copies`` is given."""
    results: List[Result] = []
    todo = copies.give(scripts()) if copies else scripts()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        await customer(http, f"{url}/webhooks/rest/webhook", f"warmup-{os.getpid()}-{time.time():.0f}", todo,
                       sum(len(s.turns) for s in todo), results, secret)
    return results


def process_tree(pid: int) -> List[int]:
    pids, i = [pid], 0
    while i < len(pids):
        try:
            children = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
        except OSError:
            children = []
        pids += [int(c) for c in children]
        i += 1
    return pids


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class MemorySampler(threading.Thread):
    """Peak RSS of each server (its process tree): the kernel's high-water mark
    (VmHWM, which includes loading the model) and the highest sampled VmRSS
    during the load."""

    def __init__(self, procs: Dict[str, subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.procs = procs
        self.load_peak_kb = {name: 0 for name in procs}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            for name, proc in self.procs.items():
                rss = sum(status_kb(p, "VmRSS") for p in process_tree(proc.pid))
                self.load_peak_kb[name] = max(self.load_peak_kb[name], rss)

    def high_water_kb(self) -> Dict[str, int]:
        return {name: sum(status_kb(p, "VmHWM") for p in process_tree(proc.pid))
                for name, proc in self.procs.items()}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
