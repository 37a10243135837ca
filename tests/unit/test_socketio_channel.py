"""channels/socketio.py: the socket.io server shares its rooms through Redis when
``SOCKETIO_MESSAGE_QUEUE`` is set, and keeps them to itself otherwise."""

from __future__ import annotations

from typing import Any

import pytest
import socketio

from channels.socketio import QUEUE_CHANNEL, GuardedSocketIOInput, client_manager


async def no_turn(_message: Any) -> None:
    return None


def test_without_a_message_queue_the_server_reaches_its_own_sockets_only(monkeypatch):
    monkeypatch.delenv("SOCKETIO_MESSAGE_QUEUE", raising=False)
    assert client_manager() is None
    channel = GuardedSocketIOInput()
    channel.blueprint(no_turn)
    assert channel.sio is not None
    assert type(channel.sio.manager) is socketio.AsyncManager


def test_with_a_message_queue_the_server_uses_the_redis_manager(monkeypatch):
    # building the manager connects to nothing yet: Redis is first used by the first
    # socket (its listener) or the first message sent
    monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", "redis://127.0.0.1:1/0")
    channel = GuardedSocketIOInput()
    channel.blueprint(no_turn)
    manager = channel.sio.manager
    assert isinstance(manager, socketio.AsyncRedisManager)
    assert manager.redis_url == "redis://127.0.0.1:1/0" and manager.channel == QUEUE_CHANNEL
    assert manager.server is channel.sio and not manager.write_only


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_setting_means_no_queue(monkeypatch, value):
    monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", value)
    assert client_manager() is None
