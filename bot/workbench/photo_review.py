"""An agent looks at the customer's photos (the case waits in the inbox as 照片待审核)
and gives a verdict (001: 审查后插旗备注):

- approve: a quality problem (or the wrong item) is confirmed; the order is noted, the
  handling promise stands, and only now is the customer told the return address and
  that the shop pays the return shipping;
- refuse: 不予办理, with one of the manual's reasons, told kindly;
- discount: a 折价 instead of a return, recorded (what, how much, who, when); up to the
  shop's cap it is granted, above it the case waits for a supervisor (web/approvals.py).

Everything is recorded before the customer is told (bot/playbook/followups.tell_case_changed);
the message is read back from the record (bot/playbook/verdicts.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Callable, Dict, Optional

from bot.playbook.evidence import PHOTO_REVIEW_STEP as PHOTO_REVIEW_STEP
from bot.playbook.evidence import awaiting_review
from bot.playbook.followups import tell_case_changed
from bot.playbook.policy import ShopPolicy, compensation_needs_approval, handling_days_promised
from bot.playbook.triage import REFUSALS
from bot.playbook.verdicts import APPROVED, DISCOUNT, REFUSED_PREFIX
from bot.shop.casefacts import CaseChange, FactKind, NoticeRecord, record_fact
from bot.shop.cases import CaseLog, CaseRecord, CaseState, PromiseKind, PromiseTerms
from bot.shop.compensation import CompensationRecord, record_offer

# the order note of a confirmed problem (插旗备注)
CONFIRMED_NOTE = "photo_confirmed"
# the agent-facing words of each refusal reason
REASON_WORDS = {
    "misuse": "使用或保管不当", "gift": "赠品不在赔偿范围", "used": "已使用、洗涤或修改",
    "odour": "沾染气味", "gifts_missing": "赠品不全", "opened": "消耗品已拆封", "exchanged_once": "已换过一次",
}
MAX_PROBLEM = 200

Say = Callable[[str, str, Dict[str, str]], bool]


class Verdict(str, enum.Enum):
    APPROVE = "approve"
    REFUSE = "refuse"
    DISCOUNT = "discount"


class ReviewRefused(ValueError):
    """A verdict that cannot be given; ``status`` is the HTTP status it maps to."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReviewOutcome:
    case: CaseRecord
    notice: Optional[NoticeRecord]  # the customer told (delivered) or to be told again
    compensation: Optional[CompensationRecord] = None


def parse_amount(raw: object) -> Decimal:
    """A compensation amount in yuan: positive, at most two decimals."""
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ReviewRefused(400, "amount must be a number of yuan") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ReviewRefused(400, "amount must be positive, in yuan with at most two decimals")
    return amount


def review_photos(cases: CaseLog, policy: ShopPolicy, case_id: int, verdict: Verdict, agent: str,
                  now: datetime, say: Say, reason: str = "", amount: Optional[Decimal] = None,
                  problem: str = "") -> ReviewOutcome:
    """Record ``agent``'s verdict on the case's photos, then tell the customer."""
    case = cases.get(case_id)
    if case is None:
        raise ReviewRefused(404, f"no case {case_id}")
    if not awaiting_review(case):
        raise ReviewRefused(409, f"case {case_id} has no photos waiting for a review")
    store = cases.store
    order = store.get_order(case.order_id) if case.order_id else None
    compensation: Optional[CompensationRecord] = None
    if verdict == Verdict.APPROVE:
        days = handling_days_promised(policy)
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, APPROVED, now)
        cases.promise(case_id, PromiseTerms(PromiseKind.HANDLE_AFTER_RETURN, days=days), now)
        if case.order_id:
            store.add_note(case.order_id, CONFIRMED_NOTE, f"照片已审核，确认{_what(case)}，等买家退货",
                           now, author=agent)
        cases.move_on(case_id, CaseState.WAITING_CUSTOMER,
                      f"{agent}已审核照片，确认{_what(case)}：等客户寄回，收到后{policy.handling_days}天内处理，"
                      "运费按店铺规定退还", now)
        change = CaseChange.PHOTO_APPROVED
    elif verdict == Verdict.REFUSE:
        if reason not in REFUSALS:
            raise ReviewRefused(400, f"reason must be one of {', '.join(REFUSALS)}")
        if reason == "opened" and not (order and any(i.name in policy.unopened_only for i in order.goods)):
            raise ReviewRefused(400, "opened: the order has no goods shop.yml returns only unopened")
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, REFUSED_PREFIX + reason, now)
        cases.resolve(case_id, f"{agent}审核照片后不予办理（{REASON_WORDS[reason]}），已告知客户原因；"
                      "客户有异议时请主管决定", now, handler=agent)
        change = CaseChange.PHOTO_REFUSED
    else:
        if amount is None:
            raise ReviewRefused(400, "a discount needs an amount")
        what = problem.strip()
        if not what or len(what) > MAX_PROBLEM or "{" in what or "}" in what:
            raise ReviewRefused(400, f"a discount needs the problem it is for (1-{MAX_PROBLEM} characters)")
        if order is not None and amount > order.amount_paid:
            raise ReviewRefused(400, f"the discount is more than the order's ¥{order.amount_paid:.2f}")
        needs = compensation_needs_approval(amount, policy)
        compensation = record_offer(store, case_id, case.order_id, what, amount, agent, needs, now)
        record_fact(store, case_id, FactKind.PHOTO_REVIEW, DISCOUNT, now)
        if needs:
            cases.promise(case_id, PromiseTerms(PromiseKind.APPROVAL), now)
            cases.move_on(case_id, CaseState.NEEDS_APPROVAL,
                          f"折价 ¥{amount:.2f}（{what}）超过运费 ¥{policy.compensation_cap:.2f}，"
                          f"{agent}已提交主管审批", now)
            change = CaseChange.COMPENSATION_PENDING
        else:
            cases.move_on(case_id, CaseState.WAITING_SHOP,
                          f"折价 ¥{amount:.2f}（{what}）由{agent}批出：财务退到买家付款账户，不用退货", now)
            change = CaseChange.COMPENSATION_GRANTED
    notice = tell_case_changed(cases, store, case_id, change, say, now)
    updated = cases.get(case_id)
    assert updated is not None
    return ReviewOutcome(updated, notice, compensation)


def _what(case: CaseRecord) -> str:
    return "发错货" if case.intent == "wrong_item" else "质量问题"
