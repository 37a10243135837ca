"""The kill test against the real runner: `make run`'s own supervisor (``python -m
devtools.run``, as scripts/run.sh runs it), started on free ports with a var dir of its
own. During scripted conversations the action server, then Rasa, then the web service is
SIGKILLed (as the OOM killer would), one at a time:

- each comes back by itself (supervisord) within ``BACK_WITHIN`` seconds, while the
  others keep their process and keep answering;
- a customer talking to a server that did not die gets an answer or the polite
  fallback, never a refused connection;
- every turn journaled while the action server was down is replayed once it is back;
- every case a customer was told about is in the case log exactly once.

For each server it prints the time to come back and the number of turns answered
with the fallback meanwhile. Ctrl-C (SIGINT) stops the runner cleanly at the end.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
import requests
import socketio

from bot.access.identity import sign
from bot.settings import PROJECT_ROOT, utcnow
from bot.shop.cases import CaseLog
from bot.shop.store import OrderStore
from devtools.burst import burst
from devtools.stack import MODEL, Ports, http_ok, make_shop, port_in_use
from devtools.supervise import rpc
from rasa_adapter import project_files
from tests.helpers.fault_stack import wait_for
from tests.helpers.servers import AGENT_TOKEN, BUYER_SECRET, TOKEN

pytestmark = pytest.mark.e2e

BACK_WITHIN = 15.0  # s: a killed server answers its health check again
STARTUP = 300.0  # s: the runner's banner (loading the model on a busy 2-core machine)
QUALITY = "收到的东西坏了，有破损"  # chen_hao has one recent order: a case in one turn
FALLBACK = project_files.response_text("utter_fallback_unanswered")
FIGURES: Dict[str, Dict[str, float]] = {}
FIGURES_BURST: List[str] = []


@dataclass
class Runner:
    """`make run`'s process, its var dir and ports."""

    proc: subprocess.Popen
    var: Path
    ports: Ports
    output: Path

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.rasa}"

    @property
    def health(self) -> Dict[str, str]:
        return {"actions": f"http://127.0.0.1:{self.ports.actions}/health",
                "rasa": f"{self.rasa_url}/", "web": f"http://127.0.0.1:{self.ports.web}/health"}

    def pid(self, name: str) -> int:
        return int(rpc(self.var / "run").supervisor.getProcessInfo(name)["pid"])

    def up(self, name: str) -> bool:
        return http_ok(self.health[name])

    def cases(self, sender: str) -> List[str]:
        store = OrderStore.from_url(f"sqlite:///{self.var / 'shop.db'}")
        try:
            return [c.intent for c in CaseLog(store).open_cases() if c.conversation_id == sender]
        finally:
            store.engine.dispose()

    def journal(self, prefix: str) -> List[str]:
        with sqlite3.connect(self.var / "tracker.db") as conn:
            return [r[0] for r in conn.execute(
                "SELECT status FROM pending_turns WHERE sender_id LIKE ?", (f"{prefix}%",))]


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Runner]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    tmp = tmp_path_factory.mktemp("supervised")
    var = tmp / "var"
    ports = Ports.free()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SHOP_DATABASE_URL", "RASA_URL", "WEB_URL", "PENDING_TURNS_URL")}
    env.update({
        "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false", "AFTERSALES_VAR": str(var),
        "AFTERSALES_HOST": "127.0.0.1", "ACTION_PORT": str(ports.actions), "RASA_PORT": str(ports.rasa),
        "WEB_PORT": str(ports.web), "RASA_TOKEN": TOKEN, "AGENT_TOKEN": AGENT_TOKEN,
        "BUYER_TOKEN_SECRET": BUYER_SECRET, "SHOP_POLICY": str(make_shop(tmp).policy),
        "TURN_DEADLINE_SECONDS": "6", "PENDING_TURNS_POLL_SECONDS": "0.5",
        "PENDING_TURNS_RETRY_SECONDS": "0.5", "PENDING_TURNS_MAX_ATTEMPTS": "8",
    })
    subprocess.run([sys.executable, "-m", "bot", "init-db"], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True)  # what `make run`'s `db` prerequisite does
    output = tmp / "run.out"
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "devtools.run"], cwd=PROJECT_ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    runner = Runner(proc, var, ports, output)
    try:
        wait_for(lambda: "==> the assistant is up" in output.read_text(errors="replace") or proc.poll() is not None,
                 "make run's banner", timeout=STARTUP, interval=1)
        assert proc.poll() is None, output.read_text(errors="replace")[-3000:]
        yield runner
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(timeout=150)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if FIGURES or FIGURES_BURST:
            lines = [f"    {name:<8} back in {f['back_s']:.1f} s; turns meanwhile: {int(f['turns'])}, "
                     f"fallback {int(f['fallback'])}, refused (the dead server itself) {int(f['refused'])}"
                     for name, f in FIGURES.items()]
            report = "kill test under make run's supervisor:\n" + "\n".join(lines + FIGURES_BURST)
            (PROJECT_ROOT / "reports").mkdir(exist_ok=True)
            (PROJECT_ROOT / "reports" / "supervised.txt").write_text(report + "\n", encoding="utf-8")
            terminal = request.config.pluginmanager.get_plugin("terminalreporter")
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            if terminal is not None and capture is not None:  # past pytest's capture, into make test's output
                with capture.global_and_fixture_disabled():
                    terminal.write_line("\n" + report)
        text = output.read_text(errors="replace")
        assert "==> stopped" in text, text[-3000:]
        assert not any(port_in_use(p) for p in ports.all()), "a server outlived make run's Ctrl-C"


