"""Buttons for a channel that cannot show them: numbered lines out, a typed choice in.

A reply may come with buttons (``buttons:`` of a domain.yml response, or an
action's ``utter_message(buttons=...)``). rasa-webchat (socket.io) shows them and
sends the payload of the button tapped as the customer's message. A REST client
shows text only, so ``channels.rest`` puts the buttons under the reply's text as
numbered lines (``ButtonsAsText``) and reads the customer's next message as the
payload of the button it names (``chosen_payload``): its number, or its title as
shown. A payload is an ordinary message: whatever it names is checked as if typed
(an order number goes through ``OrderAccess``).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Iterable, List, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

if TYPE_CHECKING:
    from channels.guard import TurnGuard

Button = Dict[str, Any]
# renders the response that presents numbered options over a text-only channel
OptionsText = Callable[[str, str], Awaitable[Optional[str]]]
Handler = Callable[[UserMessage], Awaitable[Any]]

# the response that carries the numbered options under a reply (its {options})
OPTIONS_AS_TEXT = "utter_options_as_text"
# a message longer than this is never a choice (and costs no tracker read)
MAX_CHOICE_CHARS = 40


def numbered(buttons: List[Button]) -> str:
    """The buttons as numbered lines: 1. 退货 / 2. 换货."""
    return "\n".join(f"{i}. {button.get('title', '')}" for i, button in enumerate(buttons, 1))


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.,，!！~～")


def chosen_payload(text: Optional[str], buttons: List[Button]) -> Optional[str]:
    """The payload of the button that ``text`` chooses: its number as listed by
    ``numbered`` (「2」, 「２」), or its title; ``None`` if it names none."""
    if not text or not buttons or len(text) > MAX_CHOICE_CHARS:
        return None
    typed = _plain(text)
    if typed.isascii() and typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return str(buttons[int(typed) - 1].get("payload", ""))
    for button in buttons:
        if typed == _plain(str(button.get("title", ""))):
            return str(button.get("payload", ""))
    return None


def offered_buttons(events_newest_first: Iterable[Dict[str, Any]]) -> List[Button]:
    """The buttons the customer is answering: those of the last bot message with
    buttons since the customer's last message (none once the customer wrote)."""
    for event in events_newest_first:
        kind = event.get("event")
        if kind == "user":
            return []
        if kind == "bot":
            buttons = (event.get("data") or {}).get("buttons")
            if buttons:
                return list(buttons)
    return []


class ButtonsAsText(OutputChannel):
    """Passes bot messages on to ``inner`` with their buttons as numbered lines
    under the text (``OPTIONS_AS_TEXT``, rendered by ``options_text``)."""

    def __init__(self, inner: OutputChannel, options_text: OptionsText) -> None:
        self.inner = inner
        self.options_text = options_text

    def name(self) -> str:
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        buttons = message.get("buttons") or message.get("quick_replies")
        if buttons:
            listing = numbered(list(buttons))
            options = await self.options_text(recipient_id, listing) or listing
            message = {k: v for k, v in message.items() if k not in ("buttons", "quick_replies")}
            message["text"] = "\n".join(t for t in (message.get("text") or "", options) if t)
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def with_buttons_as_text(guard: TurnGuard, handler: Handler) -> Handler:
    """``handler`` (the guarded turn) for a text-only channel: the message is read
    as the payload of the button it chooses among those the last reply offered,
    and the replies' buttons go out as numbered lines. Until the server has
    started (no runtime yet) messages pass as they are."""

    async def text_only(message: UserMessage) -> None:
        runtime = guard.runtime
        if runtime is not None:
            channel = message.output_channel.name()

            async def options(sender_id: str, listing: str) -> Optional[str]:
                return await runtime.options_text(sender_id, listing, channel)

            message.output_channel = ButtonsAsText(message.output_channel, options)
            if message.text and len(message.text) <= MAX_CHOICE_CHARS:
                offered = await runtime.offered_buttons(message.sender_id)
                message.text = chosen_payload(message.text, offered) or message.text
        await handler(message)

    return text_only
