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
from bot.playbook.reply import scenario_reply
from bot.playbook.scenarios import SCENARIOS, Reply, order_facts
from bot.shop.store import OrderFacts, OrderState, OrderStore

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
# Drafts written for an agent to send: the bot's 「正在为您转接人工客服」 or 「我是售后助手」
# would make no sense from a person (review W7).
AGENT_RESPONSES = {
    "request_human": "utter_agent_greeting",
    "greet": "utter_agent_greeting",
    "complaint": "utter_complaint_apology",
}
# The bot's own "I cannot answer this" (「这个问题我暂时回答不了…回复「转人工」」): the console
# shows it (an agent labels such messages), the workbench does not offer it as a reply.
BOT_ONLY_INTENTS = frozenset({"out_of_scope"})
# Hypotheses the NLU gives less than this are not drafted: with about thirty intents,
# a softmax share below a tenth is noise, and a draft of it would mislead the agent.
DRAFT_CONFIDENCE_FLOOR = 0.1
PAYERS = {"shop": "店铺", "buyer": "买家"}
STATES = {
    OrderState.NOT_SHIPPED: "未发货", OrderState.IN_TRANSIT: "运输中",
    OrderState.OUT_FOR_DELIVERY: "派送中", OrderState.SIGNED: "已签收",
    OrderState.REFUSED_RETURNING: "拒收退回中", OrderState.RETURNED: "已退回",
    OrderState.REFUNDED: "已退款",
}


@dataclass
class Suggestion:
    intent: str
    confidence: float
    response: str
    reply: str
    checklist: List[str]
    verdicts: Dict[str, Any] = field(default_factory=dict)
    case_note: Optional[Dict[str, str]] = None
    verdict_text: List[str] = field(default_factory=list)  # the verdicts as words, for the agent

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
        *,
        store: Optional[OrderStore] = None,
        entities: Optional[Mapping[str, Sequence[str]]] = None,
        agent: str = "客服",
        conversation: Optional[str] = None,
    ) -> List[Suggestion]:
        """Drafts for the ``top`` hypotheses at or above the confidence floor. With the
        ``store`` (variants, cases) and the message's ``entities`` a scenario's draft is
        the bot's own reply (``bot.playbook.reply.scenario_reply``)."""
        kept = [(i, c) for i, c in ranking if c >= DRAFT_CONFIDENCE_FLOOR][:top]
        return [self._one(intent, confidence, order, now, text, store, entities or {}, agent, conversation)
                for intent, confidence in kept]

    def _one(
        self, intent: str, confidence: float, order: Optional[OrderFacts], now: datetime, text: str,
        store: Optional[OrderStore], entities: Mapping[str, Sequence[str]], agent: str,
        conversation: Optional[str] = None,
    ) -> Suggestion:
        checklist = [item.format_map(policy_facts(self.policy)) for item in self.checklists.get(intent, [])]
        verdicts: Dict[str, Any] = {}
        case_note = None
        if intent in SCENARIOS and order is None:
            reply = Reply("utter_ask_order_id")
            checklist.insert(0, "先问客户订单号（或快递单号）")
        elif intent in SCENARIOS and order is not None:
            reply = resolved(scenario_reply(intent, order, now, self.policy, store, text, entities,
                                            conversation), self.responses)
            verdicts = self.verdicts(intent, order, now)
            if self.notes.covers(reply.response):
                note = self.notes.for_reply(reply)
                case_note = {"state": note.state.value, "next_step": note.next_step, "note": note.note}
                verdicts["needs_supervisor_approval"] = note.state.value == "needs_approval"
        elif intent in AGENT_RESPONSES:
            facts = resolve(order_facts(order, self.policy, now), self.responses) if order else {}
            reply = Reply(AGENT_RESPONSES[intent], {**facts, "agent": agent})
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
            verdict_text=verdict_words(verdicts),
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


def verdict_words(verdicts: Mapping[str, Any]) -> List[str]:
    """The policy verdicts as an agent reads them: 「退货期还剩 5 天」, not keys."""
    words = []
    if "order_state" in verdicts:
        state = verdicts["order_state"]
        words.append(f"订单状态：{STATES.get(OrderState(state), state)}")
    if verdicts.get("return_window_open") is True:
        words.append(f"退货期还剩 {verdicts.get('return_window_days_left', 0)} 天")
    elif verdicts.get("return_window_open") is False:
        words.append("已过退货期")
    if "return_shipping_paid_by" in verdicts:
        payer = PAYERS.get(verdicts["return_shipping_paid_by"], verdicts["return_shipping_paid_by"])
        words.append(f"退货运费由{payer}承担")
    if verdicts.get("missing_item_window_open") is True:
        words.append("仍在少件反馈时限内")
    elif verdicts.get("missing_item_window_open") is False:
        words.append("已过少件反馈时限")
    if "discount_without_approval_up_to" in verdicts:
        words.append(f"可直接给予不超过 ¥{verdicts['discount_without_approval_up_to']:.2f} 的补偿，超出需主管审批")
    if verdicts.get("needs_supervisor_approval"):
        words.append("需要主管审批")
    if verdicts.get("cash_on_delivery_return_accepted") is False:
        words.append("到付退货不接收")
    return words
