"""What actions need from the outside world: the order store, policy and clock.

Nothing is created at import time. The action server builds one ``Deps`` on
first use (``default_deps``); tests pass their own to each action.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

from rasa_sdk import Tracker

from bot import settings
from bot.casenotes import CaseNotes
from bot.cases import CaseLog
from bot.policy import ShopPolicy, load_policy
from bot.store import OrderStore


@dataclass(frozen=True)
class Deps:
    store: OrderStore
    policy: ShopPolicy
    notes: CaseNotes
    clock: Callable[[], datetime] = settings.utcnow

    @property
    def cases(self) -> CaseLog:
        return CaseLog(self.store)

    def account_of(self, tracker: Tracker) -> Optional[str]:
        """The shop account of the person chatting, if the sender is a known buyer.

        The channel's sender id is the buyer's chat account in the shop;
        anonymous senders get ``None`` and must name their order.
        """
        sender = tracker.sender_id
        if sender and self.store.buyer(sender) is not None:
            return sender
        return None


@functools.lru_cache(maxsize=4)
def _deps_for(url: str, policy_path: Path, notes_path: Path) -> Deps:
    return Deps(
        store=OrderStore.from_url(url),
        policy=load_policy(policy_path),
        notes=CaseNotes.load(notes_path),
    )


def default_deps() -> Deps:
    return _deps_for(settings.database_url(), settings.policy_path(), settings.case_notes_path())


class UsesDeps:
    """Mixin: ``self.deps`` is the injected ``Deps`` or the server's default."""

    def __init__(self, deps: Optional[Deps] = None) -> None:
        self._deps = deps

    @property
    def deps(self) -> Deps:
        return self._deps or default_deps()
