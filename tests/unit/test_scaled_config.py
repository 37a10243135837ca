"""The scaled stack's generated configuration (devtools/scaled.py from deploy/), as Rasa and
nginx read it. The running stack is tested by `make test-scale` (tests/scale/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import socketio
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.core.utils import AvailableEndpoints

from channels.socketio import GuardedSocketIOInput
from devtools.scaled import DEPLOY, Ports, ScaledStack, StackError, fill
from devtools.stack import Secrets
from rasa_adapter.lockstore import AtomicRedisLockStore


@pytest.fixture
def stack(tmp_path: Path) -> ScaledStack:
    (tmp_path / "log").mkdir()
    (tmp_path / "pg_password").write_text("pw-1234")
    return ScaledStack(
        workdir=tmp_path,
        ports=Ports(nginx=7080, rasa=(7081, 7082), actions=7085, web=7090, postgres=7433, redis=7380),
        secrets=Secrets(rasa_token="t", agent_token="a", buyer_secret="b"),
    )


def test_every_rasa_instance_gets_the_shared_tracker_store_lock_store_and_action_server(stack: ScaledStack) -> None:
    endpoints, _ = stack.write_configs()
    available = AvailableEndpoints.read_endpoints(str(endpoints))
    assert available.action.url == "http://127.0.0.1:7085/webhook"

    tracker = available.tracker_store
    assert tracker.type == "SQL"
    url = SQLTrackerStore.get_db_url(host=tracker.url, **tracker.kwargs)
    rendered = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    assert rendered == stack.tracker_database_url == "postgresql://aftersales:pw-1234@127.0.0.1:7433/rasa"

    lock_store = LockStore.create(available.lock_store)  # connects lazily
    assert isinstance(lock_store, RedisLockStore) and isinstance(lock_store, AtomicRedisLockStore)
    redis_kwargs = lock_store.red.connection_pool.connection_kwargs
    assert (redis_kwargs["host"], redis_kwargs["port"], redis_kwargs["db"]) == ("127.0.0.1", 7380, 1)


def test_nginx_balances_rest_round_robin_and_keeps_socketio_sticky(stack: ScaledStack) -> None:
    _, conf = stack.write_configs()
    text = conf.read_text()
    upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", text, flags=re.S))
    for name in ("rasa", "rasa_socketio"):
        assert re.findall(r"server (\S+);", upstreams[name]) == ["127.0.0.1:7081", "127.0.0.1:7082"]
    assert "ip_hash" not in upstreams["rasa"] and "ip_hash;" in upstreams["rasa_socketio"]
    assert re.search(r"location /socket\.io/ \{[^}]*proxy_pass http://rasa_socketio;", text)
    assert "listen 127.0.0.1:7080;" in text
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (make test-scale installs it)")
    result = subprocess.run([nginx, "-t", "-q", "-p", str(stack.workdir), "-c", str(conf),
                             "-e", str(stack.log_dir / "nginx-error.log")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_placeholder_left_unfilled_stops_the_stack(tmp_path: Path) -> None:
    template = tmp_path / "x.in"
    template.write_text("port: @PORT@\nhost: @HOST@\n")
    assert fill(template, {"PORT": "1", "HOST": "h"}) == "port: 1\nhost: h\n"
    with pytest.raises(StackError, match="@HOST@"):
        fill(template, {"PORT": "1"})
    assert {p.name for p in DEPLOY.glob("*.in")} == {"endpoints.yml.in", "nginx.conf.in"}


def test_both_rasa_instances_share_their_socketio_rooms_through_the_stacks_redis(
        stack: ScaledStack, monkeypatch: pytest.MonkeyPatch) -> None:
    env = stack.rasa_env()
    assert env == {"SOCKETIO_MESSAGE_QUEUE": "redis://127.0.0.1:7380/0"}
    for name, value in env.items():  # as an instance started with it builds its channel
        monkeypatch.setenv(name, value)
    channel = GuardedSocketIOInput()
    channel.blueprint(no_turn)
    manager = channel.sio.manager
    assert isinstance(manager, socketio.AsyncRedisManager)
    kwargs = manager.redis.connection_pool.connection_kwargs  # connects lazily
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 7380)


def test_without_the_queue_the_instances_get_an_empty_setting(tmp_path: Path) -> None:
    stack = ScaledStack(workdir=tmp_path, ports=Ports(nginx=7080, rasa=(7081, 7082), actions=7085, web=7090,
                                                      postgres=7433, redis=7380),
                        secrets=Secrets(rasa_token="t", agent_token="a", buyer_secret="b"), socketio_queue=False)
    assert stack.rasa_env() == {"SOCKETIO_MESSAGE_QUEUE": ""}


async def no_turn(_message: Any) -> None:
    return None
