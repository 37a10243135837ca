"""Supervisors' approvals on the workbench (docs/workbench.md):

  GET  /agent/approvals               the cases awaiting approval (403 for a non-supervisor)
  POST /agent/approvals/{case_id}     {"decision": "approve"|"deny", "reason"?}: the case is
                                      updated and the customer told in their conversation
                                      (``tell_case_changed``): at once when their widget can
                                      be reached ("told": true), else when they write again
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.playbook.followups import tell_case_changed
from bot.playbook.payouts import decide_owed
from bot.shop.casefacts import CaseChange, FactKind, record_fact
from bot.shop.cases import CaseRecord
from bot.shop.compensation import pending_for_case
from bot.workbench.agents import AgentIdentity
from bot.workbench.approvals import decision_note, nothing_to_decide
from bot.workbench.card import case_card
from web.decisions import DecisionDesk

PLACEHOLDER_CHARS = ("{", "}")


def add_approvals(app: web.Application, desk: DecisionDesk) -> None:
    """The approvals routes on ``app``."""
    bench, api_error, json_body, text_field = desk.bench, desk.api_error, desk.json_body, desk.text_field
    off_loop, cases, log, policy, say = desk.off_loop, desk.cases, desk.log, desk.policy, desk.say

    def require_supervisor(request: web.Request) -> AgentIdentity:
        agent: AgentIdentity = request["agent"]
        if not agent.supervisor:
            raise api_error(403, "only a supervisor decides approvals")
        return agent

    def decidable() -> List[CaseRecord]:
        """The cases awaiting approval with something to decide. Left out: a money case with
        nothing pending, as when the same order's 退差价 is asked from another conversation
        while the first request waits (that one is listed; asking again in either
        conversation is answered from its record)."""
        return [c for c in cases.awaiting_approval()
                if not nothing_to_decide(c, pending_for_case(bench.store, c.id))]

    async def get_approvals(request: web.Request) -> web.Response:
        require_supervisor(request)
        now = bench.clock()
        pending = await off_loop(decidable)
        return web.json_response([{**case_card(c, now, policy), "conversation_id": c.conversation_id,
                                   "order_id": c.order_id, "buyer": c.buyer_account} for c in pending])

    def decide(case_id: int, approved: bool, supervisor: str, reason: str) -> Optional[Dict[str, Any]]:
        """The decision stands once made; the customer is told now or when they come back
        (a 折价 above the cap names its amount: bot.playbook.followups.case_changed)."""
        pending = pending_for_case(bench.store, case_id)  # a 折价 above the cap, a 退差价
        now = bench.clock()
        case = cases.decide(case_id, approved, supervisor, now, decision_note(approved, supervisor, reason))
        if case is None:
            return None
        decide_owed(cases, policy, case_id, pending, approved, supervisor, now)
        if not approved:
            record_fact(bench.store, case_id, FactKind.DECISION_REASON, reason, now)
        notice = tell_case_changed(cases, bench.store, case_id,
                                   CaseChange.APPROVED if approved else CaseChange.DENIED, say, now)
        log.record(supervisor, "approve" if approved else "deny", now, case.conversation_id, f"case {case_id}")
        return {**case_card(case, now, policy), "told": bool(notice and notice.delivered)}

    async def post_decision(request: web.Request) -> web.Response:
        supervisor = require_supervisor(request).name
        case_id = desk.path_id(request, "case_id", "case")
        body = await json_body(request)
        decision = body.get("decision")
        if decision not in ("approve", "deny"):
            raise api_error(400, "decision must be approve or deny")
        reason = (text_field(body, "reason", 200) or "").strip()
        if decision == "deny" and not reason:
            raise api_error(400, "a denial needs a reason: the customer is told it")
        if any(c in reason for c in PLACEHOLDER_CHARS):
            raise api_error(400, "the reason has a {placeholder}")
        case = await off_loop(cases.get, case_id)
        if case is None:
            raise api_error(404, f"no case {case_id}")
        if nothing_to_decide(case, await off_loop(pending_for_case, bench.store, case_id)):
            raise api_error(409, f"case {case_id} asks for money and has no pending amount: nothing to decide")
        card = await off_loop(decide, case_id, decision == "approve", supervisor, reason)
        if card is None:
            raise api_error(409, f"case {case_id} is not awaiting approval")
        return web.json_response(card)


    app.router.add_get("/agent/approvals", get_approvals)
    app.router.add_post("/agent/approvals/{case_id}", post_decision)
