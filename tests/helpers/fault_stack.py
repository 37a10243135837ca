"""A private action server + Rasa pair for fault-injection tests.

Unlike the shared session servers (tests/helpers/servers.py), a ``FaultStack`` may be
killed (SIGKILL), frozen (SIGSTOP) and restarted, one server at a time (the
``signal`` and ``start`` of devtools/stack.py): it has its own shop database, its own
SQLite tracker store (and pending-turn journal) and its own ports.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import requests
from rasa.shared.core.events import BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.access.identity import sign
from bot.settings import utcnow
from bot.shop.cases import CaseLog, CaseRecord
from bot.shop.store import OrderStore
from devtools.stack import Assistant, Ports, make_shop
from tests.helpers.servers import BUYER_SECRET, SECRETS, TOKEN

# short enough for the tests, long enough for a normal turn on a busy 2-core machine
TURN_DEADLINE = 4.0
SETTLE_TIMEOUT = 90.0


class FaultStack(Assistant):
    """Servers ``actions`` and ``rasa`` in ``tmp``, with short deadlines and retries."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.shop = make_shop(tmp)
        self.shop_db = tmp / "shop.db"
        self.tracker_db = tmp / "tracker.db"
        super().__init__(
            tmp, Ports.free(), SECRETS, web=False,
            endpoints={"tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(self.tracker_db)}},
            env={
                **self.shop.env(),
                "TURN_DEADLINE_SECONDS": str(TURN_DEADLINE),
                "PENDING_TURNS_POLL_SECONDS": "0.5",
                "PENDING_TURNS_RETRY_SECONDS": "0.5",
                "PENDING_TURNS_MAX_ATTEMPTS": "6",
                "SHOP_DB_BUSY_TIMEOUT": "0.5",
            },
        )
        self.init_db()
        self.store = OrderStore.from_url(self.shop.db)

    def stop(self, *names: str) -> None:
        super().stop(*names)
        if not names:
            self.store.engine.dispose()

    def log(self, name: str) -> str:
        return self.servers[name].log.read_text(errors="replace")

    # -- what happened -------------------------------------------------------------

    def cases(self, sender: str) -> List[CaseRecord]:
        log = CaseLog(self.store)
        return [c for c in log.open_cases() if c.conversation_id == sender]

    def tracker(self, sender: str) -> DialogueStateTracker:
        """The conversation as Rasa applies it (reverted turns removed)."""
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": TOKEN, "include_events": "ALL"}, timeout=30)
        response.raise_for_status()
        events = [e for e in (Event.from_parameters(d) for d in response.json()["events"]) if e]
        return DialogueStateTracker.from_events(sender, events)

    def turns(self, sender: str) -> List[Any]:
        """(user text, [bot texts]) for every applied user turn."""
        turns: List[Any] = []
        for event in self.tracker(sender).applied_events():
            if isinstance(event, UserUttered):
                turns.append((event.text, []))
            elif isinstance(event, BotUttered) and turns:
                turns[-1][1].append(event.text)
        return turns

    def journal(self) -> List[Dict[str, Any]]:
        with sqlite3.connect(self.tracker_db) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM pending_turns ORDER BY id")]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = SETTLE_TIMEOUT,
             interval: float = 0.3) -> Any:
    """Poll until ``condition()`` is truthy (the background replay is asynchronous)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what} after {timeout:.0f} s")


class Chat:
    """A signed-in buyer chatting over REST on a fresh conversation id."""

    def __init__(self, stack: FaultStack, buyer: str, sender: Optional[str] = None) -> None:
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = sender or f"{buyer}-{uuid.uuid4().hex[:8]}"
        self.metadata = {"buyer_token": sign(buyer, BUYER_SECRET, utcnow())}

    def says(self, text: str, timeout: float = 60) -> str:
        response = requests.post(
            self.url, json={"sender": self.sender, "message": text, "metadata": self.metadata},
            timeout=timeout)
        response.raise_for_status()
        return "\n".join(m.get("text", "") for m in response.json())
