"""The socket.io rooms shared through Redis (rasa_adapter/compat.share_socketio_rooms) and
the channel that uses it when SOCKETIO_REDIS_URL is set."""

import pytest
import socketio

from channels.socketio import GuardedSocketIOInput
from rasa_adapter.compat import share_socketio_rooms


async def on_new_message(message):
    return None


def test_a_fresh_server_gets_the_redis_manager():
    sio = socketio.AsyncServer(async_mode="sanic")  # as Rasa's channel builds it
    assert isinstance(sio.manager, socketio.AsyncManager) and sio.manager_initialized is False
    share_socketio_rooms(sio, "redis://127.0.0.1:1/1")  # no connection until used
    assert isinstance(sio.manager, socketio.AsyncRedisManager) and sio.manager.server is sio


def test_a_started_server_keeps_its_manager():
    sio = socketio.AsyncServer(async_mode="sanic")
    sio.manager_initialized = True
    with pytest.raises(RuntimeError):
        share_socketio_rooms(sio, "redis://127.0.0.1:1/1")


@pytest.mark.parametrize("url, manager", [(None, socketio.AsyncManager),
                                          ("redis://127.0.0.1:1/1", socketio.AsyncRedisManager)])
def test_the_channel_shares_rooms_only_when_told(monkeypatch, url, manager):
    if url:
        monkeypatch.setenv("SOCKETIO_REDIS_URL", url)
    else:
        monkeypatch.delenv("SOCKETIO_REDIS_URL", raising=False)
    channel = GuardedSocketIOInput(session_persistence=True)
    channel.blueprint(on_new_message)
    assert type(channel.sio.manager) is manager
