"""The agents' workbench: the JSON API under /agent/ and its live inbox stream.

  GET  /agent/me                                the signed-in agent
  GET  /agent/inbox[?all=1]                     conversations waiting for or held by an agent
                                                (all=1: every recently active one too)
  GET  /agent/conversations/{id}                transcript, order card, cases, drafts
  POST /agent/conversations/{id}/takeover       hold it (the bot pauses); 409 if another agent does
  POST /agent/conversations/{id}/release        give it back to the bot, which tells the customer
  POST /agent/conversations/{id}/messages       {"text": "...", "draft"?: "<intent>"}: send it
  GET  /agent/canned?q=...&conversation=...     domain responses filled with the order's facts
  GET  /agent/stream[?conversation=id]          Server-Sent Events: "inbox" and "conversation"
  GET  /agent/approvals, POST /agent/approvals/{case_id}   supervisors (web/approvals.py)
  POST /agent/cases/{case_id}/review            a verdict on a case's photos (web/photo_review.py)

Every route needs ``Authorization: Bearer <agent token>`` (web/app.py's middleware puts
the agent in ``request["agent"]``); every change is logged with the agent's name.
The shop logic is bot/workbench/; Rasa is reached through rasa_adapter/conversations.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from aiohttp import web

from bot.assist import BOT_ONLY_INTENTS, AgentAssist
from bot.playbook.payouts import payout_due
from bot.playbook.scenarios import order_facts
from bot.shop.cases import CaseLog
from bot.shop.compensation import compensations_of_order
from bot.shop.feedback import FeedbackLog
from bot.shop.store import OrderStore
from bot.shop.uploads import attachments_of_order
from bot.workbench.agents import AgentIdentity, AgentLog
from bot.workbench.card import case_card, order_card
from bot.workbench.conversation import RELEASED_REPLY, Conversation
from bot.workbench.holds import HeldByOther, Holds
from bot.workbench.inbox import HANDOVER_INTENTS, Activity, build_inbox
from rasa_adapter.api import RasaUnavailable
from rasa_adapter.conversations import RasaConversations, TrackerIndex
from web.approvals import add_approvals
from web.decisions import DecisionDesk
from web.payouts import add_payouts
from web.photo_review import add_review

MAX_AGENT_TEXT = 1000  # characters of one agent message
LIVE_HOURS = 24  # the "every conversation" tab: active in the last day
POLL_SECONDS = 0.5  # how often the stream looks for changes
STAMP_SECONDS = 30  # and rebuilds the inbox even without one
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
T = TypeVar("T")


@dataclass
class Bench:
    """What the workbench needs; ``index`` is None without an SQL tracker store."""

    store: OrderStore
    assistant: AgentAssist
    conversations: RasaConversations
    index: Optional[TrackerIndex]
    clock: Callable[[], Any]


def add_workbench(app: web.Application, bench: Bench, errors: Any) -> None:
    """The workbench's routes on ``app``; ``errors`` is web.app's (api_error, json_body, text_field)."""
    api_error, json_body, text_field = errors
    store, policy = bench.store, bench.assistant.policy
    holds, cases, log, feedback = Holds(store), CaseLog(store), AgentLog(store), FeedbackLog(store)

    async def off_loop(fn: Callable[..., T], *args: Any) -> T:
        """``fn`` in a worker thread (the store and Rasa's API block); Rasa away: 503."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except RasaUnavailable as exc:
            raise api_error(503, f"the assistant is unavailable, nothing was changed: {exc}") from exc

    def me(request: web.Request) -> AgentIdentity:
        return request["agent"]

    async def conversation_of(request: web.Request) -> Conversation:
        cid = request.match_info["id"]
        if len(cid) > 128:
            raise api_error(404, "no such conversation")
        conversation = await off_loop(bench.conversations.get, cid)
        if not conversation.exists:
            raise api_error(404, f"no conversation {cid}")
        return conversation

    def held_by_other(exc: HeldByOther) -> web.HTTPException:
        return api_error(409, f"{exc.holder} 正在处理这个会话", held_by=exc.holder)

    def activity() -> List[Activity]:
        if bench.index is None:
            return []
        return bench.index.recent(bench.clock() - timedelta(hours=LIVE_HOURS))

    def inbox(live: bool) -> List[Dict[str, Any]]:
        now = bench.clock()
        due = cases.due(now)
        broken = {d.case.id for d in due if d.overdue}  # promises past due
        running = {d.case.id: d.promise for d in due if d.promise is not None}
        entries = build_inbox(cases.open_cases(), holds.all(), activity(), now, policy, live=live,
                              broken=broken, promises=running)
        return [e.as_dict() for e in entries]

    def drafts(conversation: Conversation, agent: str) -> Dict[str, Any]:
        order = store.get_order(conversation.order_id) if conversation.order_id else None
        text = conversation.latest_customer_text
        suggestions = bench.assistant.suggest(
            list(conversation.ranking), order, bench.clock(), text, store=store,
            entities=conversation.entities, agent=agent, conversation=conversation.id)
        return {"order": order, "message": text,
                "drafts": [s.as_dict() for s in suggestions if s.intent not in BOT_ONLY_INTENTS]}

    def view(conversation: Conversation, agent: str) -> Dict[str, Any]:
        now = bench.clock()
        made = drafts(conversation, agent)
        order = made["order"]
        own = cases.cases_for_conversation(conversation.id)
        about = cases.cases_for_order(order.order_id) if order else []
        everything = {c.id: c for c in [*own, *about]}.values()
        owed = compensations_of_order(store, order.order_id) if order else []
        running = cases.running_promises(c.id for c in everything)
        return {
            "id": conversation.id,
            "paused": conversation.paused,
            "held_by": holds.holder(conversation.id),
            "channel": conversation.channel,
            "transcript": [{"who": line.who, "text": line.text, "at": line.at.isoformat() + "Z",
                            "agent": line.agent} for line in conversation.lines],
            "order": order_card(order, everything, now, policy, attachments_of_order(store, order.order_id),
                                owed, payout_due(cases, [c.case_id for c in owed]), running)
            if order else None,
            "cases": [case_card(c, now, policy, running.get(c.id)) for c in everything if c.state.value != "closed"],
            "latest_message": made["message"],
            "drafts": made["drafts"],
        }

    async def whoami(request: web.Request) -> web.Response:
        agent = me(request)
        return web.json_response({"name": agent.name, "supervisor": agent.supervisor})

    async def get_inbox(request: web.Request) -> web.Response:
        return web.json_response(await off_loop(inbox, request.query.get("all") == "1"))

    async def get_conversation(request: web.Request) -> web.Response:
        conversation = await conversation_of(request)
        return web.json_response(await off_loop(view, conversation, me(request).name))

    def take(conversation: Conversation, agent: str) -> bool:
        """Hold it for ``agent`` and pause the bot; undone if Rasa does not answer."""
        newly = holds.take(conversation.id, agent, bench.clock())
        if newly:
            try:
                bench.conversations.pause(conversation.id)
            except RasaUnavailable:
                holds.drop(conversation.id, agent)
                raise
            cases.hand_to(conversation.id, agent, bench.clock())
            log.record(agent, "takeover", bench.clock(), conversation.id)
        return newly

    async def takeover(request: web.Request) -> web.Response:
        conversation = await conversation_of(request)
        agent = me(request).name
        try:
            newly = await off_loop(take, conversation, agent)
        except HeldByOther as exc:
            raise held_by_other(exc) from exc
        return web.json_response({"held_by": agent, "taken": newly})

    def give_back(conversation: Conversation, agent: str) -> int:
        farewell = bench.assistant.fill(RELEASED_REPLY, {"agent": agent})
        bench.conversations.release(conversation.id, farewell)
        holds.drop(conversation.id)
        now = bench.clock()
        resolved = cases.resolve_handover(conversation.id, agent, now, f"人工客服{agent}已处理", HANDOVER_INTENTS)
        log.record(agent, "release", now, conversation.id, f"{resolved} case(s) resolved")
        return resolved

    async def release(request: web.Request) -> web.Response:
        conversation = await conversation_of(request)
        agent = me(request).name
        holder = await off_loop(holds.holder, conversation.id)
        if holder is not None and holder != agent:
            raise held_by_other(HeldByOther(holder))
        if holder is None and not conversation.paused:
            raise api_error(409, "这个会话由机器人接待中，无需结束人工")
        resolved = await off_loop(give_back, conversation, agent)
        return web.json_response({"released": True, "cases_resolved": resolved})

    def deliver(conversation: Conversation, agent: str, text: str, chosen: Optional[str]) -> str:
        made = drafts(conversation, agent)
        by_intent = {d["intent"]: d for d in made["drafts"]}
        if chosen is not None and chosen not in by_intent:
            raise ValueError(f"no draft {chosen} for the latest message")
        take(conversation, agent)
        bench.conversations.send(conversation.id, text, agent)  # stored and delivered, or neither
        verdict = "own" if chosen is None else "used" if by_intent[chosen]["reply"] == text else "edited"
        now = bench.clock()
        if made["message"]:
            top = made["drafts"][0]["intent"] if made["drafts"] else "out_of_scope"
            feedback.record(message=made["message"], intent=chosen or top, verdict=verdict, now=now,
                            order_id=conversation.order_id, final_text=text, agent=agent)
        cases.hand_to(conversation.id, agent, now)
        log.record(agent, "send", now, conversation.id, verdict)
        return verdict

    async def send(request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body.get("text", ""), str):
            raise api_error(400, "text must be a string")
        text = (text_field(body, "text", MAX_AGENT_TEXT, required=True) or "").strip()
        if not text:
            raise api_error(400, "text is required")
        if PLACEHOLDER.search(text):
            raise api_error(400, "the text still has a {placeholder}: fill it in before sending")
        chosen = text_field(body, "draft", 48)
        conversation = await conversation_of(request)
        try:
            verdict = await off_loop(deliver, conversation, me(request).name, text, chosen)
        except HeldByOther as exc:
            raise held_by_other(exc) from exc
        except ValueError as exc:
            raise api_error(400, str(exc)) from exc
        return web.json_response({"sent": True, "verdict": verdict}, status=201)

    def canned(query: str, conversation_id: Optional[str], agent: str) -> List[Dict[str, Any]]:
        facts: Dict[str, Any] = {"agent": agent}
        if conversation_id:
            order_id = bench.conversations.get(conversation_id).order_id
            order = store.get_order(order_id) if order_id else None
            if order is not None:
                facts.update(order_facts(order, policy))
        found = []
        for name in sorted(bench.assistant.responses):
            text = bench.assistant.fill(name, facts)
            if query.lower() in name.lower() or query in text:
                found.append({"response": name, "text": text, "complete": not PLACEHOLDER.search(text)})
        return found[:20]

    async def get_canned(request: web.Request) -> web.Response:
        query = request.query.get("q", "")[:50]
        conversation_id = request.query.get("conversation") or None
        if conversation_id and len(conversation_id) > 128:
            raise api_error(400, "conversation is too long")
        return web.json_response(await off_loop(canned, query, conversation_id, me(request).name))

    def mark(conversation_id: str) -> int:
        if bench.index is not None:
            return bench.index.mark(conversation_id)
        return len(bench.conversations.get(conversation_id).lines)

    def changes() -> Tuple[Any, ...]:
        """A cheap mark of everything the inbox is made of; the half minute, for promises
        that become overdue with time alone."""
        return (bench.index.latest_id() if bench.index else None, cases.latest_change(),
                sorted(holds.all().items()), int(time.monotonic() // STAMP_SECONDS))

    async def stream(request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``inbox`` (both lists) whenever it changes, ``conversation``
        whenever the watched conversation does; a comment every 15 s keeps it open."""
        conversation_id = request.query.get("conversation") or None
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        last: Dict[str, Any] = {}
        quiet = 0.0
        try:
            while True:
                events = []
                stamp = await off_loop(changes)
                if stamp != last.get("stamp"):  # something happened: build the inbox again
                    last["stamp"] = stamp
                    entries = await off_loop(inbox, True)
                    for entry in entries:
                        entry.pop("waiting_seconds")  # the page counts; the data changes only on events
                    payload = json.dumps(entries, ensure_ascii=False)
                    if payload != last.get("inbox"):
                        events.append(f"event: inbox\ndata: {payload}\n\n")
                        last["inbox"] = payload
                if conversation_id:
                    now_mark = await off_loop(mark, conversation_id)
                    if now_mark != last.get("mark"):
                        events.append(f"event: conversation\ndata: {json.dumps({'mark': now_mark})}\n\n")
                        last["mark"] = now_mark
                quiet = 0.0 if events else quiet + POLL_SECONDS
                if quiet >= 15:
                    events, quiet = [": ping\n\n"], 0.0
                for event in events:
                    await response.write(event.encode("utf-8"))
                await asyncio.sleep(POLL_SECONDS)
        except ConnectionResetError:
            pass  # the page went away
        except web.HTTPException as exc:  # the assistant went away: say so, the page retries
            await response.write(f"event: error\ndata: {json.dumps(exc.text)}\n\n".encode())
        return response

    app.router.add_get("/agent/me", whoami)
    app.router.add_get("/agent/inbox", get_inbox)
    app.router.add_get("/agent/conversations/{id}", get_conversation)
    app.router.add_post("/agent/conversations/{id}/takeover", takeover)
    app.router.add_post("/agent/conversations/{id}/release", release)
    app.router.add_post("/agent/conversations/{id}/messages", send)
    app.router.add_get("/agent/canned", get_canned)
    app.router.add_get("/agent/stream", stream)
    desk = DecisionDesk.of(bench, errors, off_loop)
    add_approvals(app, desk)
    add_review(app, desk)
    add_payouts(app, desk)
