"""Every workaround that depends on the internals of Rasa Open Source 3.6 (and rasa_sdk 3.6).

Each one rests on an assumption about Rasa's installed code, and
tests/unit/test_rasa_compat.py checks each assumption, so an upgrade that breaks
one fails loudly there instead of silently in production:

- **A failed custom action.** Rasa 3.6 logs it ("Encountered an exception while
  running action ...") and carries on without the action's events, so the
  customer may get no answer. ``ActionFailureHandler`` watches Rasa's log for
  that text and notes the failure for the turn running in the current context
  (``action_failures()``).
- **The tracker store's database.** Rasa wraps the configured tracker store in
  ``FailSafeTrackerStore`` (and ``AwaitableTrackerStore``), which keep it in the
  private ``_tracker_store``; ``tracker_store_engine`` walks through them to the
  SQL engine.
- **The action server's health URL.** Rasa knows only the ``/webhook`` URL of the
  action server; rasa_sdk serves ``/health`` beside it (``action_server_health_url``).
- **The action server's interface.** ``rasa run actions`` binds to
  ``SANIC_HOST``, default 0.0.0.0, and reads it after importing our actions
  package; ``bind_action_server_to_loopback`` (called by ``actions/__init__.py``)
  defaults it to ``AFTERSALES_HOST``, loopback unless set.
- **The socket.io server's client manager.** Rasa 3.6's ``SocketIOInput.blueprint``
  creates its ``AsyncServer`` itself, with no way to pass python-socketio's
  ``client_manager`` (a message queue shared by several instances: docs/scaling.md).
  It looks the name ``AsyncServer`` up in ``rasa.core.channels.socketio`` when
  called; ``socketio_blueprint_with_manager`` rebinds that name, for the call
  only, to one that adds the manager, and checks that the server got it.
- **A speed-up.** Rasa 3.6 checks every action server response with
  ``jsonschema.validate``, which re-checks the (large) events schema against the
  JSON Schema meta-schema and builds a new validator each time: about 60 ms of
  CPU per custom action call on our machine, most of a turn's cost (see
  docs/performance.md). ``install_speedups()`` makes
  ``RemoteAction._validate_action_result`` check the schema and build its
  validator once, and validate each response exactly as before: same schema,
  same error (``jsonschema.validate`` raises the ``best_match`` error), same
  message. The Rasa server installs it when it imports our channels
  (``channels/__init__.py``; credentials.yml names them), so every `rasa run` of
  this project gets it; ``AFTERSALES_SPEEDUPS=0`` leaves Rasa as it is (to compare).

- **A speed-up: one kept-alive connection to the action server.** Rasa 3.6's
  ``EndpointConfig.request`` (every custom action call) runs
  ``async with self.session() as session``, and ``session()`` makes a new aiohttp
  ``ClientSession``: a new TCP connection for every call, closed after it.
  ``install_speedups()`` makes ``session()`` lend one shared session per endpoint (its
  URL, headers, auth) and event loop, which leaving the ``async with`` does not close:
  its connections stay open between calls. They are dropped after
  ``KEEPALIVE_SECONDS`` idle, before rasa_sdk's Sanic server closes them (5 s), so a
  call never goes out on a connection the server is closing. When the server stops,
  ``close_shared_sessions`` closes them.

- **A speed-up: a tracker copied instead of replayed.** The tracker cache
  (``rasa_adapter/tracker_cache.py``) hands every caller its own copy of a
  conversation's tracker. Rasa 3.6 copies a tracker by replaying every event
  (``DialogueStateTracker.copy``); ``clone_tracker`` copies its attributes instead:
  the events (shared: Rasa never changes an event once applied), each slot, and the
  mutable state (``latest_action``, ``active_loop``). It knows each attribute of
  Rasa's tracker (``TRACKER_ATTRIBUTES``); the test fails when Rasa adds one.

The action server imports this module too: nothing here imports Rasa itself
(and TensorFlow with it) at import time.
"""

from __future__ import annotations

import functools
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from bot import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# -- a failed custom action ------------------------------------------------------