@dataclass
class Talk:
    """Customers, each a new signed-in chen_hao on REST, reporting a quality issue."""

    runner: Runner
    prefix: str
    answered: List[str] = field(default_factory=list)
    fallback: List[str] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)

    def one(self, text: str = QUALITY) -> Optional[str]:
        sender = f"{self.prefix}-{uuid.uuid4().hex[:8]}"
        metadata = {"buyer_token": sign("chen_hao", BUYER_SECRET, utcnow())}
        try:
            response = requests.post(f"{self.runner.rasa_url}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": text, "metadata": metadata}, timeout=60)
        except requests.ConnectionError:
            self.refused.append(sender)
            return None
        response.raise_for_status()
        reply = "\n".join(m.get("text", "") for m in response.json())
        (self.fallback if reply == FALLBACK else self.answered).append(sender)
        assert reply == FALLBACK or "照片" in reply, reply
        return reply


def kill_and_talk(runner: Runner, name: str, talk: Callable[[], object]) -> float:
    """SIGKILL ``name``; ``talk()`` until it answers its health check again with a new
    process: the seconds that took. The other servers keep their process and answer."""
    others = {other: runner.pid(other) for other in ("actions", "rasa", "web") if other != name}
    old = runner.pid(name)
    back: List[float] = []

    def watch() -> None:
        while time.monotonic() - started < 120:
            pid = runner.pid(name)
            if pid and pid != old and runner.up(name):
                back.append(time.monotonic() - started)
                return
            time.sleep(0.1)

    started = time.monotonic()
    os.kill(old, signal.SIGKILL)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    while watcher.is_alive():
        talk()
        time.sleep(0.3)
    assert back, f"{name} did not come back in 120 s"
    for other, pid in others.items():
        assert runner.pid(other) == pid, f"{other} was restarted though only {name} was killed"
        assert runner.up(other), f"{other} stopped answering while {name} was down"
    return back[0]


def record(name: str, back: float, talk: Talk) -> None:
    FIGURES[name] = {"back_s": back, "turns": len(talk.answered) + len(talk.fallback) + len(talk.refused),
                     "fallback": len(talk.fallback), "refused": len(talk.refused)}


def test_the_action_server_killed_comes_back_meanwhile_the_fallback_then_every_case_once(runner):
    talk = Talk(runner, "kill-actions")
    talk.one()  # a conversation before the kill
    back = kill_and_talk(runner, "actions", lambda: talk.one())
    record("actions", back, talk)
    assert back <= BACK_WITHIN
    assert talk.refused == []  # Rasa did not die: it answers, with the fallback while the actions are gone
    assert talk.fallback, "no turn fell in the action server's absence"
    wait_for(lambda: runner.journal("kill-actions")
             and all(s not in ("pending", "replaying") for s in runner.journal("kill-actions")), "the replay")
    assert set(runner.journal("kill-actions")) == {"done"}  # every journaled turn replayed
    for sender in talk.answered + talk.fallback:  # told "photos, please" or "recorded": one case each
        assert runner.cases(sender) == ["quality_issue"], sender


