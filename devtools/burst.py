"""A burst of new customers: N first messages at the same moment, each reply counted by
kind. Used by `make bench BURST=N` (scripts/bench.py --burst) and by the burst test
under `make run`'s supervisor (tests/faults/test_supervised.py, in `make test`).

Most customers write over REST; ``socketio`` of them (every k-th) are chat widgets on
socket.io, connected before the burst (a widget connects when the shop page loads) and
sending their first message with the others. A reply is one of ``KINDS``:

- answered;
- told to wait: over REST the REST deadline passed and the reply says when to ask
  again; over socket.io the turn deadline passed and the reply was "still working",
  followed by the answer (``later_answered`` counts those; a "still working" with no
  answer within the timeout is a broken promise instead);
- refused politely: admission control, come back in N minutes;
- broken promise: a "still working" over REST (nothing can follow it), or one over
  socket.io never followed by the answer;
- fallback: the polite fallback (an action failed), or an action's reply that the shop's
  database failed (the turn is journaled either way);
- error: no 200, no reply, no text, a timeout, a refused or reset connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import aiohttp  # Rasa's own HTTP client library
import socketio

from bot.access.identity import sign
from bot.settings import utcnow
from devtools.load import percentile, scripts_for

KINDS = ("answered", "told_to_wait", "refused_politely", "broken_promises", "fallback", "errors")
CONNECT_AT_ONCE = 25  # widgets connecting at the same time before the burst (page loads)
# engine.io logs "packet queue is empty, aborting" at ERROR for every widget that
# disconnects after the burst; a failure to connect or to get a reply is counted instead
QUIET = logging.getLogger("devtools.burst.engineio")
QUIET.setLevel(logging.CRITICAL)


def guard_replies() -> Dict[str, str]:
    """The start of each of the guard's own replies (up to its first {variable}) → its
    kind; the actions' replies for a failing shop database count as the fallback."""
    from bot.playbook import faults
    from rasa_adapter.project_files import response_text

    kinds = {faults.ASK_AGAIN: "told_to_wait", faults.BUSY: "refused_politely",
             faults.STILL_WORKING: "broken_promises", faults.FALLBACK: "fallback",
             **{name: "fallback" for name in faults.JOURNALED}}
    return {response_text(name).split("{", 1)[0]: kind for name, kind in kinds.items()}


def kind_of_texts(texts: List[Any], replies: Dict[str, str]) -> Tuple[str, str]:
    """The kind of a reply made of ``texts``, and for an error what was wrong with it."""
    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        return "errors", f"no text in {texts!r:.80}"
    for start, kind in replies.items():
        if any(t.startswith(start) for t in texts):
            return kind, ""
    return "answered", ""


def classify_why(status: Optional[int], body: object, replies: Dict[str, str]) -> Tuple[str, str]:
    """The kind of a REST burst reply, and for an error what was wrong with it."""
    if status != 200:
        return "errors", f"HTTP {status}" if status else "no response"
    if not isinstance(body, list) or not body:
        return "errors", f"empty body {body!r:.60}"
    return kind_of_texts([m.get("text") for m in body if isinstance(m, dict)], replies)


def classify(status: Optional[int], body: object, replies: Dict[str, str]) -> str:
    return classify_why(status, body, replies)[0]


@dataclass
class Tally:
    """What a burst got: customers by kind, each reply's time, the errors' reasons."""

    n: int
    socketio: int = 0
    counts: Dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    later_answered: int = 0  # socket.io customers told to wait whose answer then came
    times: List[float] = field(default_factory=list)  # ms to the first reply
    why: Dict[str, int] = field(default_factory=dict)  # error or broken promise → count

    def add(self, kind: str, ms: float, reason: str = "") -> None:
        self.counts[kind] += 1
        self.times.append(ms)
        if reason:
            self.why[reason] = self.why.get(reason, 0) + 1

    @property
    def ok(self) -> bool:
        """No broken promise, no error, and every customer counted."""
        return (self.counts["broken_promises"] == 0 and self.counts["errors"] == 0
                and sum(self.counts.values()) == self.n)

    def line(self) -> str:
        over = f" (socket.io {self.socketio}, REST {self.n - self.socketio})" if self.socketio else ""
        later = f" (later answered over socket.io: {self.later_answered})" if self.socketio else ""
        parts = [f"{kind}={self.counts[kind]}" + (later if kind == "told_to_wait" else "") for kind in KINDS]
        return (f"burst: n={self.n}{over} " + " ".join(parts)
                + f" p50={percentile(self.times, 50):.0f}ms max={max(self.times, default=0):.0f}ms")

    def why_lines(self) -> List[str]:
        """The errors' and broken promises' reasons, most frequent first."""
        return [f"    {count} × {reason}" for reason, count in sorted(self.why.items(), key=lambda kv: -kv[1])]

    def report(self) -> str:
        return "\n".join([self.line(), *self.why_lines()])


def first_message(number: int, secret: str, now: Any) -> Tuple[str, Dict[str, str]]:
    """Customer ``number``'s first message (its first script's first turn) and metadata."""
    script = scripts_for(number)[0]
    metadata = {"buyer_token": sign(script.buyer, secret, now)} if script.buyer else {}
    return script.turns[0].say, metadata


