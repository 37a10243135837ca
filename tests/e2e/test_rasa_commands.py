"""Rasa's own commands in the project root, with no flags, and nothing of ours reaching outside.

Every subprocess here runs with tests/helpers/netaudit on its PYTHONPATH, whose
sitecustomize records each name lookup or connection to a host that is not this
machine. A control run with telemetry switched on proves the recorder sees
Rasa's crash reports, so the other runs' empty records mean something.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from bot.settings import PROJECT_ROOT
from devtools.stack import MODEL, Assistant, free_port
from tests.helpers.servers import NETAUDIT

pytestmark = pytest.mark.e2e

RASA = str(PROJECT_ROOT / ".venv" / "bin" / "rasa")


def run(args: List[str], tmp_path: Path, telemetry: str = "false", timeout: float = 300) -> Tuple[int, str, List[str]]:
    """Run a command as the project does (telemetry off unless told), in the root."""
    log = tmp_path / f"netaudit-{len(list(tmp_path.iterdir()))}.log"
    env: Dict[str, str] = {
        **os.environ,
        "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{NETAUDIT}",
        "NETAUDIT_LOG": str(log),
        "RASA_TELEMETRY_ENABLED": telemetry,
    }
    done = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    attempts = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return done.returncode, done.stdout + done.stderr, attempts


def broken_endpoints(tmp_path: Path) -> Path:
    """A tracker store nobody listens at: `rasa run` fails while starting."""
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n"
        f"  port: {free_port()}\n  db: nowhere\n  username: nobody\n  password: nothing\n",
        encoding="utf-8",
    )
    return path


def test_rasa_data_validate_works_in_the_root_with_no_flags(tmp_path):
    status, output, attempts = run([RASA, "data", "validate"], tmp_path)
    assert status == 0, output[-3000:]
    assert "Encountered empty domain" not in output
    assert attempts == []


def test_a_failing_rasa_server_sends_no_crash_report(tmp_path):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    status, output, attempts = run(
        [RASA, "run", "--model", str(MODEL), "--endpoints", str(broken_endpoints(tmp_path)),
         "--port", str(free_port()), "--interface", "127.0.0.1"], tmp_path)
    assert status != 0, "the server should have failed to start"
    assert attempts == []
    assert "sentry" not in output.lower()


def test_the_recorder_sees_a_crash_report_when_telemetry_is_on(tmp_path):
    """The control: Rasa's own default (telemetry on) does try to reach Sentry."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    _, _, attempts = run(
        [RASA, "run", "--model", str(MODEL), "--endpoints", str(broken_endpoints(tmp_path)),
         "--port", str(free_port()), "--interface", "127.0.0.1"], tmp_path, telemetry="true")
    assert any("sentry.io" in line for line in attempts), attempts


def test_the_sessions_servers_reached_no_outside_host(servers: Assistant, rasa_url, web_url):
    """Every server the e2e session started (and every test before this one) ran
    with the recorder: a turn and the pages, and nothing left the machine."""
    import requests

    reply = requests.post(f"{rasa_url}/webhooks/rest/webhook",
                          json={"sender": "netaudit", "message": "我的快递到哪了"}, timeout=30)
    assert reply.status_code == 200 and reply.json()
    assert requests.get(f"{web_url}/", timeout=10).status_code == 200
    log = servers.log_dir / "netaudit.log"
    assert not log.exists() or log.read_text(encoding="utf-8") == ""