class Widget:
    """A socket.io customer as the shop page's widget is one: it reconnects by itself
    and asks for its session again on every connect (rasa-webchat's session_request)."""

    def __init__(self, url: str, buyer: str) -> None:
        self.session = uuid.uuid4().hex
        self.metadata = {"buyer_token": sign(buyer, BUYER_SECRET, utcnow())}
        self.received: queue.Queue[str] = queue.Queue()
        self.connects = 0
        self.confirmed = threading.Event()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2)
        self.client.on("connect", self._connected)
        self.client.on("session_confirm", lambda _data: self.confirmed.set())
        self.client.on("bot_uttered", lambda data: self.received.put(data.get("text", "")))
        self.client.connect(url, socketio_path="/socket.io", transports=["polling"])  # the sync client has no websocket here
        if not self.confirmed.wait(30):
            self.client.disconnect()
            raise AssertionError("the socket.io session was not confirmed within 30 s")

    def _connected(self) -> None:
        self.connects += 1
        self.confirmed.clear()
        self.client.emit("session_request", {"session_id": self.session})

    def says(self, text: str, expect: str, timeout: float = 60) -> str:
        self.client.emit("user_uttered", {"message": text, "session_id": self.session,
                                          "customData": self.metadata})
        texts: List[str] = []
        deadline = time.monotonic() + timeout
        while not any(expect in t for t in texts):
            texts.append(self.received.get(timeout=max(0.1, deadline - time.monotonic())))
        return "\n".join(texts)


def test_rasa_killed_comes_back_and_the_conversation_continues(runner):
    talk = Talk(runner, "kill-rasa")
    widget = Widget(runner.rasa_url, "lin_xiaoyu")
    try:  # whatever fails, the widget's threads end (a live one hangs pytest at exit)
        widget_and_rest_continue_after_rasa_is_killed(runner, talk, widget)
    finally:
        widget.client.disconnect()
    for sender_id in talk.answered + talk.fallback:
        assert runner.cases(sender_id) == ["quality_issue"], sender_id


def widget_and_rest_continue_after_rasa_is_killed(runner, talk: Talk, widget: Widget) -> None:
    assert "哪一笔订单" in widget.says("我的快递到哪了", "哪一笔订单")
    sender = f"kill-rasa-form-{uuid.uuid4().hex[:8]}"
    metadata = {"buyer_token": sign("lin_xiaoyu", BUYER_SECRET, utcnow())}
    webhook = f"{runner.rasa_url}/webhooks/rest/webhook"

    def say(text: str) -> str:
        response = requests.post(webhook, json={"sender": sender, "message": text, "metadata": metadata}, timeout=60)
        response.raise_for_status()
        return "\n".join(m.get("text", "") for m in response.json())

    assert "哪一笔订单" in say("我的快递到哪了")  # the order form waits for the number
    back = kill_and_talk(runner, "rasa", lambda: talk.one())
    record("rasa", back, talk)
    assert back <= BACK_WITHIN
    reply = say("3027461958302746518")
    assert "773029384756102" in reply and "中通快递" in reply  # where it was
    # the widget reconnected by itself and its conversation goes on too
    wait_for(lambda: widget.connects >= 2 and widget.confirmed.is_set(), "the widget's reconnection", 30)
    assert "773029384756102" in widget.says("3027461958302746518", "773029384756102")


def test_the_web_service_killed_comes_back_while_customers_are_answered(runner):
    talk = Talk(runner, "kill-web")
    back = kill_and_talk(runner, "web", lambda: talk.one())
    record("web", back, talk)
    assert back <= BACK_WITHIN
    assert talk.refused == [] and talk.fallback == []  # Rasa and the actions are untouched
    for sender in talk.answered:
        assert runner.cases(sender) == ["quality_issue"], sender
    page = requests.get(f"http://127.0.0.1:{runner.ports.web}/", timeout=10)
    assert page.ok and "演示店铺" in page.text  # the shop page again


BURST = 500  # customers: their first messages at the same moment
BURST_SOCKETIO = 100  # of them, chat widgets on socket.io (every fifth)
BURST_WITHIN = 240.0  # s: the whole burst, widgets' connections and late answers included


def test_a_burst_of_new_customers_gets_answers_or_an_honest_wait_never_a_broken_promise(runner):
    """BURST first messages at once to make run's Rasa, BURST_SOCKETIO of them from
    widgets: each is answered, told to wait (REST: when to ask again; socket.io: "still
    working", then the answer) or asked politely to come back. None is promised a late
    answer that does not come, none fails, and none gets the fallback: every server is up."""
    started = time.monotonic()
    tally = asyncio.run(asyncio.wait_for(burst(runner.rasa_url, BURST, BUYER_SECRET, BURST_SOCKETIO), BURST_WITHIN))
    seconds = time.monotonic() - started
    FIGURES_BURST.append(f"{tally.report()}\n    (the burst took {seconds:.0f} s)")
    assert tally.ok, tally.report()
    assert tally.counts["fallback"] == 0, tally.report()  # an action failed though nothing was down
    assert tally.counts["answered"] > 0, tally.report()
