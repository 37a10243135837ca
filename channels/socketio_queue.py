"""The socket.io message queue shared by several Rasa instances (``SOCKETIO_MESSAGE_QUEUE``).

Rasa's socket.io server sends a bot message to the conversation's room; python-socketio's
default client manager knows only the sockets connected to this process. With a queue,
python-socketio's Redis manager publishes every message on a Redis channel and each
instance delivers it to the room's sockets it holds, so the widget gets it whichever
instance its socket is on (docs/scaling.md).

``RedisMessageQueue`` is python-socketio 5.8's Redis manager with two repairs for
when Redis cannot be reached:

- python-socketio logs and drops the message, even for the sockets of the instance
  that sends it; here they get it, as without a queue: the widget whose socket is on
  the instance running its turn still sees the answer (or the turn guard's fallback).
- python-socketio subscribes outside its retry loop, so a Redis away when the first
  socket connects makes its listener task retry at once, forever (a busy loop
  printing tracebacks); here it waits between tries (1 s, doubling up to 30 s).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Dict, Optional

import socketio
from redis.exceptions import RedisError

from bot import settings

logger = logging.getLogger(__name__)

# the Redis pub/sub channel the instances share (not a key: apart from the lock store's keys)
QUEUE_CHANNEL = "aftersales-socketio"


class RedisMessageQueue(socketio.AsyncRedisManager):
    """python-socketio's Redis manager; a message Redis did not take reaches this
    instance's sockets at least.

    Rests on python-socketio 5.8's ``AsyncRedisManager``: ``_publish`` returns what
    Redis's PUBLISH returns (the number of subscribers) or ``None`` once it gives up;
    ``_listen`` yields the channel's messages, raising if its first subscribe fails
    (tests/unit/test_socketio_channel.py checks both with Redis unreachable).
    """

    async def _listen(self) -> AsyncIterator[Any]:
        pause = 1.0
        while True:
            try:
                async for message in super()._listen():
                    pause = 1.0
                    yield message
                return
            except RedisError as exc:  # python-socketio retries on its own once subscribed
                logger.warning("socket.io message queue: cannot subscribe (%s); again in %.0f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _publish(self, data: Dict[str, Any]) -> Any:
        published = await super()._publish(data)
        if published is None and data.get("method") == "emit" and data.get("callback") is None:
            logger.warning("socket.io message queue unreachable: %r delivered to this instance's "
                           "sockets only", data.get("event"))
            await socketio.AsyncManager.emit(self, data["event"], data["data"], data["namespace"],
                                             room=data["room"], skip_sid=data["skip_sid"])
        return published


def client_manager(url: Optional[str] = None) -> Optional[socketio.AsyncManager]:
    """The message queue on ``url`` (default: ``SOCKETIO_MESSAGE_QUEUE``), or ``None``
    without one: the server then reaches its own sockets only."""
    url = settings.socketio_message_queue() if url is None else url
    return RedisMessageQueue(url, channel=QUEUE_CHANNEL) if url else None
