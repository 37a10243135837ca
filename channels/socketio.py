"""The socket.io channel (the shop page's chat widget): Rasa's, with the turn guard.

A late answer (a replayed turn) and an agent's message (the workbench, through Rasa's
tracker API) reach the widget through the session's room. With
``SOCKETIO_MESSAGE_QUEUE`` (several Rasa instances: channels/socketio_queue.py) a
message any instance sends to a conversation reaches its widget whichever instance
holds the socket.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput

from channels.guard import TurnGuard
from channels.runtime import attach
from channels.socketio_queue import client_manager
from rasa_adapter.compat import socketio_blueprint_with_manager


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
