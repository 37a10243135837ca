"""rasa_adapter/compat.py: each Rasa 3.6 workaround, and the assumption about Rasa's code it rests on.

The ``test_rasa_*`` tests read the installed Rasa and rasa_sdk. When one fails
after an upgrade, the workaround named in its message no longer works: adapt it
(or drop it if Rasa now does the job), then the test.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import jsonschema
import pytest
import rasa.cli.run
import rasa.core.actions.action
import rasa.core.channels.socketio
import rasa.core.processor
import rasa_sdk.endpoint
import socketio
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.socketio import SocketIOInput
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
    create_tracker_store,
)
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig
from sanic import Sanic

import channels  # noqa: F401  (as the Rasa server does: installs the speed-ups)
from bot.settings import PROJECT_ROOT
from rasa_adapter import compat


def source(obj: Any) -> str:
    return inspect.getsource(obj)


# -- a failed custom action: Rasa logs it and goes on ----------------------------


def test_rasa_logs_a_failed_custom_action_with_the_text_we_watch_for():
    run_action = source(MessageProcessor._run_action)
    logged = re.search(r'except Exception:\s*logger\.exception\(\s*f"' + re.escape(compat.ACTION_FAILED_LOG),
                       run_action)
    assert logged, (
        "Rasa's MessageProcessor._run_action no longer logs a failed custom action with "
        f"logger.exception(f\"{compat.ACTION_FAILED_LOG} ...\"): the turn guard would miss "
        "failed actions (no fallback, no journal). Update compat.ACTION_FAILED_LOG or find "
        "another way to learn that an action failed.")
    assert rasa.core.processor.logger.name == compat.ACTION_FAILED_LOGGER, (
        f"Rasa's processor logs to {rasa.core.processor.logger.name!r}, "
        f"not compat.ACTION_FAILED_LOGGER ({compat.ACTION_FAILED_LOGGER!r})")


@pytest.fixture
def failure_handler() -> Iterator[compat.ActionFailureHandler]:
    handler = compat.ActionFailureHandler()
    handler.install()
    yield handler
    handler.remove()


def rasa_logs_a_failed_action(name: str = "action_quality_issue") -> None:
    """What Rasa 3.6 logs (its message, its logger, level ERROR)."""
    logging.getLogger(compat.ACTION_FAILED_LOGGER).error(
        f"{compat.ACTION_FAILED_LOG} '{name}'.Bot will continue, but the actions events are lost. "
        "Please check the logs of your action server for more information.")


def test_a_failed_action_is_noted_for_the_turn_running_in_this_context(failure_handler):
    with compat.action_failures() as failures:
        logging.getLogger(compat.ACTION_FAILED_LOGGER).error("something else went wrong")
        assert failures == []
        rasa_logs_a_failed_action()
        assert len(failures) == 1 and "action_quality_issue" in failures[0]
    rasa_logs_a_failed_action()  # outside a turn: noted nowhere
    assert len(failures) == 1


async def test_each_turn_notes_only_its_own_failed_actions(failure_handler):
    async def turn(fails: bool) -> int:
        with compat.action_failures() as failures:
            await asyncio.sleep(0)
            if fails:
                rasa_logs_a_failed_action()
            await asyncio.sleep(0)
            return len(failures)

    assert await asyncio.gather(turn(True), turn(False), turn(True)) == [1, 0, 1]


def test_a_removed_handler_notes_nothing():
    handler = compat.ActionFailureHandler()
    handler.install()
    handler.remove()
    with compat.action_failures() as failures:
        rasa_logs_a_failed_action()
    assert failures == []


# -- the tracker store's database, behind Rasa's wrappers ------------------------


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[SQLTrackerStore]:
    store = create_tracker_store(EndpointConfig(type="sql", dialect="sqlite", db=str(tmp_path / "tracker.db")),
                                 Domain.empty())
    assert isinstance(store, SQLTrackerStore)
    yield store
    store.engine.dispose()


def test_rasa_agent_keeps_the_configured_tracker_store_in_private_wrappers(sql_store):
    agent = Agent(domain=Domain.empty(), tracker_store=sql_store)
    assert isinstance(agent.tracker_store, FailSafeTrackerStore)
    for wrapper in (agent.tracker_store, AwaitableTrackerStore(sql_store)):
        assert getattr(wrapper, "_tracker_store", None) is sql_store, (
            f"Rasa's {type(wrapper).__name__} no longer keeps the store it wraps in "
            "`_tracker_store`: compat.tracker_store_engine cannot find the tracker store's "
            "database, and the pending-turn journal would fall back to a local SQLite file "
            "that other Rasa instances do not share.")


def test_the_journal_finds_the_tracker_stores_engine_through_the_wrappers(sql_store):
    agent = Agent(domain=Domain.empty(), tracker_store=sql_store)
    assert compat.tracker_store_engine(agent.tracker_store) is sql_store.engine
    wrapped_twice = FailSafeTrackerStore(AwaitableTrackerStore(sql_store))
    assert compat.tracker_store_engine(wrapped_twice) is sql_store.engine


def test_a_tracker_store_without_sql_has_no_engine():
    agent = Agent(domain=Domain.empty(), tracker_store=InMemoryTrackerStore(Domain.empty()))
    assert compat.tracker_store_engine(agent.tracker_store) is None
    assert compat.tracker_store_engine(None) is None


# -- the action server's health URL ----------------------------------------------


@pytest.mark.parametrize("webhook, health", [
    ("http://127.0.0.1:5055/webhook", "http://127.0.0.1:5055/health"),
    ("http://actions:5055/webhook/", "http://actions:5055/health"),
    ("https://shop.example/bot/webhook", "https://shop.example/bot/health"),
    ("http://127.0.0.1:5055", "http://127.0.0.1:5055/health"),
])
def test_the_health_url_is_beside_the_webhook(webhook, health):
    assert compat.action_server_health_url(webhook) == health


def test_rasa_sdk_serves_health_beside_webhook(monkeypatch):
    monkeypatch.setattr(Sanic, "test_mode", True)  # another app of the same name may exist
    app = rasa_sdk.endpoint.create_app("actions")
    routes = {route.path: route.methods for route in app.router.routes_all.values()}
    assert "GET" in routes.get("health", ()) and "POST" in routes.get("webhook", ()), (
        f"rasa_sdk's action server no longer serves GET /health beside POST /webhook ({routes}): "
        "compat.action_server_health_url gives a wrong URL and the replay worker would never "
        "find the action server healthy.")


# -- the action server's interface -----------------------------------------------


def test_rasa_sdk_reads_sanic_host_after_importing_the_actions_package():
    run = source(rasa_sdk.endpoint.run)
    imports, reads = run.find("create_app("), run.find('os.environ.get("SANIC_HOST", "0.0.0.0")')
    assert 0 <= imports < reads, (
        "rasa_sdk.endpoint.run no longer reads SANIC_HOST after create_app has imported the "
        "actions package: compat.bind_action_server_to_loopback (called by actions/__init__.py) "
        "would not decide where `rasa run actions` listens.")
    assert "executor.register_package(action_package_name)" in source(rasa_sdk.endpoint.create_app)
    assert "main_from_args(args)" in source(rasa.cli.run.run_actions), (
        "`rasa run actions` no longer runs rasa_sdk's own entry point")


BIND = """
import sys
import sanic

