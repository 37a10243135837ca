"""Handing a conversation to a human agent: now, or a message for the next shift."""

from __future__ import annotations

from datetime import datetime

from bot.playbook.policy import ShopPolicy, next_shift_start, shift_at
from bot.playbook.scenarios import Reply


def handoff(now: datetime, policy: ShopPolicy) -> Reply:
    """``utter_handoff_now`` within shift hours, else ``utter_handoff_closed``."""
    shift = shift_at(now, policy)
    if shift is not None:
        return Reply("utter_handoff_now", {"shift": shift.name})
    return Reply("utter_handoff_closed", {"next_shift": next_shift_text(now, policy)})


def next_shift_text(now: datetime, policy: ShopPolicy) -> str:
    start = next_shift_start(now, policy)
    if start is None:
        return "下一个工作日"
    return f"{start.month}月{start.day}日 {start:%H:%M}"
