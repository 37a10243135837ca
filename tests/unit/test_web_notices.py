"""web/notices.py: the web service retries the pending case notices while it runs, each once."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Tuple

from aiohttp import web

from bot.playbook.followups import tell_case_changed
from bot.shop.casefacts import CaseChange, notices_of, pending_notices
from bot.shop.cases import CaseLog, CaseState
from tests.helpers.shop import NOW
from web.notices import add_notice_retry


async def test_pending_notices_are_retried_until_told_then_never_again(store):
    cases = CaseLog(store)
    case = cases.register(conversation_id="w1", intent="quality_issue", state=CaseState.WAITING_SHOP,
                          next_step="等仓库", note="n", now=NOW)
    notice = tell_case_changed(cases, store, case.id, CaseChange.RESOLVED, lambda *_: False, NOW)
    assert notice is not None and not notice.delivered
    said: List[Tuple[str, str, Dict[str, str]]] = []
    reachable = asyncio.Event()

    def say(conversation: str, intent: str, entities: Dict[str, str]) -> bool:
        said.append((conversation, intent, entities))
        return reachable.is_set()  # Rasa away at first, then back

    app = web.Application()
    add_notice_retry(app, store, say, lambda: NOW, interval=0.05)
    runner = web.AppRunner(app)
    await runner.setup()  # starts the retry, as the web service's start does
    try:
        for _ in range(100):
            if len(said) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(said) >= 2 and pending_notices(store, "w1")  # tried, not told: still pending
        reachable.set()
        for _ in range(100):
            if not pending_notices(store, "w1"):
                break
            await asyncio.sleep(0.05)
        assert notices_of(store, case.id)[0].delivered
        tries = len(said)
        await asyncio.sleep(0.3)
        assert len(said) == tries  # told: never said again
    finally:
        await runner.cleanup()
    assert said[-1] == ("w1", "EXTERNAL_case_changed", {"case_id": str(case.id), "change": "resolved"})


def test_no_retry_when_the_interval_is_zero(store):
    app = web.Application()
    add_notice_retry(app, store, lambda *_: True, lambda: NOW, interval=0)
    assert list(app.cleanup_ctx) == []