sanic.Sanic.run = lambda self, host=None, port=None, **kwargs: print("BIND", host, port)
import rasa_sdk.__main__

sys.argv = ["rasa_sdk", "--actions", "actions", "--port", "5055"]
rasa_sdk.__main__.main()
"""


@pytest.mark.parametrize("env, host", [
    ({}, "127.0.0.1"),
    ({"AFTERSALES_HOST": "0.0.0.0"}, "0.0.0.0"),
    ({"AFTERSALES_HOST": "0.0.0.0", "SANIC_HOST": "127.0.0.2"}, "127.0.0.2"),
])
def test_the_action_server_listens_on_loopback_unless_told(env: Dict[str, str], host: str):
    """rasa_sdk's entry point, as `rasa run actions` calls it, with only Sanic's run replaced."""
    clean = {k: v for k, v in os.environ.items() if k not in ("SANIC_HOST", "AFTERSALES_HOST")}
    done = subprocess.run([sys.executable, "-c", BIND], cwd=PROJECT_ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"BIND {host} 5055" in done.stdout.splitlines()


def test_an_explicit_sanic_host_wins(monkeypatch):
    monkeypatch.setenv("AFTERSALES_HOST", "0.0.0.0")
    monkeypatch.setenv("SANIC_HOST", "127.0.0.3")
    compat.bind_action_server_to_loopback()
    assert os.environ["SANIC_HOST"] == "127.0.0.3"
    monkeypatch.delenv("SANIC_HOST")
    compat.bind_action_server_to_loopback()
    assert os.environ["SANIC_HOST"] == "0.0.0.0"


# -- the socket.io server's client manager: Rasa builds the AsyncServer itself ----


async def no_turn(_message: Any) -> None:
    return None


def test_rasa_builds_its_socketio_server_so_that_we_can_give_it_a_client_manager():
    manager = socketio.AsyncManager()
    channel = SocketIOInput()
    blueprint = compat.socketio_blueprint_with_manager(channel, lambda: channel.blueprint(no_turn), manager)
    assert blueprint is not None
    assert channel.sio is not None and channel.sio.manager is manager and manager.server is channel.sio, (
        "Rasa's SocketIOInput.blueprint no longer builds its AsyncServer through the name "
        "rasa.core.channels.socketio.AsyncServer, or no longer keeps it in channel.sio: "
        "compat.socketio_blueprint_with_manager cannot give it the socket.io message queue "
        "(several instances: docs/scaling.md). Find where the server is made now.")
    assert rasa.core.channels.socketio.AsyncServer is socketio.AsyncServer  # put back after the call


def test_a_server_built_without_the_manager_stops_the_start_up():
    channel = SocketIOInput()
    with pytest.raises(RuntimeError, match="SOCKETIO_MESSAGE_QUEUE"):
        compat.socketio_blueprint_with_manager(channel, lambda: None, socketio.AsyncManager())
    with pytest.raises(ValueError):  # a failing build still puts Rasa's name back
        compat.socketio_blueprint_with_manager(channel, lambda: int("x"), socketio.AsyncManager())
    assert rasa.core.channels.socketio.AsyncServer is socketio.AsyncServer


# -- the speed-up: Rasa checks action server responses as before, faster ---------

RESPONSES = [
    {"events": [{"event": "slot", "timestamp": None, "name": "order_id", "value": "3027461958302746518"},
                {"event": "active_loop", "name": None}],
     "responses": [{"response": "utter_greet", "text": "您好"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"events": [], "responses": ["not an object"]},
    [],
]


def rasa_verdict(response: Any) -> Optional[str]:
    """What Rasa's own check (jsonschema.validate) says: None, or the error message."""
    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as e:
        return e.message
    return None


