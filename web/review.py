"""The trainers' review queue on the web (the page /review; docs/workbench.md):

  GET  /agent/review?limit=&q=       live traffic joins the queue first; then the open items
                                     grouped by predicted intent, each group's count and its
                                     first ``limit`` items (default 20, 0: counts only), those
                                     whose text contains ``q`` if given; the intents to choose
                                     from, the reviewed items and their YAML patch
  GET  /agent/review/groups/{intent}?offset=&limit=&q=
                                     one group's next items (its "more")
  POST /agent/review/items/{id}      {"intent": "<intent>" | "-" (discard) | null (undo)}
  GET  /agent/review/patch           the reviewed items as NLU YAML (a download)
  POST /agent/review/apply           the reviewed items written into data/nlu.yml

Trainers are supervisors (``python -m bot agents add NAME --supervisor``): every route
answers 403 to another agent. The queue is bot/shop/review.py; the patch and the apply are
the command line's (evaluation/review.py), the same functions.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from bot.settings import PROJECT_ROOT
from bot.shop.feedback import FeedbackLog
from bot.shop.review import DROP, QueueItem, ReviewQueue, UnsureMessage, intent_choices
from bot.shop.store import OrderStore
from bot.workbench.agents import AgentIdentity
from evaluation.review import NEXT_STEPS, apply_reviewed, patch

BUTTONS = 3  # one-click intents per message: the model's best first
PAGE = 20  # items of a group the page shows at first, and per "more"
MAX_PAGE = 500
REVIEWED_SHOWN = 200  # the reviewed items listed (the patch has them all)


@dataclass
class ReviewDesk:
    """What the review page needs; ``traffic`` is None without an SQL tracker store."""

    store: OrderStore
    nlu: Path  # the training examples apply writes into
    intents: List[str]  # the domain's, in its order
    clock: Callable[[], Any]
    traffic: Optional[Callable[[int], List[UnsureMessage]]] = None
    latest_event: Optional[Callable[[], int]] = None  # the tracker store's newest event id
    titles: Dict[str, str] = field(default_factory=dict)  # intent → its topic's words (「催发货」)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one apply at a time


def shown(path: Path) -> str:
    """The training file as the trainer knows it: relative to the project (data/nlu.yml)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return path.name


def add_review(app: web.Application, desk: ReviewDesk, errors: Any) -> None:
    """The review routes on ``app``; ``errors`` is web.app's (api_error, json_body, text_field)."""
    api_error, json_body, text_field = errors
    queue, feedback = ReviewQueue(desk.store), FeedbackLog(desk.store)

    async def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def trainer(request: web.Request) -> AgentIdentity:
        agent: AgentIdentity = request["agent"]
        if not agent.supervisor:
            raise api_error(403, "只有主管可以审核训练数据")
        return agent

    def card(item: QueueItem) -> Dict[str, Any]:
        return {**item.as_dict(), "choices": intent_choices(item, desk.intents)[:BUTTONS]}

    def number(request: web.Request, name: str, default: int, most: int) -> int:
        try:
            value = int(request.query.get(name, default))
        except ValueError as exc:
            raise api_error(400, f"{name} must be a whole number") from exc
        if not 0 <= value <= most:
            raise api_error(400, f"{name} must be between 0 and {most}")
        return value

    def search(request: web.Request) -> Optional[str]:
        return " ".join(request.query.get("q", "").split())[:200] or None

    def state(limit: int, q: Optional[str]) -> Dict[str, Any]:
        now = desk.clock()
        if desk.traffic is not None:
            queue.take_traffic(desk.traffic, now, desk.latest_event)
        queue.take_feedback(feedback, now)
        counts = queue.counts(q)
        groups = [{"intent": intent, "count": count,
                   "items": [card(i) for i in queue.page(intent, 0, limit, q)] if limit else []}
                  for intent, count in counts.items()]
        reviewed = queue.reviewed()
        return {"groups": groups, "open": sum(counts.values()), "limit": limit, "q": q or "",
                "intents": desk.intents, "titles": desk.titles, "drop": DROP,
                "reviewed": [i.as_dict() for i in reviewed[:REVIEWED_SHOWN]], "reviewed_count": len(reviewed),
                "patch": patch(queue), "nlu": shown(desk.nlu), "next_steps": NEXT_STEPS}

    async def get_queue(request: web.Request) -> web.Response:
        trainer(request)
        return web.json_response(await off_loop(state, number(request, "limit", PAGE, MAX_PAGE), search(request)))

    def group_page(intent: str, offset: int, limit: int, q: Optional[str]) -> Dict[str, Any]:
        return {"intent": intent, "count": queue.counts(q).get(intent, 0), "offset": offset,
                "items": [card(i) for i in queue.page(intent, offset, limit, q)]}

    async def get_group(request: web.Request) -> web.Response:
        trainer(request)
        offset = number(request, "offset", 0, 10**9)
        limit = number(request, "limit", PAGE, MAX_PAGE)
        return web.json_response(await off_loop(group_page, request.match_info["intent"], offset, limit,
                                                search(request)))

    async def assign(request: web.Request) -> web.Response:
        agent = trainer(request)
        try:
            item_id = int(request.match_info["id"])
        except ValueError as exc:
            raise api_error(404, "no such item") from exc
        body = await json_body(request)
        if "intent" not in body:
            raise api_error(400, "intent is required (an intent, \"-\" to discard, null to undo)")
        intent = text_field(body, "intent", 48) if body["intent"] is not None else None
        try:
            item = await off_loop(queue.assign, item_id, intent, desk.intents, agent.name)
        except KeyError as exc:
            raise api_error(404, f"no item {item_id}") from exc
        except ValueError as exc:
            raise api_error(400, str(exc)) from exc
        return web.json_response(item.as_dict())

    async def download(request: web.Request) -> web.Response:
        trainer(request)
        text = await off_loop(patch, queue)
        return web.Response(text=text, content_type="text/yaml", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="review_nlu.yml"'})

    def write() -> int:
        with desk.lock:
            return apply_reviewed(queue, desk.nlu, desk.clock())

    async def apply(request: web.Request) -> web.Response:
        trainer(request)
        added = await off_loop(write)
        return web.json_response({"added": added, "nlu": shown(desk.nlu), "next_steps": NEXT_STEPS})

    app.router.add_get("/agent/review", get_queue)
    app.router.add_get("/agent/review/groups/{intent}", get_group)
    app.router.add_post("/agent/review/items/{id}", assign)
    app.router.add_get("/agent/review/patch", download)
    app.router.add_post("/agent/review/apply", apply)
