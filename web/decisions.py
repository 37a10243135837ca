"""What the workbench's decision routes share (approvals, photo review, payouts): the
web service's error helpers, running the store's calls off the event loop, the case and
agent logs, the shop's policy and case notes, and telling a customer of a change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from aiohttp import web

from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import ShopPolicy
from bot.shop.cases import CaseLog
from bot.workbench.agents import AgentLog

if TYPE_CHECKING:
    from web.workbench import Bench


@dataclass(frozen=True)
class DecisionDesk:
    bench: Bench
    api_error: Callable[..., web.HTTPException]
    json_body: Callable[[web.Request], Awaitable[Any]]
    text_field: Callable[..., Any]
    off_loop: Callable[..., Awaitable[Any]]
    cases: CaseLog
    log: AgentLog
    policy: ShopPolicy
    notes: CaseNotes  # case_notes.yml
    say: Any  # RasaConversations.notice_sayer(): tells a customer in their conversation

    @classmethod
    def of(cls, bench: Bench, errors: Any, off_loop: Callable[..., Awaitable[Any]]) -> DecisionDesk:
        """``errors`` is web.app's (api_error, json_body, text_field); ``off_loop`` the
        workbench's (a worker thread; the assistant away: 503)."""
        api_error, json_body, text_field = errors
        return cls(bench, api_error, json_body, text_field, off_loop, CaseLog(bench.store),
                   AgentLog(bench.store), bench.assistant.policy, bench.assistant.notes,
                   bench.conversations.notice_sayer())

    def path_id(self, request: web.Request, key: str, what: str) -> int:
        """The number in the route's ``{key}``; not a number: 404 ``no such <what>``."""
        try:
            return int(request.match_info[key])
        except ValueError as exc:
            raise self.api_error(404, f"no such {what}") from exc
