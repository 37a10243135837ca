"""Handing a conversation to a human agent: now, or a message for the next shift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Tuple

from bot.playbook.policy import ShopPolicy, next_shift_start, shift_at
from bot.playbook.scenarios import Reply, fmt_date

COMPLAINT_APOLOGY = Reply("utter_complaint_apology")


@dataclass(frozen=True)
class Handover:
    """What the assistant does when a customer asks for a human or complains."""

    opening: Tuple[Reply, ...]  # said first, whatever happens next
    reply: Reply  # utter_handoff_now, or utter_handoff_closed outside shift hours
    case: Optional[Reply]  # the case to log before handing over; None: none now

    @property
    def to_agent(self) -> bool:
        """Whether a human takes over now. The case is how the agent finds the
        conversation: no case, no hand-over (if it cannot be logged, the
        customer is told the service is unavailable instead)."""
        return self.case is not None


def plan_handover(intent: str, request: str, now: datetime, policy: ShopPolicy) -> Handover:
    """The hand-over for a customer who wrote ``request`` (intent ``request_human``
    or ``complaint``): a complaint gets an apology first; within shift hours a
    case quoting the request is logged and a human takes over, otherwise the
    customer is offered to leave a message."""
    opening = (COMPLAINT_APOLOGY,) if intent == "complaint" else ()
    shift = shift_at(now, policy)
    if shift is None:
        closed = Reply("utter_handoff_closed", {"next_shift": next_shift_text(now, policy)})
        return Handover(opening, closed, case=None)
    reply = Reply("utter_handoff_now", {"shift": shift.name})
    return Handover(opening, reply, case=Reply(reply.response, {**reply.facts, "request": request}))


def handoff(now: datetime, policy: ShopPolicy) -> Reply:
    """``utter_handoff_now`` within shift hours, else ``utter_handoff_closed``."""
    return plan_handover("request_human", "", now, policy).reply


def take_message(message: str, now: datetime, policy: ShopPolicy) -> Reply:
    """The message left outside shift hours: logged as a case, answered once a shift starts."""
    return Reply("utter_message_taken", {"next_shift": next_shift_text(now, policy), "request": message})


def next_shift_text(now: datetime, policy: ShopPolicy) -> str:
    start = next_shift_start(now, policy)
    if start is None:
        return "下一个工作日"
    return fmt_date(start, clock=True)
