"""devtools: the stack helper's primitives on small real processes, and the conversations loader."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from devtools import conversations
from devtools.stack import (
    Secrets,
    Stack,
    StackError,
    add_action_server,
    add_rasa,
    free_port,
    project_endpoints,
    server_env,
    write_endpoints,
)

SECRETS = Secrets(rasa_token="rt", agent_token="at", buyer_secret="bs")


def http_server(stack: Stack, name: str, port: int, tier: int = 1) -> None:
    stack.add(name, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
              ready=f"http://127.0.0.1:{port}/", tier=tier)


# -- the stack --------------------------------------------------------------------------------


def test_servers_start_when_ready_and_a_killed_one_restarts(tmp_path: Path) -> None:
    with Stack(tmp_path, SECRETS, timeout=30) as stack:
        http_server(stack, "one", free_port())
        http_server(stack, "two", free_port())
        stack.start()
        assert stack.running("one") and stack.running("two")
        first_pid = stack.procs()["one"].pid

        stack.signal("one", signal.SIGKILL)
        assert not stack.running("one")
        assert stack.dead() == []  # killed on purpose: not a server that died
        stack.start("one")
        assert stack.running("one") and stack.procs()["one"].pid != first_pid
        assert (tmp_path / "one.log").exists()
    assert stack.procs() == {}


def test_a_frozen_server_is_resumed_and_stopped(tmp_path: Path) -> None:
    stack = Stack(tmp_path, SECRETS, timeout=30)
    http_server(stack, "web", free_port())
    stack.start()
    stack.signal("web", signal.SIGSTOP)
    stack.stop()  # a frozen process ignores SIGTERM until resumed
    assert not stack.running("web")
    assert stack.servers["web"].proc is not None and stack.servers["web"].proc.returncode == -signal.SIGTERM


def test_a_server_that_exits_while_starting_fails_with_its_log(tmp_path: Path) -> None:
    stack = Stack(tmp_path, SECRETS, timeout=30)
    stack.add("broken", [sys.executable, "-c", "import sys; print('no config here'); sys.exit(3)"],
              ready=lambda: False)
    with pytest.raises(StackError, match=r"broken exited \(3\)[\s\S]*no config here"):
        stack.start()
    stack.stop()


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    stack = Stack(tmp_path, SECRETS, timeout=1)
    stack.add("silent", [sys.executable, "-c", "import time; time.sleep(60)"], ready=lambda: False)
    try:
        with pytest.raises(StackError, match="did not come up in 1 s"):
            stack.start()
    finally:
        stack.stop()
    assert not stack.running("silent")


def test_the_highest_tier_stops_first(tmp_path: Path) -> None:
    stopped = tmp_path / "stopped"
    program = textwrap.dedent(f"""
        import signal, sys, time
        def bye(*_):
            with open({str(stopped)!r}, "a") as f:
                f.write(sys.argv[1] + "\\n")
            sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        open({str(tmp_path)!r} + "/up-" + sys.argv[1], "w").close()
        while True:
            time.sleep(0.1)
    """)
    stack = Stack(tmp_path, SECRETS, timeout=30)
    for name, tier in (("database", 0), ("cache", 1), ("app", 2)):
        stack.add(name, [sys.executable, "-c", program, name], tier=tier,
                  ready=lambda name=name: (tmp_path / f"up-{name}").exists())
    stack.start()
    stack.stop()
    assert stopped.read_text().split() == ["app", "cache", "database"]


def test_the_servers_bind_the_configured_host_and_share_the_secrets(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("AFTERSALES_HOST", "127.0.0.2")
    env = server_env(SECRETS, {"EXTRA": "1"})
    assert env["AFTERSALES_HOST"] == env["SANIC_HOST"] == "127.0.0.2"
    assert (env["RASA_TOKEN"], env["AGENT_TOKEN"], env["BUYER_TOKEN_SECRET"]) == ("rt", "at", "bs")
    assert env["RASA_TELEMETRY_ENABLED"] == "false" and env["EXTRA"] == "1"

    stack = Stack(tmp_path, SECRETS)
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    rasa = add_rasa(stack, 5999, tmp_path / "endpoints.yml", model=model).command
    assert rasa[rasa.index("--interface") + 1] == "127.0.0.2"
    assert rasa[rasa.index("--auth-token") + 1] == "rt"
    actions = add_action_server(stack, 5998)
    assert actions.env["SANIC_HOST"] == "127.0.0.2"
    with pytest.raises(StackError, match="no trained model"):
        add_rasa(stack, 5997, tmp_path / "endpoints.yml", name="rasa-2", model=tmp_path / "missing.tar.gz")


def test_endpoints_point_at_the_stacks_action_server_and_private_stores(tmp_path: Path) -> None:
    endpoints = project_endpoints(tmp_path)
    assert Path(endpoints["tracker_store"]["db"]).parent == tmp_path
    written = yaml.safe_load(write_endpoints(tmp_path / "e.yml", endpoints, "http://127.0.0.1:7").read_text())
    assert written["action_endpoint"] == {**endpoints["action_endpoint"], "url": "http://127.0.0.1:7/webhook"}
    assert written["action_endpoint"]["enable_selective_domain"] is True  # the project's option kept
    assert written["tracker_store"] == endpoints["tracker_store"]


# -- the scripted conversations -------------------------------------------------------------


RESPONSES = {"utter_hi": [{"text": "您好"}, {"text": "你好，{name}！"}]}


def test_the_projects_conversations_load() -> None:
    loaded = conversations.load()
    assert loaded and all(c.turns for c in loaded)
    assert any(c.anonymous for c in loaded) and any(c.buyer for c in loaded)
    assert any(c.cases for c in loaded) and any(not c.repeatable for c in loaded)


def test_a_response_name_matches_any_of_its_texts_with_placeholders_filled() -> None:
    [conversation] = conversations.parse({"conversations": [
        {"name": "hi", "anonymous": True, "turns": [{"say": "在吗", "expect": ["utter_hi", "好"]}]}]}, RESPONSES)
    turn = conversation.turns[0]
    assert turn.missing("您好") == []
    assert turn.missing("你好，陈浩！还有什么问题？") == []
    assert turn.missing("你好，！") == ["utter_hi"]  # a placeholder stands for some text
    assert turn.missing("再见") == ["utter_hi", "好"]


@pytest.mark.parametrize("entry, error", [
    ({"name": "x", "buyer": "a", "anonymous": True, "turns": [{"say": "s"}]}, "either"),
    ({"name": "x", "turns": [{"say": "s"}]}, "either"),
    ({"name": "x", "anonymous": True, "turns": []}, "no turns"),
    ({"name": "x", "anonymous": True, "turns": [{"say": "s", "expect": ["utter_bye"]}]}, "utter_bye is not"),
    ({"name": "x", "anonymous": True, "turns": [{"say": "s", "reply": "r"}]}, "turn 1"),
    ({"name": "x", "anonymous": True, "turns": [{"say": "s"}], "cases": [["i", "o"]]}, "a case is"),
    ({"name": "x", "anonymous": True, "turns": [{"say": "s"}], "speed": 1}, "unknown keys"),
])
def test_a_malformed_conversation_is_refused_naming_it(entry: dict, error: str) -> None:
    with pytest.raises(conversations.ConversationError, match=error):
        conversations.parse({"conversations": [entry]}, RESPONSES)


def test_two_conversations_of_one_name_are_refused() -> None:
    entry = {"name": "x", "anonymous": True, "turns": [{"say": "s"}]}
    with pytest.raises(conversations.ConversationError, match="used twice"):
        conversations.parse({"conversations": [entry, entry]}, RESPONSES)
