"""Agent assist (``AgentAssist``): suggested replies for a customer message, with what the agent must do.

Given the NLU's ranking of intents for a message (and the order, if known), each
of the top hypotheses gets: the drafted reply filled with the order's facts, the
agent's checklist, the policy verdicts, and the note for the case log. The reply
text comes from the domain's responses, the checklist from agent_checklists.yml;
``rasa_adapter.project_files.agent_assist`` reads them and builds one.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import (
    ShopPolicy,
    missing_item_report_open,
    policy_facts,
    return_window,
    who_pays_return_shipping,
)
from bot.playbook.render import resolve, resolved
from bot.playbook.scenarios import SCENARIOS, Context, Reply, draft, order_facts
from bot.shop.store import OrderFacts, OrderState

# The return reason whose shipping rule applies to each scenario.
RETURN_REASON = {
    "wrong_item": "wrong_item",
    "quality_issue": "quality_issue",
    "missing_item": "missing_item",
    "return_or_exchange": "dislike",
    "refund_after_shipping": "dislike",
}
# where the manuals let an agent offer a discount (折价) instead of a return
DISCOUNT_INTENTS = {"quality_issue"}
HANDOFF_INTENTS = {"request_human": "utter_handoff_now", "complaint": "utter_complaint_apology"}


@dataclass
class Suggestion:
    intent: str
    confidence: float
    response: str
    reply: str
    checklist: List[str]
    verdicts: Dict[str, Any] = field(default_factory=dict)
    case_note: Optional[Dict[str, str]] = None

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


class AgentAssist:
    """Drafts suggestions for human agents; everything it reads is passed in."""

    def __init__(
        self,
        responses: Mapping[str, List[Dict[str, Any]]],
        rule_responses: Mapping[str, str],
        checklists: Mapping[str, List[str]],
        notes: CaseNotes,
        policy: ShopPolicy,
    ) -> None:
        self.responses = responses
        self.rule_responses = rule_responses
        self.checklists = checklists
        self.notes = notes
        self.policy = policy

    def fill(self, response: str, facts: Mapping[str, Any]) -> str:
        """The response's first text with its placeholders filled; unknown ones stay visible."""
        variants = self.responses.get(response) or [{"text": response}]
        text = variants[0].get("text", "")
        parts = []
        for literal, name, _, _ in string.Formatter().parse(text):
            parts.append(literal)
            if name:
                parts.append(str(facts[name]) if name in facts else f"{{{name}}}")
        return "".join(parts)

    def suggest(
        self,
        ranking: Sequence[Tuple[str, float]],
        order: Optional[OrderFacts],
        now: datetime,
        text: str = "",
        top: int = 3,
    ) -> List[Suggestion]:
        return [self._one(intent, confidence, order, now, text) for intent, confidence in ranking[:top]]

    def _one(
        self, intent: str, confidence: float, order: Optional[OrderFacts], now: datetime, text: str
    ) -> Suggestion:
        checklist = [item.format_map(policy_facts(self.policy)) for item in self.checklists.get(intent, [])]
        verdicts: Dict[str, Any] = {}
        case_note = None
        if intent in SCENARIOS and order is None:
            reply = Reply("utter_ask_order_id")
            checklist.insert(0, "先问客户订单号（或快递单号）")
        elif intent in SCENARIOS and order is not None:
            reply = resolved(draft(intent, order, now, self.policy, Context(text=text)), self.responses)
            verdicts = self.verdicts(intent, order, now)
            if self.notes.covers(reply.response):
                note = self.notes.for_reply(reply)
                case_note = {"state": note.state.value, "next_step": note.next_step, "note": note.note}
                verdicts["needs_supervisor_approval"] = note.state.value == "needs_approval"
        elif intent in HANDOFF_INTENTS:
            facts = resolve(order_facts(order, self.policy, now), self.responses) if order else {}
            reply = Reply(HANDOFF_INTENTS[intent], {**facts, "shift": "人工"})
        else:
            reply = Reply(self.rule_responses.get(intent, "utter_ask_rephrase"))
        return Suggestion(
            intent=intent,
            confidence=round(float(confidence), 4),
            response=reply.response,
            reply="\n".join(self.fill(bubble, reply.facts) for bubble in reply.bubbles),
            checklist=checklist,
            verdicts=verdicts,
            case_note=case_note,
        )

    def verdicts(self, intent: str, order: OrderFacts, now: datetime) -> Dict[str, Any]:
        """The shop rules that decide this case, for the agent to see."""
        verdicts: Dict[str, Any] = {"order_state": order.state.value}
        reason = RETURN_REASON.get(intent)
        if reason:
            verdicts["return_shipping_paid_by"] = who_pays_return_shipping(reason, self.policy)
        signed = order.shipment.signed_at if order.shipment else None
        if order.state == OrderState.SIGNED and signed is not None:
            is_open, _, days_left = return_window(signed, now, self.policy)
            verdicts["return_window_open"] = is_open
            verdicts["return_window_days_left"] = days_left
            verdicts["missing_item_window_open"] = missing_item_report_open(signed, now, self.policy)
        if intent in DISCOUNT_INTENTS:
            # an agent may offer a discount up to this without a supervisor (shop.yml compensation)
            verdicts["discount_without_approval_up_to"] = float(self.policy.compensation_cap)
        # 到付 in the manuals is a return parcel sent freight-collect, not how the order was
        # paid: whether the warehouse accepts one is the shop's rule alone (W16)
        verdicts["freight_collect_return_parcel_accepted"] = self.policy.accept_cash_on_delivery
        verdicts["order_paid_cash_on_delivery"] = order.cash_on_delivery
        return verdicts
