"""The action server's keep-alive (a compat test of rasa_sdk 3.6 and its Sanic 21.12).

Sanic closes a connection that stays silent longer than KEEP_ALIVE_TIMEOUT (default 5 s),
also a fresh one on which no request has arrived yet. Under a burst the Rasa server's
event loop can stall for longer than that between connecting to the action server and
writing its request, and the call failed ("Cannot write to closing transport"): the
customer got the fallback from a server that was up. Our stacks give the action server
SANIC_KEEP_ALIVE_TIMEOUT (``bot.settings.ACTION_SERVER_KEEP_ALIVE``); these tests check
that rasa_sdk's app takes it and that it decides when Sanic closes a silent connection.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest

from bot import settings
from bot.settings import PROJECT_ROOT
from devtools.stack import Secrets, Stack, add_action_server, free_ports
from tests.helpers.fault_stack import wait_for

SERVE = """
import sys
from rasa_sdk.endpoint import create_app

app = create_app("actions")
print("KEEP_ALIVE_TIMEOUT", app.config.KEEP_ALIVE_TIMEOUT, flush=True)
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""


def serve(keep_alive: str) -> Iterator[int]:
    port = free_ports(1)[0]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SANIC_KEEP_ALIVE_TIMEOUT": keep_alive}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")  # library warnings first
        said = next((line.split() for line in lines if line.startswith("KEEP_ALIVE_TIMEOUT")), None)
        assert said == ["KEEP_ALIVE_TIMEOUT", keep_alive]  # rasa_sdk's app took it
        wait_for(lambda: proc.poll() is not None or listening(port), "the action server", 120)
        assert proc.poll() is None
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def silent_then_ask(port: int, silent: float) -> bytes:
    """Connect, say nothing for ``silent`` seconds, then ask for /health: what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        time.sleep(silent)
        try:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return conn.recv(4096)
        except (ConnectionResetError, BrokenPipeError):
            return b""


@pytest.fixture(params=["1", "30"])
def action_server(request: pytest.FixtureRequest) -> Iterator[tuple]:
    for port in serve(request.param):
        yield float(request.param), port


def test_the_keep_alive_decides_when_a_fresh_silent_connection_is_closed(action_server):
    keep_alive, port = action_server
    if keep_alive < 5:  # Sanic's default: the silence that closed Rasa's connections
        assert silent_then_ask(port, 2.5) == b"", "Sanic no longer closes a silent connection after KEEP_ALIVE_TIMEOUT"
    else:  # a stalled client, silent longer than the default 5 s: still answered
        reply = silent_then_ask(port, 7.0)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]


def test_the_stacks_give_the_action_server_a_keep_alive_longer_than_a_stalled_turn(tmp_path, monkeypatch):
    monkeypatch.delenv("SANIC_KEEP_ALIVE_TIMEOUT", raising=False)
    stack = Stack(tmp_path, Secrets("t", "a", "b"))
    env = add_action_server(stack, 5998).env
    assert int(env["SANIC_KEEP_ALIVE_TIMEOUT"]) == settings.ACTION_SERVER_KEEP_ALIVE
    from channels.runtime import FaultSettings
    assert settings.ACTION_SERVER_KEEP_ALIVE > FaultSettings.rest_deadline  # the longest a turn waits
    monkeypatch.setenv("SANIC_KEEP_ALIVE_TIMEOUT", "9")
    assert add_action_server(Stack(tmp_path / "2", Secrets("t", "a", "b")), 5998).env["SANIC_KEEP_ALIVE_TIMEOUT"] == "9"
