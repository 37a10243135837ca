"""The inbox: which conversations wait for an agent, and in which order.

A pure function of the case log, the holds and the conversations' recent activity:
complaints and overdue promises first, then messages left outside shift hours (they
waited for this shift), then 转人工 and photos waiting for an agent's look (照片待审核),
then conversations the bot failed to understand
twice; within each, the longest waiting first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Collection, Dict, Iterable, List, Mapping, Optional

from bot.playbook.evidence import awaiting_review
from bot.playbook.policy import ShopPolicy
from bot.shop.cases import CaseRecord, CaseState, PromiseRecord
from bot.workbench.card import overdue

HANDOVER_INTENTS = ("request_human", "complaint")
# reason → (priority, the agent's word for it); lower priority first
REASONS = {
    "complaint": (0, "投诉"),
    "overdue": (0, "承诺已超时"),
    "message": (1, "非工作时间留言"),
    "request_human": (2, "转人工"),
    "photo_review": (2, "照片待审核"),
    "not_understood": (3, "连续两次未能理解"),
    "held": (4, "人工处理中"),
    "live": (5, "机器人接待中"),
}


@dataclass(frozen=True)
class Activity:
    """What the tracker store says of a conversation lately."""

    conversation_id: str
    last_at: datetime  # the latest event (naive UTC)
    last_text: str  # the latest customer or bot message
    last_customer_at: Optional[datetime]
    not_understood: bool  # the last two customer messages were not understood, no agent since
    paused: bool


@dataclass(frozen=True)
class InboxEntry:
    conversation_id: str
    reason: str
    reason_text: str
    priority: int
    waiting_since: datetime
    waiting_seconds: int
    buyer: Optional[str]
    order_id: Optional[str]
    last_message: str
    held_by: Optional[str]
    overdue: bool

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["waiting_since"] = self.waiting_since.isoformat() + "Z"
        return data


def _reason(cases: List[CaseRecord], activity: Optional[Activity], late: bool) -> Optional[str]:
    handovers = [c for c in cases if c.intent in HANDOVER_INTENTS and c.state == CaseState.ESCALATED]
    if any(c.intent == "complaint" for c in handovers):
        return "complaint"
    if late:
        return "overdue"
    if any(c.customer_message for c in handovers):
        return "message"
    if handovers:
        return "request_human"
    if any(awaiting_review(c) for c in cases):
        return "photo_review"
    if activity is not None and activity.not_understood:
        return "not_understood"
    return None


def build_inbox(
    open_cases: Iterable[CaseRecord],
    holds: Mapping[str, str],
    activity: Iterable[Activity],
    now: datetime,
    policy: ShopPolicy,
    live: bool = False,
    broken: Collection[int] = (),
    promises: Mapping[int, PromiseRecord] = MappingProxyType({}),
) -> List[InboxEntry]:
    """The conversations waiting for or held by an agent, first the most urgent; with
    ``live`` every recently active conversation too (to watch the bot and step in).
    ``broken``: the ids of the cases whose promise is past due (``CaseLog.due``): their
    conversations are overdue, as is a case left waiting for the shop too long with no
    promise running (``promises``: each case's earliest promise not yet kept; ``overdue``)."""
    by_conversation: Dict[str, List[CaseRecord]] = {}
    for case in open_cases:
        if case.state != CaseState.CLOSED:
            by_conversation.setdefault(case.conversation_id, []).append(case)
    seen = {a.conversation_id: a for a in activity}
    entries = []
    for cid in set(by_conversation) | set(holds) | set(seen):
        cases = sorted(by_conversation.get(cid, []), key=lambda c: c.created_at)
        act = seen.get(cid)
        late = any(c.id in broken or overdue(c, now, policy, promises.get(c.id)) for c in cases)
        reason = _reason(cases, act, late)
        if reason is None and cid in holds:
            reason = "held"
        if reason is None and live and act is not None:
            reason = "live"
        if reason is None:
            continue
        handover = [c for c in cases if c.intent in HANDOVER_INTENTS]
        if handover:
            since = handover[0].created_at
        elif act is not None:
            since = act.last_customer_at or act.last_at
        else:  # held, with no case and no recent activity
            since = cases[0].created_at if cases else now
        latest = cases[-1] if cases else None
        priority, text = REASONS[reason]
        entries.append(InboxEntry(
            conversation_id=cid, reason=reason, reason_text=text, priority=priority,
            waiting_since=since, waiting_seconds=max(0, int((now - since).total_seconds())),
            buyer=next((c.buyer_account for c in reversed(cases) if c.buyer_account), None),
            order_id=next((c.order_id for c in reversed(cases) if c.order_id), None),
            last_message=(act.last_text if act is not None
                          else (latest.customer_message or latest.note) if latest else ""),
            held_by=holds.get(cid), overdue=late,
        ))
    return sorted(entries, key=lambda e: (e.priority, e.waiting_since, e.conversation_id))
