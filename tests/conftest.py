"""Fixtures: each test gets its own seeded shop database and its own tracker."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Deps
from bot.access.identity import order_pass, sign
from bot.access.order_access import ANONYMOUS
from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import ShopPolicy, load_policy
from bot.settings import PROJECT_ROOT
from bot.shop.sample_data import seed
from bot.shop.store import OrderStore
from tests.servers import (  # noqa: E402,F401  (session fixtures)
    e2e_dir,
    rasa_logs,
    rasa_url,
    shop,
    web_url,
)

# A fixed "now" (naive UTC): 2026-11-20 06:00 UTC is 14:00 in Shanghai.
NOW = datetime(2026, 11, 20, 6, 0)
SECRET = "test-buyer-token-secret"


@pytest.fixture
def policy() -> ShopPolicy:
    return load_policy(PROJECT_ROOT / "shop.yml")


@pytest.fixture
def store(tmp_path: Path) -> OrderStore:
    store = OrderStore.from_url(f"sqlite:///{tmp_path / 'shop.db'}")
    seed(store, NOW)
    yield store
    store.engine.dispose()


@pytest.fixture
def notes() -> CaseNotes:
    return CaseNotes.load(PROJECT_ROOT / "case_notes.yml")


@pytest.fixture
def deps(store: OrderStore, policy: ShopPolicy, notes: CaseNotes) -> Deps:
    return Deps(store=store, policy=policy, notes=notes, clock=lambda: NOW, secret=SECRET)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    def _make(
        slots: Optional[Dict[str, Any]] = None,
        events: Optional[List[Dict[str, Any]]] = None,
        text: str = "",
        intent: str = "inform",
        entities: Optional[List[Dict[str, Any]]] = None,
        sender_id: str = "anonymous-visitor",
        active_loop: Optional[str] = None,
        buyer: Optional[str] = None,
    ) -> Tracker:
        """``buyer``: the shop page signed that this buyer is logged in."""
        metadata = {"buyer_token": sign(buyer, SECRET, NOW)} if buyer else {}
        slots = dict(slots or {})
        sender_id = buyer or sender_id
        if slots.get("order_id") and "order_checked_for" not in slots:
            # the pass the order form gives once the order is found for this customer
            slots["order_checked_for"] = order_pass(
                SECRET, sender_id, slots["order_id"], buyer or ANONYMOUS
            )
        return Tracker(
            sender_id=sender_id,
            slots=slots,
            latest_message={
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": entities or [],
                "metadata": metadata,
            },
            events=list(events or []),
            paused=False,
            followup_action=None,
            active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return _make


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    """The response names the dispatcher was asked to send."""
    return [m["response"] for m in dispatcher.messages]