def test_rasa_validates_action_responses_as_the_speed_up_assumes():
    module = source(rasa.core.actions.action)
    assert callable(getattr(RemoteAction, "action_response_format_spec", None))
    assert "def _validate_action_result(self, result: Dict[Text, Any]) -> bool:" in module
    assert "validate(result, self.action_response_format_spec())" in module, (
        "Rasa's RemoteAction._validate_action_result no longer is jsonschema.validate against "
        "action_response_format_spec(): compat.install_speedups would replace it with a check "
        "that differs. Compare the two and update compat._validate_action_result.")
    assert "self._validate_action_result(response)" in source(RemoteAction.run)


def test_it_is_installed_when_the_rasa_server_imports_our_channels():
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert credentials and all(name.startswith("channels.") for name in credentials)
    assert RemoteAction._validate_action_result is compat._validate_action_result


@pytest.mark.parametrize("response", RESPONSES)
def test_responses_are_accepted_and_rejected_as_rasa_does(response: Dict[str, Any]):
    expected = rasa_verdict(response)
    action = RemoteAction("action_x", None)
    if expected is None:
        assert action._validate_action_result(response) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action._validate_action_result(response)
        assert raised.value.message.startswith(expected + ". Failed to validate Action server response")


def test_the_validator_is_built_once():
    assert compat.action_response_validator() is compat.action_response_validator()


