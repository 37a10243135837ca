"""devtools/supervise.py: a Stack's servers under a real supervisord (small http.server
processes): config from the Stack, restart after SIGKILL while the other keeps serving,
a frozen one restarted by the health watch, a busy one later, a clean stop, owner-only files."""

from __future__ import annotations

import configparser
import os
import signal
import stat
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from devtools.stack import Secrets, Stack, StackError, free_port, http_ok
from devtools.supervise import Supervised, config_text

SECRETS = Secrets(rasa_token="rt", agent_token="at", buyer_secret="bs")


def http_server(stack: Stack, name: str, port: int, tier: int = 1) -> None:
    stack.add(name, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
              ready=f"http://127.0.0.1:{port}/", tier=tier, extra_env={"WHO": name})


def wait(condition, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("gave up waiting")


@pytest.fixture
def ports() -> Iterator[tuple]:
    yield free_port(), free_port()


def test_the_config_comes_from_the_stack(tmp_path: Path, ports) -> None:
    stack = Stack(tmp_path / "log", SECRETS)
    http_server(stack, "back", ports[0], tier=0)
    http_server(stack, "front", ports[1], tier=1)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(config_text(stack, tmp_path / "run"))
    back, front = parser["program:back"], parser["program:front"]
    assert back["command"].endswith(f"http.server {ports[0]} --bind 127.0.0.1")
    assert int(front["priority"]) > int(back["priority"])  # stopped first
    assert back["environment"] == 'WHO="back"'  # the rest comes from supervisord's own environment
    assert "rt" not in parser["program:back"].get("environment", "")
    assert (back["autorestart"], back["stopsignal"], back["umask"]) == ("true", "TERM", "077")
    assert back["stdout_logfile"] == str(tmp_path / "log" / "back.log")
    assert back["stdout_logfile_maxbytes"] == "10MB" and int(back["stdout_logfile_backups"]) > 0
    assert int(back["startretries"]) > 0


def test_a_killed_server_comes_back_the_other_stays_and_stop_is_clean(tmp_path: Path, ports) -> None:
    old = os.umask(0)  # what supervisord writes is owner-only all the same
    try:
        stack = Stack(tmp_path / "log", SECRETS, timeout=60)
        http_server(stack, "one", ports[0])
        http_server(stack, "two", ports[1])
        supervised = Supervised(stack, tmp_path / "run")
        try:
            supervised.start()
            assert http_ok(f"http://127.0.0.1:{ports[0]}/") and http_ok(f"http://127.0.0.1:{ports[1]}/")
            one, two = supervised.pid("one"), supervised.pid("two")
            os.kill(one, signal.SIGKILL)
            back = wait(lambda: supervised.pid("one") not in (0, one) and http_ok(f"http://127.0.0.1:{ports[0]}/"))
            assert back < 10
            assert supervised.pid("two") == two  # never touched
            assert supervised.dead() == []
            for path in (tmp_path / "run" / "supervisord.conf", tmp_path / "log" / "one.log",
                         tmp_path / "log" / "supervisord.log"):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert stat.S_IMODE((tmp_path / "run").stat().st_mode) == 0o700
        finally:
            supervised.stop()
    finally:
        os.umask(old)
    assert not http_ok(f"http://127.0.0.1:{ports[0]}/") and not http_ok(f"http://127.0.0.1:{ports[1]}/")
    assert not supervised.control.running("supervisor")
    for pid in (supervised_pid for supervised_pid in (two,)):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_frozen_server_is_restarted_by_the_health_watch(tmp_path: Path, ports) -> None:
    stack = Stack(tmp_path / "log", SECRETS, timeout=60)
    http_server(stack, "one", ports[0])
    supervised = Supervised(stack, tmp_path / "run", health_grace=2, health_interval=0.5)
    try:
        supervised.start()
        frozen = supervised.pid("one")
        os.kill(frozen, signal.SIGSTOP)
        wait(lambda: supervised.pid("one") not in (0, frozen) and http_ok(f"http://127.0.0.1:{ports[0]}/"), 30)
        assert supervised.restarted_by_health == ["one"]
    finally:
        supervised.stop()


# answers until SIGUSR1, then works without answering (as Rasa's loop full of turns)
BUSY_SERVER = """
import http.server, signal, sys

def work(*_):
    while True:
        pass

signal.signal(signal.SIGUSR1, work)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def test_a_busy_server_gets_the_longer_grace_before_a_restart(tmp_path: Path, ports) -> None:
    stack = Stack(tmp_path / "log", SECRETS, timeout=60)
    script = tmp_path / "busy_server.py"
    script.write_text(BUSY_SERVER, encoding="utf-8")
    stack.add("one", [sys.executable, str(script), str(ports[0])], ready=f"http://127.0.0.1:{ports[0]}/")
    supervised = Supervised(stack, tmp_path / "run", health_grace=2, health_interval=0.5, health_grace_busy=10)
    try:
        supervised.start()
        working = supervised.pid("one")
        os.kill(working, signal.SIGUSR1)
        started = time.monotonic()
        time.sleep(6)  # past health_grace, not past health_grace_busy
        assert supervised.pid("one") == working and supervised.restarted_by_health == []
        wait(lambda: supervised.pid("one") not in (0, working) and http_ok(f"http://127.0.0.1:{ports[0]}/"), 40)
        assert time.monotonic() - started >= 10
        assert supervised.restarted_by_health == ["one"]
    finally:
        supervised.stop()


def test_a_server_that_keeps_exiting_fails_the_start_with_its_log(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "log", SECRETS, timeout=60)
    stack.add("broken", [sys.executable, "-c", "import sys; print('no config here', flush=True); sys.exit(3)"],
              ready=lambda: False)
    supervised = Supervised(stack, tmp_path / "run", restart={"startretries": 1})
    try:
        with pytest.raises(StackError, match=r"broken keeps exiting[\s\S]*no config here"):
            supervised.start()
    finally:
        supervised.stop()
