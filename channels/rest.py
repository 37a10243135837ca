"""The REST channel (POST /webhooks/rest/webhook): Rasa's, with a checked body and the turn guard.

A malformed body gets a 400 before the turn starts; every turn then goes
through ``channels.guard.TurnGuard``, started with the server by ``channels.runtime``.
A REST client shows text only: a reply's buttons come as numbered lines under
its text, and the next message chooses one by its number or title
(``channels.buttons``).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from channels.buttons import with_buttons_as_text
from channels.guard import TurnGuard
from channels.runtime import attach


class GuardedRestInput(RestInput):
    """Rasa's REST channel; every turn goes through ``TurnGuard``."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # a REST client has gone once its request is answered: no late delivery
        guard = TurnGuard(self.name(), late_output=lambda: None, late_delivery=False)
        blueprint = super().blueprint(with_buttons_as_text(guard, guard.wrap(on_new_message)))
        attach(guard, blueprint)
        return blueprint

    # Rasa's RestInput takes any JSON: these answer a malformed body with a 400
    # (Sanic's InvalidUsage) before the turn starts, instead of a 500 or silence.

    async def _extract_sender(self, request: Request) -> Optional[str]:
        sender = _body(request).get("sender")
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
            # no sender would put every such client in one conversation, "default"
            raise InvalidUsage(f'"sender" must be a non-empty string of at most {MAX_SENDER} characters')
        return sender

    def _extract_message(self, request: Request) -> Optional[str]:
        message = _body(request).get("message", "")
        if not isinstance(message, str):
            raise InvalidUsage('"message" must be a string')
        return message

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        metadata = _body(request).get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidUsage('"metadata" must be an object')
        return metadata


MAX_SENDER = 128


def _body(request: Request) -> Dict[str, Any]:
    body = request.json  # malformed JSON: Sanic answers 400 itself
    if not isinstance(body, dict):
        raise InvalidUsage("the body must be a JSON object")
    return body
