"""The socket.io channel (the shop page's chat widget): Rasa's, with the turn guard.

A late answer (a replayed turn) and an agent's message (the workbench, through Rasa's
tracker API) reach the widget through the session's room; with ``SOCKETIO_REDIS_URL``
(``make run-scaled``) the rooms are shared by every Rasa instance.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput

from bot import settings
from channels.guard import TurnGuard
from channels.runtime import attach
from rasa_adapter.compat import share_socketio_rooms


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
        blueprint = super().blueprint(guard.wrap(on_new_message))
        redis_url = settings.socketio_redis_url()
        if redis_url:  # several instances: rooms shared through Redis
            share_socketio_rooms(self.sio, redis_url)
        attach(guard, blueprint)
        return blueprint

    def _late_output(self) -> Optional[OutputChannel]:
        sio = getattr(self, "sio", None)
        return SocketIOOutput(sio, self.bot_message_evt) if sio is not None else None
