"""The web service's periodic retry of the case notices still pending.

A notice made while Rasa was away, or for a widget conversation, is retried every
``interval`` seconds with ``bot.playbook.followups.tell_pending`` (the same claim as
every other teller: told once). A REST customer's notice waits for their next message
(channels/notices.py): ``rasa_adapter.api.notice_sayer`` says nothing to REST.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import AsyncIterator, Callable

from aiohttp import web

from bot.playbook.followups import Say, tell_pending
from bot.shop.store import OrderStore

logger = logging.getLogger(__name__)


def add_notice_retry(app: web.Application, store: OrderStore, say: Say, clock: Callable[[], datetime],
                     interval: float) -> None:
    """Retry the pending notices every ``interval`` seconds while ``app`` runs (0: never)."""
    if interval <= 0:
        return

    async def retry_forever() -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            try:
                told = await loop.run_in_executor(None, tell_pending, store, say, clock())
            except Exception:  # the shop database is away: next time
                logger.exception("could not retry the pending case notices")
                continue
            for notice in told:
                logger.info("told pending notice %s of case %s (%s)", notice.id, notice.case_id, notice.change.value)

    async def running(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(retry_forever())
        yield
        task.cancel()

    app.cleanup_ctx.append(running)
