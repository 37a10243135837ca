"""The socket.io channel (the shop page's chat widget): Rasa's, with the turn guard.

A late answer (a replayed turn) reaches the widget through the session's room.
With ``SOCKETIO_MESSAGE_QUEUE`` (several Rasa instances: docs/scaling.md) the
server's rooms are shared through Redis, so a message any instance sends to a
conversation reaches its widget whichever instance holds the socket.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

import socketio
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput

from bot import settings
from channels.guard import TurnGuard
from channels.runtime import attach
from rasa_adapter.compat import socketio_blueprint_with_manager

# the Redis pub/sub channel the instances share (not a key: the lock store's keys are apart)
QUEUE_CHANNEL = "aftersales-socketio"


def client_manager(url: Optional[str] = None) -> Optional[socketio.AsyncManager]:
    """python-socketio's Redis manager on ``url`` (default: ``SOCKETIO_MESSAGE_QUEUE``),
    or ``None`` without one: the server then reaches its own sockets only."""
    url = settings.socketio_message_queue() if url is None else url
    return socketio.AsyncRedisManager(url, channel=QUEUE_CHANNEL) if url else None


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel; every turn goes through ``TurnGuard``.

    A late answer (a replayed turn) goes to the conversation's room: with
    ``session_persistence`` the widget's socket joins the room named after its
    session id, which is the conversation (sender) id.
    """

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> SocketBlueprint:
        guard = TurnGuard(self.name(), late_output=self._late_output)
        build = super().blueprint
        manager = client_manager()
        if manager is None:
            blueprint = build(guard.wrap(on_new_message))
        else:
            blueprint = socketio_blueprint_with_manager(
                self, lambda: build(guard.wrap(on_new_message)), manager)
        attach(guard, blueprint)
        return blueprint

    def _late_output(self) -> Optional[OutputChannel]:
        sio = getattr(self, "sio", None)
        return SocketIOOutput(sio, self.bot_message_evt) if sio is not None else None