async def rest_customer(http: aiohttp.ClientSession, url: str, sender: str, say: str,
                        metadata: Dict[str, str], start: asyncio.Event, tally: Tally,
                        replies: Dict[str, str]) -> None:
    await start.wait()
    started = time.perf_counter()
    status: Optional[int] = None
    body: object = None
    failure = ""
    try:
        async with http.post(f"{url}/webhooks/rest/webhook",
                             json={"sender": sender, "message": say, "metadata": metadata}) as response:
            status = response.status
            body = await response.json(content_type=None) if status == 200 else None
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
        failure = f"REST {type(e).__name__}: {e}"[:100]
    kind, reason = classify_why(status, body, replies)
    if kind == "broken_promises":
        reason = "REST: a 'still working' reply, which nothing can follow"
    tally.add(kind, (time.perf_counter() - started) * 1000, (failure or reason) if kind != "answered" else "")


class Widget:
    """A socket.io customer as the shop page's widget is one (session_request on
    connect, the buyer token as customData), with the texts it received in order."""

    def __init__(self, url: str, session: str) -> None:
        self.url = url
        self.session = session
        self.client = socketio.AsyncClient(reconnection=False, engineio_logger=QUIET)
        self.texts: asyncio.Queue[Any] = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.client.on("session_confirm", self._confirmed)
        self.client.on("bot_uttered", self._uttered)

    async def _confirmed(self, _data: Any) -> None:
        self.confirmed.set()

    async def _uttered(self, data: Any) -> None:
        self.texts.put_nowait(data.get("text") if isinstance(data, dict) else None)

    async def connect(self, timeout: float) -> None:
        await self.client.connect(self.url, socketio_path="/socket.io", transports=["websocket"],
                                  wait_timeout=timeout)
        await self.client.emit("session_request", {"session_id": self.session})
        await asyncio.wait_for(self.confirmed.wait(), timeout)

    async def say(self, text: str, metadata: Dict[str, str]) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session,
                                                "customData": metadata})

    async def next_text(self, until: float) -> Any:
        return await asyncio.wait_for(self.texts.get(), max(0.01, until - time.monotonic()))


async def widget_customer(widget: Widget, say: str, metadata: Dict[str, str], start: asyncio.Event,
                          tally: Tally, replies: Dict[str, str], timeout: float) -> None:
    await start.wait()
    started = time.perf_counter()
    until = time.monotonic() + timeout
    try:
        await widget.say(say, metadata)
        first = await widget.next_text(until)
    except (socketio.exceptions.SocketIOError, asyncio.TimeoutError) as e:
        tally.add("errors", (time.perf_counter() - started) * 1000, f"socket.io {type(e).__name__}: {e}"[:100])
        return
    ms = (time.perf_counter() - started) * 1000
    kind, reason = kind_of_texts([first], replies)
    if kind != "broken_promises":  # over socket.io "still working" is a promise the answer keeps
        tally.add(kind, ms, reason)
        return
    try:
        while kind_of_texts([await widget.next_text(until)], replies)[0] != "answered":
            pass
    except asyncio.TimeoutError:
        tally.add("broken_promises", ms, f"socket.io: 'still working' and no answer within {timeout:.0f} s")
        return
    tally.add("told_to_wait", ms)
    tally.later_answered += 1


async def connect_widgets(url: str, sessions: List[str], timeout: float, tally: Tally) -> Dict[str, Widget]:
    """The widgets of ``sessions``, connected and confirmed, ``CONNECT_AT_ONCE`` at a
    time; one that cannot connect is counted as an error and left out."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)
    widgets: Dict[str, Widget] = {}

    async def one(session: str) -> None:
        widget = Widget(url, session)
        async with gate:
            try:
                await widget.connect(timeout)
            except (socketio.exceptions.SocketIOError, asyncio.TimeoutError) as e:
                tally.add("errors", 0.0, f"socket.io connect {type(e).__name__}: {e}"[:100])
                await widget.client.disconnect()
                return
        widgets[session] = widget

    await asyncio.gather(*(one(s) for s in sessions))
    return widgets


async def burst(url: str, n: int, secret: str, socketio_customers: int = 0,
                timeout: float = 90.0) -> Tally:
    """``n`` customers' first messages (the scripts' first turns), all sent at once,
    ``socketio_customers`` of them (spread evenly) from widgets: the tally."""
    replies = guard_replies()
    tally = Tally(n, socketio_customers)
    now = utcnow()
    run = f"burst-{os.getpid()}-{int(time.time())}"
    every = n / socketio_customers if socketio_customers else 0.0
    over_socketio = {int(k * every) for k in range(socketio_customers)}
    widgets = await connect_widgets(url, [f"{run}-{k}" for k in sorted(over_socketio)], timeout, tally)
    start = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)  # every customer at once
    try:
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            tasks = []
            for number in range(n):
                sender = f"{run}-{number}"
                say, metadata = first_message(number, secret, now)
                if number not in over_socketio:
                    tasks.append(rest_customer(http, url, sender, say, metadata, start, tally, replies))
                elif sender in widgets:
                    tasks.append(widget_customer(widgets[sender], say, metadata, start, tally, replies, timeout))
            running = [asyncio.ensure_future(t) for t in tasks]
            await asyncio.sleep(0.2)  # every customer waits on the start
            start.set()
            await asyncio.gather(*running)
    finally:
        await asyncio.gather(*(w.client.disconnect() for w in widgets.values()), return_exceptions=True)
    return tally
