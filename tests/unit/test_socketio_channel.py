"""channels/socketio.py and channels/socketio_queue.py: the socket.io server shares its
rooms through Redis when ``SOCKETIO_MESSAGE_QUEUE`` is set, keeps them to itself
otherwise, and still reaches its own sockets when Redis is away."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, List

import pytest
import socketio
from aiohttp import web

from channels.socketio import GuardedSocketIOInput
from channels.socketio_queue import QUEUE_CHANNEL, RedisMessageQueue, client_manager
from devtools.stack import free_port


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
    assert isinstance(manager, RedisMessageQueue) and isinstance(manager, socketio.AsyncRedisManager)
    assert manager.redis_url == "redis://127.0.0.1:1/0" and manager.channel == QUEUE_CHANNEL
    assert manager.server is channel.sio and not manager.write_only


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_setting_means_no_queue(monkeypatch, value):
    monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", value)
    assert client_manager() is None


@pytest.fixture
async def server_without_redis() -> AsyncIterator[tuple]:
    """A socket.io server (aiohttp) whose message queue is a Redis nobody listens on;
    a socket joins the room named in its ``session_request``, as in Rasa's channel."""
    manager = RedisMessageQueue(f"redis://127.0.0.1:{free_port()}/0", channel=QUEUE_CHANNEL)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    @sio.on("session_request")
    async def session_request(sid: str, data: Any) -> None:
        sio.enter_room(sid, data["session_id"])
        await sio.emit("session_confirm", data["session_id"], room=sid)

    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield sio, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_with_redis_away_a_message_still_reaches_this_instances_sockets(server_without_redis, caplog):
    sio, url = server_without_redis
    got: List[Any] = []
    confirmed = asyncio.Event()
    client = socketio.AsyncClient(reconnection=False)
    client.on("session_confirm", lambda _data: confirmed.set())
    client.on("bot_uttered", got.append)
    await client.connect(url, transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": "conv-1"})
        await asyncio.wait_for(confirmed.wait(), 10)
        await sio.emit("bot_uttered", {"text": "您好"}, room="conv-1")
        await sio.emit("bot_uttered", {"text": "别人的"}, room="conv-2")
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        await client.disconnect()
    assert got == [{"text": "您好"}]  # once, and only to its room
    assert "message queue unreachable" in caplog.text
    # the listener waits between tries to subscribe (about 1 s here), no busy loop
    assert 1 <= caplog.text.count("cannot subscribe") <= 3, caplog.text.count("cannot subscribe")
