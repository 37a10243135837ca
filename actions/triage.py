"""The customer's answers in quality triage: a 折价 preferred to a return
(``prefer_discount``; bot/playbook/discount.py)."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.deps import Deps
from actions.followups import _FollowUp
from bot.playbook.discount import prefers_discount
from bot.playbook.scenarios import Reply


class ActionPreferDiscount(_FollowUp):
    what = "record a discount wish"

    def name(self) -> str:
        return "action_prefer_discount"

    def answer(self, deps: Deps, tracker: Tracker) -> Reply:
        return prefers_discount(deps.cases, deps.notes, deps.store, tracker.sender_id,
                                tracker.get_slot("order_id"), deps.clock())