# rasa/core/processor.py (MessageProcessor._run_action) logs this, with
# logger.exception, when a custom action raises; the turn goes on without its events.
ACTION_FAILED_LOG = "Encountered an exception while running action"
ACTION_FAILED_LOGGER = "rasa.core.processor"

_turn_failures: ContextVar[Optional[List[str]]] = ContextVar("turn_failures", default=None)


class ActionFailureHandler(logging.Handler):
    """Notes, for the turn running in this context, that a custom action failed.

    ``install()`` puts it on Rasa's processor logger; a turn learns of its failed
    actions (even after other replies were sent) inside ``action_failures()``.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        failures = _turn_failures.get()
        if failures is not None and str(record.msg).startswith(ACTION_FAILED_LOG):
            failures.append(str(record.msg))

    def install(self) -> None:
        logging.getLogger(ACTION_FAILED_LOGGER).addHandler(self)

    def remove(self) -> None:
        logging.getLogger(ACTION_FAILED_LOGGER).removeHandler(self)


@contextmanager
def action_failures() -> Iterator[List[str]]:
    """The failures Rasa logs for custom actions run in this context, while inside."""
    failures: List[str] = []
    token = _turn_failures.set(failures)
    try:
        yield failures
    finally:
        _turn_failures.reset(token)


# -- the tracker store's database ------------------------------------------------


def tracker_store_engine(tracker_store: Any) -> Optional[Engine]:
    """The SQL engine of the tracker store Rasa wraps, or ``None`` if it is not SQL.

    ``Agent.tracker_store`` is a ``FailSafeTrackerStore`` around the configured
    store (itself in an ``AwaitableTrackerStore`` when it is not async); each
    wrapper keeps the store it wraps in ``_tracker_store``.
    """
    store = tracker_store
    while store is not None and getattr(store, "engine", None) is None:
        store = getattr(store, "_tracker_store", None)
    return store.engine if store is not None else None


# -- the action server's health URL ----------------------------------------------


def action_server_health_url(webhook_url: str) -> str:
    """rasa_sdk's ``/health`` beside the action endpoint's ``/webhook``."""
    base = webhook_url.rstrip("/")
    if base.endswith("/webhook"):
        base = base[: -len("/webhook")]
    return base + "/health"


# -- the action server's interface -----------------------------------------------


def bind_action_server_to_loopback() -> None:
    """Make ``rasa run actions`` listen on ``AFTERSALES_HOST`` (loopback by default).

    rasa_sdk's ``endpoint.run`` binds to ``SANIC_HOST`` (default 0.0.0.0) and
    reads it after ``create_app`` has imported the actions package, so setting
    it from ``actions/__init__.py`` takes effect. An explicit ``SANIC_HOST``
    wins.
    """
    os.environ.setdefault("SANIC_HOST", settings.host())


# -- the socket.io server's client manager ---------------------------------------

_Blueprint = TypeVar("_Blueprint")


def socketio_blueprint_with_manager(channel: Any, build: Callable[[], _Blueprint],
                                    client_manager: Any) -> _Blueprint:
    """``build()`` (Rasa's ``SocketIOInput.blueprint`` for ``channel``) with its
    ``AsyncServer`` made with ``client_manager``.

    Rasa 3.6 calls ``AsyncServer(async_mode="sanic", cors_allowed_origins=[])``,
    ``AsyncServer`` being a global of ``rasa.core.channels.socketio``, and keeps the
    server in ``channel.sio``. Blueprints are built once, at start-up, synchronously,
    so the name is rebound only while ``build`` runs. If Rasa stops building the
    server this way, start-up fails here rather than serving one instance's sockets
    only.
    """
    import rasa.core.channels.socketio as rasa_socketio

    server_class = rasa_socketio.AsyncServer
    rasa_socketio.AsyncServer = functools.partial(server_class, client_manager=client_manager)
    try:
        blueprint = build()
    finally:
        rasa_socketio.AsyncServer = server_class
    if getattr(getattr(channel, "sio", None), "manager", None) is not client_manager:
        raise RuntimeError(
            "Rasa's socket.io channel did not build its AsyncServer with our client manager "
            "(rasa_adapter/compat.py socketio_blueprint_with_manager): the socket.io message "
            "queue (SOCKETIO_MESSAGE_QUEUE) would be ignored")
    return blueprint


# -- a speed-up: the action response validator, built once -----------------------

_PATCHED = "_aftersales_cached_validator"


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """The validator of Rasa's action server response schema, built once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# -- a speed-up: one kept-alive session per endpoint -----------------------------

KEEPALIVE_SECONDS = 2.0  # below rasa_sdk's Sanic keep-alive timeout (5 s)
_shared_sessions: Dict[Tuple[Any, ...], Any] = {}


class _Lent:
    """A shared aiohttp session lent to one ``async with``: leaving it does not close it."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


def _shared_session(self: Any) -> _Lent:
    """``EndpointConfig.session``: the endpoint's session for this event loop, made as Rasa
    makes it (its headers, basic auth and timeout) on a keep-alive connector."""
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    loop = asyncio.get_running_loop()
    key = (self.url, tuple(sorted(self.headers.items())), tuple(sorted(self.basic_auth.items())))
    made_in, session = _shared_sessions.get(key, (None, None))
    if session is None or session.closed or made_in is not loop:
        auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        _shared_sessions[key] = (loop, session)
    return _Lent(session)


async def close_shared_sessions(*_: Any) -> int:
    """Close the kept-alive sessions made in the running event loop (Sanic's
    ``after_server_stop``, registered by channels/runtime.attach): left open, aiohttp warns
    "Unclosed client session" for each at exit. The number closed."""
    import asyncio

    loop = asyncio.get_running_loop()
    closed = 0
    for key, (made_in, session) in list(_shared_sessions.items()):
        if made_in is loop:
            del _shared_sessions[key]
            if not session.closed:
                await session.close()
                closed += 1
    if closed:
        logging.getLogger(__name__).info("closed %d kept-alive HTTP session(s) to endpoints", closed)
    return closed


def install_speedups() -> bool:
    """Install the speed-ups (once); False when ``AFTERSALES_SPEEDUPS=0``."""
    if not settings.speedups():
        return False
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    if not getattr(RemoteAction._validate_action_result, _PATCHED, False):
        setattr(_validate_action_result, _PATCHED, True)
        RemoteAction._validate_action_result = _validate_action_result
    if not getattr(EndpointConfig.session, _PATCHED, False):
        setattr(_shared_session, _PATCHED, True)
        EndpointConfig.session = _shared_session
    return True



# -- a speed-up: a tracker copied instead of replayed ----------------------------

# Every attribute of Rasa 3.6's DialogueStateTracker, as __init__ sets it, and how
# clone_tracker copies it. tests/unit/test_rasa_compat.py fails if Rasa adds or drops one.
TRACKER_SHARED = ("_max_event_history", "sender_id", "sender_source", "is_rule_tracker", "_paused",
                  "followup_action", "latest_message", "latest_bot_utterance", "model_id", "assistant_id")
TRACKER_COPIED = ("events", "slots", "latest_action", "active_loop")
TRACKER_ATTRIBUTES = frozenset(TRACKER_SHARED + TRACKER_COPIED)


def clone_tracker(tracker: Any) -> Any:
    """A copy of ``tracker`` in the same state, made without replaying its events.

    Events, the latest messages and the other immutable values are shared; the event
    list, each slot, ``latest_action`` and ``active_loop`` (which Rasa changes in
    place) are copied, so nothing done to the copy reaches ``tracker``.
    """
    import copy

    clone = object.__new__(type(tracker))
    state = clone.__dict__
    source = tracker.__dict__
    for name in TRACKER_SHARED:
        state[name] = source[name]
    state["events"] = type(source["events"])(source["events"], source["events"].maxlen)
    slots = source["slots"]
    state["slots"] = type(slots)((name, copy.copy(slot)) for name, slot in slots.items())
    latest_action = source["latest_action"]
    state["latest_action"] = dict(latest_action) if latest_action is not None else None
    active_loop = source["active_loop"]
    state["active_loop"] = copy.copy(active_loop) if active_loop is not None else None
    return clone
