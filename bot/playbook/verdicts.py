"""What the customer is told when an agent has looked at the photos of their case
(bot/workbench/photo_review.py): the return address and the shop's fee rule once a quality
problem is confirmed, the kind reason of a 不予办理, or the 折价 recorded. Read from
what was recorded on the case, never from what the agent typed."""

from __future__ import annotations

from typing import Any, Dict, Optional

from bot.playbook.facts import fmt_money, return_facts
from bot.playbook.payouts import pay_by
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import Reply
from bot.playbook.triage import REFUSALS
from bot.shop.casefacts import CaseChange, FactKind, facts_of
from bot.shop.cases import CaseLog, CaseRecord
from bot.shop.compensation import CompensationState, latest_for_case

PHOTO_APPROVED = "utter_case_photo_approved"
WRONG_ITEM_CONFIRMED = "utter_case_wrong_item_confirmed"
PHOTO_REFUSED = "utter_case_photo_refused"
COMPENSATION_GRANTED = "utter_case_compensation_granted"
COMPENSATION_PENDING = "utter_case_compensation_pending"
RETURN_ADDRESS = "utter_return_address"
VERDICT_CHANGES = (CaseChange.PHOTO_APPROVED, CaseChange.PHOTO_REFUSED,
                   CaseChange.COMPENSATION_GRANTED, CaseChange.COMPENSATION_PENDING)
APPROVED, REFUSED_PREFIX, DISCOUNT = "approved", "refused:", "discount"


def refusal_response(reason: str) -> str:
    return f"utter_refuse_{reason}"


def approval_response(case: CaseRecord) -> str:
    """What tells the customer their photos confirmed the problem: a wrong item or a quality one."""
    return WRONG_ITEM_CONFIRMED if case.intent == "wrong_item" else PHOTO_APPROVED


def verdict_notice(cases: CaseLog, policy: ShopPolicy, case_id: int, change: CaseChange) -> Optional[Reply]:
    """The message for a verdict on ``case_id``; None when nothing recorded backs it
    (an unknown case, no review fact, no compensation in the state the change names)."""
    case = cases.get(case_id)
    if case is None or change not in VERDICT_CHANGES:
        return None
    store = cases.store
    facts: Dict[str, Any] = {"order_id": case.order_id or ""}
    reviews = facts_of(store, case_id, FactKind.PHOTO_REVIEW)
    verdict = reviews[-1].value if reviews else None
    if change == CaseChange.PHOTO_APPROVED:
        if verdict != APPROVED:
            return None
        return Reply(approval_response(case), {**facts, **return_facts(policy)}, more=(RETURN_ADDRESS,))
    if change == CaseChange.PHOTO_REFUSED:
        reason = verdict[len(REFUSED_PREFIX):] if verdict and verdict.startswith(REFUSED_PREFIX) else None
        if reason not in REFUSALS:
            return None
        order = store.get_order(case.order_id) if case.order_id else None
        goods = [i.name for i in order.goods if i.name in policy.unopened_only] if order else []
        return Reply(PHOTO_REFUSED, {**facts, "unopened_goods": "、".join(goods)}, more=(refusal_response(reason),))
    given = latest_for_case(store, case_id)
    wanted = CompensationState.GRANTED if change == CaseChange.COMPENSATION_GRANTED else CompensationState.PENDING
    if given is None or given.state != wanted:
        return None
    facts.update(amount=fmt_money(given.amount), problem=given.problem)
    if wanted == CompensationState.PENDING:
        return Reply(COMPENSATION_PENDING, facts)
    when = pay_by(cases, policy, case_id)  # the payout promise made with the grant
    return Reply(COMPENSATION_GRANTED, {**facts, "pay_by": when}) if when else None
