"""What actions need from the outside world: the order store, policy and clock.

Nothing is created at import time. The action server builds one ``Deps`` on
first use (``default_deps``); tests pass their own to each action.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Hashable, List, Mapping, Optional, Tuple, TypeVar

from rasa_sdk import Tracker

from bot import settings
from bot.access.order_access import OrderAccess, verified_account
from bot.playbook.casenotes import CaseNotes
from bot.playbook.complaints import ComplaintSigns
from bot.playbook.policy import ShopPolicy, load_policy
from bot.shop.cases import CaseLog
from bot.shop.store import OrderFacts, OrderStore
from rasa_adapter.project_files import responses as domain_responses


@functools.lru_cache(maxsize=1)
def _responses() -> Mapping[str, List[Any]]:
    return domain_responses()


@dataclass(frozen=True)
class Deps:
    store: OrderStore
    policy: ShopPolicy
    notes: CaseNotes
    clock: Callable[[], datetime] = settings.utcnow
    secret: str = ""  # the buyer-token secret; empty means no buyer is ever verified
    # the signs that send a complaint to a supervisor (complaint_signs.yml)
    signs: ComplaintSigns = field(default_factory=lambda: ComplaintSigns.load(settings.complaint_signs_path()))

    @property
    def responses(self) -> Mapping[str, List[Any]]:
        """The domain's responses, which fill a reply's phrases (``bot.playbook.render``)."""
        return _responses()

    @property
    def cases(self) -> CaseLog:
        return CaseLog(self.store)

    def account_of(self, tracker: Tracker) -> Optional[str]:
        """The buyer chatting, only if the channel sent a valid signed buyer token.

        The shop page (or any channel) puts ``buyer_token`` in the message
        metadata; anything unsigned, forged or expired is anonymous, and an
        anonymous customer must name their order. Checked once per action call
        (``per_call``): a form step asks for it five or six times.
        """
        def verify() -> Optional[str]:
            metadata = tracker.latest_message.get("metadata") or {}
            token = metadata.get("buyer_token") if isinstance(metadata, dict) else None
            return verified_account(self.store, token, self.secret, self.clock())

        return per_call(tracker, ("account_of", id(self)), verify)

    def orders(self, tracker: Tracker) -> OrderAccess:
        """What this customer may see of the order store (see ``bot.access.order_access``)."""
        return OrderAccess(
            self.store, self.account_of(tracker), tracker.sender_id, self.secret, self.clock()
        )

    def conversation_order(self, tracker: Tracker) -> Optional[OrderFacts]:
        """The order this conversation is about, only if it holds a pass for it."""
        order_id = tracker.get_slot("order_id")
        if not order_id:
            return None
        return self.orders(tracker).get(order_id, tracker.get_slot("order_checked_for"))


# -- what one action call computes once ------------------------------------------------

# id(tracker) -> (a weak reference to it, its values). rasa_sdk builds one Tracker per
# action call and hands the same object to every method of the call (a form's
# required_slots runs three times per step, besides extraction and validation); the
# entry goes when the tracker does.
_calls: Dict[int, Tuple[weakref.ref[Tracker], Dict[Hashable, Any]]] = {}
T = TypeVar("T")


def per_call(tracker: Tracker, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per action call (per ``tracker`` object) and ``key``."""
    entry = _calls.get(id(tracker))
    if entry is None or entry[0]() is not tracker:
        number = id(tracker)
        entry = (weakref.ref(tracker, lambda _gone: _calls.pop(number, None)), {})
        _calls[number] = entry
    values = entry[1]
    if key not in values:
        values[key] = compute()
    return values[key]


@functools.lru_cache(maxsize=4)
def _deps_for(url: str, policy_path: Path, notes_path: Path) -> Deps:
    return Deps(
        store=OrderStore.from_url(url),
        policy=load_policy(policy_path),
        notes=CaseNotes.load(notes_path),
        secret=settings.buyer_secret(),
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