def test_rasa_3_6_redis_lock_store_has_what_the_atomic_lock_store_builds_on():
    """rasa_adapter/lockstore.py overrides RedisLockStore's ticket methods and uses its
    ``red`` client, ``key_prefix`` and ``create_lock``, and TicketLock's methods."""
    import inspect

    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import LockStore, RedisLockStore

    init = inspect.getsource(RedisLockStore.__init__)
    assert "self.red = " in init and "self.key_prefix = " in init, (
        "Rasa's RedisLockStore no longer keeps `red` and `key_prefix`: rasa_adapter/lockstore.py must change"
    )
    for name, params in {
        "issue_ticket": ["self", "conversation_id", "lock_lifetime"],
        "update_lock": ["self", "conversation_id"],
        "finish_serving": ["self", "conversation_id", "ticket_number"],
        "cleanup": ["self", "conversation_id", "ticket_number"],
        "create_lock": ["conversation_id"],
    }.items():
        found = list(inspect.signature(getattr(LockStore, name)).parameters)
        assert found == params, f"LockStore.{name}{found}: the atomic lock store overrides {params}"
    for name in ("from_dict", "dumps", "issue_ticket", "remove_expired_tickets",
                 "remove_ticket_for", "is_someone_waiting"):
        assert callable(getattr(TicketLock, name, None)), f"TicketLock.{name} is gone"


# -- the listen backlog ------------------------------------------------------------


def test_rasa_takes_its_listen_backlog_from_sanic_backlog():
    """Our servers' environment sets SANIC_BACKLOG (devtools/stack.py server_env); Rasa 3.6
    passes it to Sanic's app.run, default 100."""
    import inspect

    import rasa.constants
    import rasa.core.run

    assert rasa.constants.ENV_SANIC_BACKLOG == "SANIC_BACKLOG"
    assert "backlog=int(os.environ.get(ENV_SANIC_BACKLOG" in inspect.getsource(rasa.core.run.serve_application)


def test_the_servers_get_a_backlog_for_a_burst(monkeypatch):
    from bot import settings
    from devtools.stack import Secrets, server_env

    monkeypatch.delenv("SANIC_BACKLOG", raising=False)
    secrets = Secrets("t", "a", "b")
    assert int(server_env(secrets)["SANIC_BACKLOG"]) == settings.LISTEN_BACKLOG >= 500
    monkeypatch.setenv("SANIC_BACKLOG", "64")
    assert server_env(secrets)["SANIC_BACKLOG"] == "64"


# -- a speed-up: one kept-alive session per endpoint -----------------------------


def test_rasa_makes_a_session_per_request_as_the_keep_alive_speed_up_assumes():
    assert "async with self.session() as session:" in source(EndpointConfig.request), (
        "Rasa's EndpointConfig.request no longer opens `async with self.session()`: "
        "compat._shared_session (one kept-alive session per endpoint) may no longer apply.")
    assert "aiohttp.ClientSession(" in source(compat._shared_session)
    for made_by_rasa in ("headers=self.headers", "auth=auth",
                         "timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT)"):
        assert made_by_rasa in source(compat._shared_session)
    assert EndpointConfig.session is compat._shared_session  # installed by importing channels


def test_rasa_sdk_keeps_connections_alive_longer_than_we_reuse_them():
    from sanic.config import DEFAULT_CONFIG

    assert DEFAULT_CONFIG["KEEP_ALIVE"] is True
    assert DEFAULT_CONFIG["KEEP_ALIVE_TIMEOUT"] > compat.KEEPALIVE_SECONDS
    assert "KEEP_ALIVE" not in source(rasa_sdk.endpoint)


async def test_calls_to_an_endpoint_share_one_connection_until_it_idles():
    from aiohttp import web

    peers = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        for _ in range(3):
            assert await endpoint.request(json={"next_action": "x"}) == {"events": [], "responses": []}
        assert len(peers) == 3 and len(set(peers)) == 1  # one connection, kept alive
        copy = EndpointConfig(f"http://127.0.0.1:{port}/webhook")  # the same endpoint, another object
        await copy.request(json={})
        assert peers[-1] == peers[0]
        await asyncio.sleep(compat.KEEPALIVE_SECONDS + 1.0)
        await endpoint.request(json={})
        assert peers[-1] != peers[0]  # an idle connection was dropped, and a new one made
    finally:
        await runner.cleanup()


