"""An agent's verdict on a case's photos, on the workbench (docs/workbench.md):

  POST /agent/cases/{case_id}/review
       {"verdict": "approve"}                                  a quality problem / wrong item confirmed
       {"verdict": "refuse", "reason": "misuse"|...}           不予办理 (bot/playbook/triage.REFUSALS)
       {"verdict": "discount", "amount": "8.00", "problem": "外盒压扁，不影响使用"}
                                                               折价: within the cap granted, above it
                                                               a supervisor's (GET /agent/approvals)

The verdict is recorded, then the customer is told in their conversation
(``tell_case_changed`` with ``notice_sayer``, as web/approvals.py): at once when their widget
can be reached (``"told": true``), else the notice stays pending and is said when they write
again. The shop logic is bot/workbench/photo_review.py.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from aiohttp import web

from bot.playbook.payouts import payout_due
from bot.workbench.card import case_card, compensation_card
from bot.workbench.photo_review import ReviewRefused, Verdict, parse_amount, review_photos
from web.decisions import DecisionDesk


def add_review(app: web.Application, desk: DecisionDesk) -> None:
    """The review route on ``app``."""
    api_error, cases, log, policy = desk.api_error, desk.cases, desk.log, desk.policy

    def review(case_id: int, verdict: Verdict, agent: str, reason: str, amount: Any, problem: str
               ) -> Dict[str, Any]:
        now = desk.bench.clock()
        outcome = review_photos(cases, desk.notes, policy, case_id, verdict, agent, now, desk.say, reason=reason,
                                amount=parse_amount(amount) if verdict == Verdict.DISCOUNT else None,
                                problem=problem)
        log.record(agent, f"review_{verdict.value}", now, outcome.case.conversation_id, f"case {case_id}")
        return {"case": case_card(outcome.case, now, policy),
                "told": bool(outcome.notice and outcome.notice.delivered),
                "compensation": compensation_card(outcome.compensation, policy,
                                                  payout_due(cases, [case_id]).get(case_id), now)
                if outcome.compensation else None}

    async def post_review(request: web.Request) -> web.Response:
        agent = request["agent"].name
        case_id = desk.path_id(request, "case_id", "case")
        body = await desk.json_body(request)
        try:
            verdict = Verdict(body.get("verdict"))
        except ValueError as exc:
            raise api_error(400, "verdict must be approve, refuse or discount") from exc
        reason = (desk.text_field(body, "reason", 32) or "").strip()
        problem: Optional[str] = desk.text_field(body, "problem", 200) or ""
        try:
            answer = await desk.off_loop(review, case_id, verdict, agent, reason, body.get("amount"), problem)
        except ReviewRefused as exc:
            raise api_error(exc.status, str(exc)) from exc
        return web.json_response(answer)

    app.router.add_post("/agent/cases/{case_id}/review", post_review)
