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

from typing import Any, Dict, Optional

from aiohttp import web

from bot.workbench.card import case_card, compensation_card
from bot.workbench.payouts import PayoutRefused, clean_reference, pay_compensation
from web.decisions import DecisionDesk


def add_payouts(app: web.Application, desk: DecisionDesk) -> None:
    """The payout route on ``app``."""
    api_error, cases, log, policy = desk.api_error, desk.cases, desk.log, desk.policy

    def pay(compensation_id: int, agent: str, reference: Optional[str]) -> Dict[str, Any]:
        now = desk.bench.clock()
        outcome = pay_compensation(cases, desk.notes, compensation_id, agent, now, desk.say, reference)
        log.record(agent, "paid", now, outcome.case.conversation_id, f"compensation {compensation_id}")
        return {"compensation": compensation_card(outcome.compensation, policy),
                "case": case_card(outcome.case, now, policy),
                "told": bool(outcome.notice and outcome.notice.delivered)}

    async def post_paid(request: web.Request) -> web.Response:
        agent = request["agent"].name
        compensation_id = desk.path_id(request, "compensation_id", "compensation")
        body = await desk.json_body(request)
        try:
            answer = await desk.off_loop(pay, compensation_id, agent, clean_reference(body.get("reference")))
        except PayoutRefused as exc:
            raise api_error(exc.status, str(exc)) from exc
        return web.json_response(answer)

    app.router.add_post("/agent/compensations/{compensation_id}/paid", post_paid)