async def test_the_kept_alive_sessions_are_closed_when_the_server_stops():
    from aiohttp import web
    from aiohttp.test_utils import RawTestServer

    async def webhook(request: web.Request) -> web.Response:
        return web.json_response({"events": [], "responses": []})

    async with RawTestServer(webhook, host="127.0.0.1") as server:
        url = str(server.make_url("/webhook"))
        endpoints = [EndpointConfig(url), EndpointConfig(url, headers={"X-Other": "1"})]
        for endpoint in endpoints:
            await endpoint.request(json={})
        sessions = [session for made_in, session in compat._shared_sessions.values()
                    if made_in is asyncio.get_running_loop()]
        assert len(sessions) == 2 and not any(s.closed for s in sessions)
        assert await compat.close_shared_sessions() == 2  # as Sanic calls it: (app, loop) or none
        assert all(s.closed for s in sessions)
        assert await compat.close_shared_sessions(object(), asyncio.get_running_loop()) == 0
        # a server started again in this loop makes a new session
        assert await endpoints[0].request(json={}) == {"events": [], "responses": []}
        assert await compat.close_shared_sessions() == 1


def test_the_channels_close_the_sessions_after_the_server_stops():
    from channels.rest import GuardedRestInput

    async def handler(message: Any) -> None:
        return None

    blueprint = GuardedRestInput().blueprint(handler)
    assert ("after_server_stop", compat.close_shared_sessions) in [
        (future.event, future.listener) for future in blueprint._future_listeners]
# -- a speed-up: a tracker copied instead of replayed ----------------------------


def a_tracker_in_a_form() -> Any:
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.from_dict({"slots": {"order_id": {"type": "text", "mappings": [{"type": "custom"}]}},
                               "forms": {"order_form": {"required_slots": ["order_id"]}}})
    tracker = DialogueStateTracker("c1", domain.slots)
    for event in [ActionExecuted("action_listen"), UserUttered("查订单", {"name": "inform", "confidence": 1.0}),
                  ActionExecuted("order_form"), ActiveLoop("order_form"), SlotSet("order_id", "3090001"),
                  BotUttered("请问手机尾号？"), ActionExecuted("action_listen")]:
        tracker.update(event)
    return tracker


def test_rasa_trackers_have_the_attributes_clone_tracker_copies():
    from rasa.shared.core.trackers import DialogueStateTracker

    attributes = set(vars(DialogueStateTracker("c1", [])))
    assert attributes == compat.TRACKER_ATTRIBUTES, (
        "Rasa's DialogueStateTracker now has the attributes "
        f"{sorted(attributes - compat.TRACKER_ATTRIBUTES)} and no longer "
        f"{sorted(compat.TRACKER_ATTRIBUTES - attributes)}: compat.clone_tracker (the tracker "
        "cache's copies) must learn how to copy them, or the cache hands out trackers "
        "missing part of their state.")


def test_a_clone_is_the_tracker_rasa_replays_and_changes_apart_from_it():
    from rasa.shared.core.events import ActiveLoop, SlotSet
    from rasa.shared.core.trackers import EventVerbosity

    tracker = a_tracker_in_a_form()
    clone = compat.clone_tracker(tracker)
    replayed = tracker.copy()  # Rasa's own copy: every event replayed
    for copy_ in (clone, replayed):
        assert copy_.current_state(EventVerbosity.ALL) == tracker.current_state(EventVerbosity.ALL)
        assert (copy_.active_loop, copy_.latest_action, copy_.followup_action) == (
            tracker.active_loop, tracker.latest_action, tracker.followup_action)
    clone.update(SlotSet("order_id", "1"))
    clone.update(ActiveLoop(None))
    clone.latest_action["action_name"] = "changed"
    assert tracker.get_slot("order_id") == "3090001" and tracker.active_loop_name == "order_form"
    assert tracker.latest_action == {"action_name": "action_listen"} and len(tracker.events) == 7
