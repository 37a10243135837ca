"""An agent marks money owed as paid, on the workbench (docs/workbench.md):

  POST /agent/compensations/{id}/paid   {"reference"?: "支付宝流水号…"}
       a granted 折价 or an approved 退差价 was transferred: recorded (who, when, the
       reference), the case's payout promise kept, and the customer told in their
       conversation (``"told": true``: at once; else when they write again)

Any agent may (as for a photo verdict): finance makes the transfer, the agent who tells the
customer records it (001: 打后给顾客发送打款记录); the amount was bounded when it was
granted (the cap, or a supervisor). 404 unknown, 409 pending, denied or paid already,
400 a bad reference. The shop logic is bot/workbench/payouts.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional

from aiohttp import web

from bot.shop.cases import CaseLog
from bot.workbench.agents import AgentLog
from bot.workbench.card import case_card, compensation_card
from bot.workbench.payouts import PayoutRefused, clean_reference, pay_compensation

if TYPE_CHECKING:
    from web.workbench import Bench


def add_payouts(app: web.Application, bench: Bench, errors: Any,
                off_loop: Callable[..., Awaitable[Any]]) -> None:
    """The payout route on ``app``; ``errors`` and ``off_loop`` as in web/workbench.py."""
    api_error, json_body, _ = errors
    cases, log, policy = CaseLog(bench.store), AgentLog(bench.store), bench.assistant.policy
    notes = bench.assistant.notes  # case_notes.yml
    say = bench.conversations.notice_sayer()

    def pay(compensation_id: int, agent: str, reference: Optional[str]) -> Dict[str, Any]:
        now = bench.clock()
        outcome = pay_compensation(cases, notes, compensation_id, agent, now, say, reference)
        log.record(agent, "paid", now, outcome.case.conversation_id, f"compensation {compensation_id}")
        return {"compensation": compensation_card(outcome.compensation, policy),
                "case": case_card(outcome.case, now, policy),
                "told": bool(outcome.notice and outcome.notice.delivered)}

    async def post_paid(request: web.Request) -> web.Response:
        agent = request["agent"].name
        try:
            compensation_id = int(request.match_info["compensation_id"])
        except ValueError as exc:
            raise api_error(404, "no such compensation") from exc
        body = await json_body(request)
        try:
            answer = await off_loop(pay, compensation_id, agent, clean_reference(body.get("reference")))
        except PayoutRefused as exc:
            raise api_error(exc.status, str(exc)) from exc
        return web.json_response(answer)

    app.router.add_post("/agent/compensations/{compensation_id}/paid", post_paid)
