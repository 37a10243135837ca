"""The web service: shop page (:8080/), agent console (/agent) and the agent API.

  POST /agent/suggest   {"message": "...", "order_id"?, "buyer"?, "conversation_id"?}
                        (a conversation id stands for the order that conversation is about)
  POST /agent/feedback  {"message", "intent", "verdict": used|edited|rejected, "final_text"?, "order_id"?,
                         "chosen_intent"?: what the message is about, if not the suggestion's intent}
  GET  /agent/orders    the orders, for the console's picker
both behind ``Authorization: Bearer <agent token>`` (a named agent's, ``python -m bot agents add``,
or $AGENT_TOKEN); the workbench's routes (/agent/inbox, /agent/conversations/...) are in
web/workbench.py, its page at /workbench; the trainers' review queue (/agent/review/...) in
web/review.py, its page at /review.
  POST /api/session     {"buyer": "chen_hao"}: the demo shop's login, a signed buyer token
  POST /api/uploads     a customer's photo for their open case (web/uploads.py)
  GET  /health          {"status": "ok"} without a token: a cheap check for the supervisor,
                        nginx and the probes (no database, no Rasa call)
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from aiohttp import web

from bot.access.identity import sign
from bot.assist import AgentAssist
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import fmt_items, fmt_time
from bot.shop.feedback import FeedbackLog
from bot.shop.store import OrderFacts, OrderStore
from bot.workbench.agents import AgentDirectory
from rasa_adapter.api import RasaUnavailable
from web.review import ReviewDesk, add_review
from web.uploads import UploadService, add_upload_routes
from web.workbench import Bench, add_workbench

STATIC = Path(__file__).with_name("static")
PAGES = {"/agent": "agent.html", "/workbench": "workbench.html", "/review": "review.html"}
MAX_MESSAGE = 2000
MAX_REPLY = 5000  # an agent's edited reply
MAX_ID = 200  # order numbers, conversation ids, accounts, intents
MAX_BODY = 64 * 1024  # bytes; aiohttp answers 413 beyond it
Ranker = Callable[[str], List[Tuple[str, float]]]


@dataclass
class Settings:
    store: OrderStore
    assistant: AgentAssist
    rank: Ranker  # the NLU: message → [(intent, confidence)], best first
    conversation_order: Callable[[str], Optional[str]]  # conversation id → its order_id slot
    agent_token: str
    buyer_secret: str
    clock: Callable[[], datetime]
    webchat_dir: Optional[Path] = None  # node_modules/rasa-webchat/lib
    rasa_socket_url: str = "http://localhost:5005"
    # The demo shop's login (/api/session, /api/buyers) signs a token for any
    # sample buyer: only for the demo (DEMO_LOGIN=1, as `make run` sets). A real
    # shop signs the token in its own login.
    demo_login: bool = False
    # the shop's name on its pages (shop.yml shop.name)
    shop_name: str = "店铺"
    # photos from the shop page (POST /api/uploads) and for agents (web/uploads.py)
    uploads: Optional[UploadService] = None
    # the agents' workbench (web/workbench.py): the conversations, through Rasa
    workbench: Optional[Bench] = None
    # the trainers' review queue (web/review.py): its page at /review
    review: Optional[ReviewDesk] = None


ERRORS = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    503: web.HTTPServiceUnavailable,
}


def api_error(status: int, message: str, **extra: Any) -> web.HTTPException:
    """The one error style of the API: raise it; the body is ``{"error": message, **extra}``."""
    return ERRORS[status](text=json.dumps({"error": message, **extra}, ensure_ascii=False),
                          content_type="application/json")


def bad_request(message: str) -> web.HTTPException:
    return api_error(400, message)


async def json_body(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    try:  # "\ud800" is valid JSON but no text: the database could not store it
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad_request("the body must be UTF-8 text (no lone surrogates)") from exc
    return body


def text_field(body: Dict[str, Any], key: str, max_length: int, required: bool = False) -> Optional[str]:
    """``body[key]`` as a string of at most ``max_length`` characters, or None when absent."""
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise bad_request(f"{key} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an order number sent as a JSON number
    if not isinstance(value, str):
        raise bad_request(f"{key} must be a string")
    if len(value) > max_length:
        raise bad_request(f"{key} is longer than {max_length} characters")
    return value


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


def make_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    feedback = FeedbackLog(settings.store)
    agents = AgentDirectory(settings.store, settings.agent_token)

    @web.middleware
    async def agent_auth(request: web.Request, handler):
        """/agent/*: a named agent's token, or the development AGENT_TOKEN (agent ``dev``)."""
        if request.path.startswith("/agent/"):
            token = bearer(request)
            agent = await asyncio.get_running_loop().run_in_executor(None, agents.authenticate, token)
            if agent is None:
                raise api_error(401, "a valid Authorization: Bearer token is required")
            request["agent"] = agent
        return await handler(request)

    app.middlewares.append(agent_auth)

    async def suggest(request: web.Request) -> web.Response:
        body = await json_body(request)
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise api_error(400, "message is required")
        if len(message) > MAX_MESSAGE:
            raise api_error(400, f"message is longer than {MAX_MESSAGE} characters")
        order = None
        order_id = text_field(body, "order_id", MAX_ID)
        conversation = text_field(body, "conversation_id", MAX_ID)
        buyer = text_field(body, "buyer", MAX_ID)
        if order_id is None and conversation is not None:
            try:
                order_id = await asyncio.get_running_loop().run_in_executor(
                    None, settings.conversation_order, conversation)
            except RasaUnavailable as exc:
                raise api_error(503, str(exc)) from exc
        if order_id not in (None, ""):
            order = settings.store.get_order(str(order_id))
            if order is None or (buyer and order.buyer_account != buyer):
                raise api_error(404, f"no order {order_id}" + (f" of buyer {buyer}" if buyer else ""))
        try:
            ranking = await asyncio.get_running_loop().run_in_executor(None, settings.rank, message)
        except RasaUnavailable as exc:
            raise api_error(503, str(exc)) from exc
        suggestions = settings.assistant.suggest(ranking, order, settings.clock(), message)
        return web.json_response({
            "message": message,
            "order_id": order.order_id if order else None,
            "order_notes": order_notes(order, settings.assistant.policy) if order else [],
            "suggestions": [s.as_dict() for s in suggestions],
        })

    async def record_feedback(request: web.Request) -> web.Response:
        body = await json_body(request)
        try:
            feedback_id = feedback.record(
                message=text_field(body, "message", MAX_MESSAGE) or "",
                intent=text_field(body, "intent", MAX_ID) or "",
                verdict=text_field(body, "verdict", MAX_ID) or "", now=settings.clock(),
                order_id=text_field(body, "order_id", MAX_ID),
                final_text=text_field(body, "final_text", MAX_REPLY),
                agent=text_field(body, "agent", MAX_ID),
                chosen_intent=text_field(body, "chosen_intent", MAX_ID),
            )
        except ValueError as exc:
            raise api_error(400, str(exc)) from exc
        return web.json_response({"id": feedback_id}, status=201)

    async def orders(request: web.Request) -> web.Response:
        policy = settings.assistant.policy
        return web.json_response([
            {"order_id": o.order_id, "buyer": o.buyer_account, "state": o.state.value,
             "items": fmt_items(o.goods), "created": fmt_time(o.created_at, policy),
             "notes": order_notes(o, policy)}
            for o in settings.store.all_orders()
        ])

    def order_notes(order: OrderFacts, policy: ShopPolicy) -> List[Dict[str, Any]]:
        """The notes on the order (插旗备注) and the promises made, for the agent's order card."""
        return [
            {"kind": n.kind, "text": n.text, "by": n.author, "at": fmt_time(n.created_at, policy),
             "due": fmt_time(n.due_at, policy) if n.due_at else None}
            for n in order.notes
        ]

    def demo_login_off() -> web.Response:
        raise api_error(404, "the demo login is off (DEMO_LOGIN=1 turns it on)")

    async def session(request: web.Request) -> web.Response:
        """The demo shop's login: in a real shop its own login issues the token."""
        if not settings.demo_login:
            return demo_login_off()
        body = await json_body(request)
        buyer = body.get("buyer")
        if not isinstance(buyer, str) or len(buyer) > MAX_ID or settings.store.buyer(buyer) is None:
            raise api_error(404, "no such buyer")
        return web.json_response({"buyer": buyer, "buyer_token": sign(buyer, settings.buyer_secret, settings.clock())})

    async def buyers(request: web.Request) -> web.Response:
        if not settings.demo_login:
            return demo_login_off()
        return web.json_response(
            [{"account": b.account, "name": b.name} for b in settings.store.buyers()]
        )

    async def page(request: web.Request) -> web.Response:
        name = PAGES.get(request.path, "shop.html")
        html = (STATIC / name).read_text(encoding="utf-8")
        html = html.replace("__RASA_SOCKET_URL__", escape(settings.rasa_socket_url, quote=True))
        html = html.replace("__SHOP_NAME__", escape(settings.shop_name, quote=True))
        return web.Response(text=html, content_type="text/html",
                            # img-src blob:: the workbench shows customers' photos it fetched
                            # with the agent's token as object URLs (web/static/workbench.js)
                            headers={"Content-Security-Policy": "default-src 'self'; connect-src *; "
                                     "style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
                                     "img-src 'self' data: blob:"})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/health", health)
    app.router.add_get("/", page)
    app.router.add_get("/agent", page)
    app.router.add_get("/workbench", page)
    app.router.add_get("/review", page)
    app.router.add_post("/agent/suggest", suggest)
    app.router.add_post("/agent/feedback", record_feedback)
    app.router.add_get("/agent/orders", orders)
    app.router.add_post("/api/session", session)
    app.router.add_get("/api/buyers", buyers)
    if settings.uploads is not None:
        add_upload_routes(app, settings.uploads)
    app.router.add_static("/static/", STATIC)
    if settings.workbench is not None:
        add_workbench(app, settings.workbench, (api_error, json_body, text_field))
    if settings.review is not None:
        add_review(app, settings.review, (api_error, json_body, text_field))
    if settings.webchat_dir and settings.webchat_dir.exists():
        app.router.add_static("/webchat/", settings.webchat_dir)
    return app
