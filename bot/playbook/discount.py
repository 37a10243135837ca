"""「不用退了，补偿一点就行」 on an open quality case: the customer prefers a 折价 (001) to a
return. The wish is recorded on the case and its next step says so; the amount is the
agent's, after the photo (bot/workbench/photo_review.py: within the shipping fee at once, above
it a supervisor's). Nothing is promised but that the agent will say how much."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from bot.playbook.casenotes import CaseNotes
from bot.playbook.evidence import PHOTO_REVIEW_STEP, awaiting_review
from bot.playbook.followups import case_for
from bot.playbook.scenarios import Reply
from bot.shop.casefacts import FactKind, record_fact
from bot.shop.cases import CaseLog
from bot.shop.store import OrderStore

WISH_RECORDED = "utter_discount_wish_recorded"
NO_QUALITY_CASE = "utter_discount_no_quality_case"
WISH = "折价，不退换"


def prefers_discount(cases: CaseLog, notes: CaseNotes, store: OrderStore, conversation: str,
                     order_id: Optional[str], now: datetime) -> Reply:
    """Record the wish on the conversation's open quality case and say so; without one,
    say what can be done instead."""
    case = case_for(cases.open_cases_of(conversation), ("quality_issue",), order_id)
    if case is None:
        return Reply(NO_QUALITY_CASE)
    record_fact(store, case.id, FactKind.DISCOUNT_WISH, WISH, now)
    reply = Reply(WISH_RECORDED, {"order_id": case.order_id or ""}, case_intent=case.intent)
    step = notes.for_reply(reply).next_step
    # photos already waiting for a look stay in the inbox as such
    cases.move_on(case.id, case.state, f"{PHOTO_REVIEW_STEP}；{step}" if awaiting_review(case) else step, now)
    return reply
