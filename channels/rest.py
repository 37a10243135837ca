"""REST (POST /webhooks/rest/webhook) with the turn guard."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from channels.guard import TurnGuard


class GuardedRestInput(RestInput):
    """Rasa's REST channel; every turn goes through ``TurnGuard``."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # a REST client has gone once its request is answered: no late delivery
        guard = TurnGuard(self.name(), late_output=lambda: None)
        blueprint = super().blueprint(guard.wrap(on_new_message))
        guard.attach(blueprint)
        return blueprint
