"""Case notices still to be told, told when the customer comes back.

A change of a customer's case (a supervisor's decision, the return parcel arrived, ...)
is said into their conversation at once when their channel can push it (the widget);
otherwise it waits in ``case_notices`` (``bot.playbook.followups.tell_case_changed``).
Before each customer turn the turn guard hands the turn to ``PendingNotices.tell``:
every pending notice of the conversation is claimed (once: whichever Rasa instance,
command or turn gets it first), said as ``EXTERNAL_case_changed`` through the turn's own
output (the REST reply, the widget's room) ahead of the answer to the customer's
message, and released again when nothing was said. A conversation an agent holds keeps
its notices until it is back with the assistant.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any, Awaitable, Callable, List

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.playbook.followups import CASE_CHANGED_INTENT, notice_entities
from bot.shop.casefacts import NoticeRecord, claim_notice, pending_notices, unclaim_notice
from bot.shop.store import OrderStore

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]


def notice_command(notice: NoticeRecord) -> str:
    """The message that says ``notice`` into the conversation (Rasa's ``/intent{entities}``:
    made here, never taken from a customer, whose text ``channels.sanitise`` neutralises)."""
    return f"/{CASE_CHANGED_INTENT}{json.dumps(notice_entities(notice))}"


class PendingNotices:
    """The shop database's pending notices, told on the conversation's next turn."""

    def __init__(self, store: OrderStore, clock: Callable[[], datetime]) -> None:
        self.store, self.clock = store, clock

    async def tell(self, message: UserMessage, handler: Handler, sent: Callable[[], int],
                   paused: Callable[[str], Awaitable[bool]]) -> List[NoticeRecord]:
        """Tell ``message``'s conversation its pending notices through ``handler`` (Rasa's
        ``on_new_message``) on ``message.output_channel``; ``sent()`` counts the bot
        messages sent on it so far. The notices told; errors are logged, never raised."""
        sender = message.sender_id
        try:
            pending = await asyncio.to_thread(pending_notices, self.store, sender)
            if not pending or await paused(sender):
                return []
        except Exception as exc:  # the shop database is away: the turn goes on without them
            logger.warning("could not read the pending notices of %s: %s", sender, exc)
            return []
        told = []
        for notice in pending:
            try:
                if not await asyncio.to_thread(claim_notice, self.store, notice.id, self.clock()):
                    continue  # told meanwhile by another
                before = sent()
                await handler(self._message(message, notice))
                if sent() > before:
                    told.append(notice)
                    continue
                logger.warning("notice %s of case %s: nothing was said to %s", notice.id, notice.case_id, sender)
            except Exception:
                logger.exception("could not tell notice %s of case %s to %s", notice.id, notice.case_id, sender)
            await asyncio.to_thread(unclaim_notice, self.store, notice.id)
        return told

    @staticmethod
    def _message(message: UserMessage, notice: NoticeRecord) -> UserMessage:
        output: OutputChannel = message.output_channel
        return UserMessage(notice_command(notice), output, message.sender_id,
                           input_channel=message.input_channel, metadata=message.metadata)
