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

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional

from aiohttp import web

from bot.playbook.payouts import payout_due
from bot.shop.cases import CaseLog
from bot.workbench.agents import AgentLog
from bot.workbench.card import case_card, compensation_card
from bot.workbench.photo_review import ReviewRefused, Verdict, parse_amount, review_photos

if TYPE_CHECKING:
    from web.workbench import Bench


def add_review(app: web.Application, bench: Bench, errors: Any,
               off_loop: Callable[..., Awaitable[Any]]) -> None:
    """The review route on ``app``; ``errors`` and ``off_loop`` as in web/workbench.py."""
    api_error, json_body, text_field = errors
    cases, log, policy = CaseLog(bench.store), AgentLog(bench.store), bench.assistant.policy
    notes = bench.assistant.notes  # case_notes.yml
    say = bench.conversations.notice_sayer()

    def review(case_id: int, verdict: Verdict, agent: str, reason: str, amount: Any, problem: str
               ) -> Dict[str, Any]:
        now = bench.clock()
        outcome = review_photos(cases, notes, policy, case_id, verdict, agent, now, say, reason=reason,
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
        try:
            case_id = int(request.match_info["case_id"])
        except ValueError as exc:
            raise api_error(404, "no such case") from exc
        body = await json_body(request)
        try:
            verdict = Verdict(body.get("verdict"))
        except ValueError as exc:
            raise api_error(400, "verdict must be approve, refuse or discount") from exc
        reason = (text_field(body, "reason", 32) or "").strip()
        problem: Optional[str] = text_field(body, "problem", 200) or ""
        try:
            answer = await off_loop(review, case_id, verdict, agent, reason, body.get("amount"), problem)
        except ReviewRefused as exc:
            raise api_error(exc.status, str(exc)) from exc
        return web.json_response(answer)

    app.router.add_post("/agent/cases/{case_id}/review", post_review)
