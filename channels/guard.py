"""Guards every customer turn of our channels: no silence, no lost case.

``TurnGuard.wrap`` sits between a channel and Rasa's ``agent.handle_message``:

- the text is read as text (``channels.sanitise``), never as ``/intent{...}``;
- admission control: past the server's concurrency limit a new conversation is told
  politely when to come back (``BUSY``), while conversations under way are served;
- a turn that takes longer than the deadline finishes in the background; over socket.io
  the customer gets a polite "still working" reply and the late answer follows in the
  session's room. Over REST nothing can follow a reply: the guard waits up to the longer
  REST deadline and then says truthfully when to ask again (``ASK_AGAIN``);
- a turn that produced no bot message, or during which a custom action failed
  (Rasa 3.6 swallows the error: the answer is missing or partial), gets a polite
  fallback, unless the conversation is paused on purpose (a human took over); the
  turn is journaled for replay, as is a turn an action answered with "the database
  is unavailable" (``needs_replay``);
- the notices of the customer's cases still to be told (``channels.notices``) are said
  ahead of the turn's answer.

The reply names are in bot/playbook/faults.py. The guard's server-wide services
(settings, journal, replay worker, rendering a reply) are the ``FaultRuntime`` of
``channels.runtime``, which hands it to the guard when the server starts; until
then turns go to Rasa as they are.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.playbook import faults
from channels.sanitise import neutralise_command
from rasa_adapter.compat import action_failures

if TYPE_CHECKING:
    from channels.runtime import FaultRuntime

logger = logging.getLogger(__name__)

Handler = Callable[[UserMessage], Awaitable[Any]]
LateOutput = Callable[[], Optional[OutputChannel]]

# why a turn is journaled (``needs_replay``)
DATABASE = "database"  # an action said the shop database is unavailable
ACTION_FAILED = "action_failed"  # a custom action failed: the answer is missing or partial
UNANSWERED = "unanswered"  # no bot message at all


class CountingOutput(OutputChannel):
    """Passes every bot message on to the channel's own output, keeping a copy."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent: List[Dict[str, Any]] = []

    def name(self) -> str:
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent.append(dict(message))
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def needs_replay(sent: List[Dict[str, Any]], action_failed: bool = False) -> Optional[str]:
    """Why a turn with these bot messages must be replayed, or ``None``.

    A turn that already told the customer the database is unavailable needs no
    fallback on top (reason ``database``); any other failed action means the
    answer is missing or partial.
    """
    if any(m.get("utter_action") in faults.JOURNALED for m in sent):
        return DATABASE
    if action_failed:
        return ACTION_FAILED
    if not sent:
        return UNANSWERED
    return None


class TurnGuard:
    """One per channel; wraps the channel's ``on_new_message``.

    ``channels.runtime.attach`` sets ``runtime`` when the server starts.
    """

    def __init__(self, channel: str, late_output: LateOutput, late_delivery: bool = True) -> None:
        self.channel = channel
        self.late_output = late_output  # where a late (replayed) answer goes, if anywhere
        self.late_delivery = late_delivery  # whether a reply may follow the turn's (not REST)
        self.runtime: Optional[FaultRuntime] = None

    def wrap(self, on_new_message: Handler) -> Handler:
        async def guarded(message: UserMessage) -> None:
            runtime = self.runtime
            message.text = neutralise_command(message.text)
            if runtime is None:  # not started yet: Rasa as it is
                await on_new_message(message)
                return
            output = CountingOutput(message.output_channel)
            message.output_channel = output
            admission = runtime.admission
            if not await runtime.admit(message.sender_id):
                await runtime.say(faults.BUSY, message.sender_id, output.inner,
                                  wait_minutes=admission.wait_minutes())
                return
            started = admission.started()
            turn = asyncio.ensure_future(self._turn(runtime, on_new_message, message, output))
            turn.add_done_callback(lambda _task: admission.finished(started))
            deadline = runtime.settings.turn_deadline if self.late_delivery else runtime.settings.rest_deadline
            done, _ = await asyncio.wait({turn}, timeout=deadline)
            if turn not in done:
                logger.warning("turn %s of %s is slower than %.1f s: it finishes in the background",
                               message.message_id, message.sender_id, deadline)
                runtime.keep(turn)
                if self.late_delivery:
                    await runtime.say(faults.STILL_WORKING, message.sender_id, output.inner)
                else:
                    await runtime.say(faults.ASK_AGAIN, message.sender_id, output.inner,
                                      wait_minutes=admission.wait_minutes())

        return guarded

    async def _turn(self, runtime: FaultRuntime, on_new_message: Handler, message: UserMessage,
                    output: CountingOutput) -> None:
        await runtime.tell_notices(message, on_new_message, output)
        told = len(output.sent)  # the notices said ahead of this turn's answer
        failed = False
        with action_failures() as failures:
            try:
                await on_new_message(message)
            except Exception:
                logger.exception("turn %s of %s failed", message.message_id, message.sender_id)
                failed = True
        reason = needs_replay(output.sent[told:], action_failed=failed or bool(failures))
        if reason is None:
            return
        if reason == UNANSWERED and await runtime.is_paused(message.sender_id):
            return  # a human agent took over: silence on purpose
        if reason != DATABASE:  # an action failed: the answer is missing or partial
            await runtime.say(faults.FALLBACK, message.sender_id, output.inner)
        await runtime.record(message, reason)
