"""Fixtures: each test gets its own seeded shop database and its own tracker.

The servers' session fixtures (``rasa_url``, ``web_url``, ...) are in
tests/helpers/servers.py, the browser's in tests/helpers/browser.py; constants and builders in tests/helpers/shop.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.deps import Deps
from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import ShopPolicy, load_policy
from bot.settings import PROJECT_ROOT
from bot.shop.sample_data import seed
from bot.shop.store import OrderStore
from tests.helpers import shop

pytest_plugins = ["tests.helpers.servers", "tests.helpers.browser"]


@pytest.fixture
def policy() -> ShopPolicy:
    return load_policy(PROJECT_ROOT / "shop.yml")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OrderStore]:
    store = OrderStore.from_url(f"sqlite:///{tmp_path / 'shop.db'}")
    seed(store, shop.NOW)
    yield store
    store.engine.dispose()


@pytest.fixture
def notes() -> CaseNotes:
    return CaseNotes.load(PROJECT_ROOT / "case_notes.yml")


@pytest.fixture
def deps(store: OrderStore, policy: ShopPolicy, notes: CaseNotes) -> Deps:
    return Deps(store=store, policy=policy, notes=notes, clock=lambda: shop.NOW, secret=shop.SECRET)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return shop.WireDispatcher()


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    return shop.make_tracker
