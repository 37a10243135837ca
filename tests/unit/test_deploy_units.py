"""deploy/systemd: the units of the three servers parse (``systemd-analyze verify``
where it is installed, with the install path pointed at this checkout) and carry the
restart policy, the dedicated user and the hardening; each names its health check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from bot import settings
from bot.settings import PROJECT_ROOT

UNITS = PROJECT_ROOT / "deploy" / "systemd"
NAMES = ("aftersales-actions.service", "aftersales-rasa.service", "aftersales-web.service")
INSTALLED_AT = "/opt/aftersales"


def parse(path: Path) -> Dict[str, Dict[str, List[str]]]:
    """A unit file's sections, each key with all its values (systemd allows repeats)."""
    sections: Dict[str, Dict[str, List[str]]] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}: {raw!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.mark.parametrize("name", NAMES)
def test_a_unit_restarts_on_failure_as_its_own_user_hardened(name: str) -> None:
    unit = parse(UNITS / name)
    service = {key: values[-1] for key, values in unit["Service"].items()}
    assert service["Restart"] in ("on-failure", "always")
    assert float(service["RestartSec"]) > 0
    assert service["User"] == "aftersales" and service["Group"] == "aftersales"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["UMask"] == "0077"
    assert "/var/lib/aftersales" in service["ReadWritePaths"].split()
    assert service["ExecStart"].startswith(f"{INSTALLED_AT}/.venv/bin/")
    env = " ".join(unit["Service"]["Environment"])
    assert "RASA_TELEMETRY_ENABLED=false" in env and "AFTERSALES_HOST=127.0.0.1" in env
    assert "AFTERSALES_VAR=/var/lib/aftersales" in env
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_each_server_of_make_run_has_a_unit_with_its_port() -> None:
    execs = {name: parse(UNITS / name)["Service"]["ExecStart"][-1] for name in NAMES}
    assert "run actions" in execs["aftersales-actions.service"] and "--port 5055" in execs["aftersales-actions.service"]
    rasa = execs["aftersales-rasa.service"]
    assert "--port 5005" in rasa and "--auth-token ${RASA_TOKEN}" in rasa and "--interface 127.0.0.1" in rasa
    assert (PROJECT_ROOT / rasa.split("--endpoints ")[1].split()[0]).exists()
    assert "-m web" in execs["aftersales-web.service"]


def environment(name: str) -> Dict[str, str]:
    pairs = " ".join(parse(UNITS / name)["Service"]["Environment"]).split()
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_units_have_the_settings_their_servers_need() -> None:
    """The web service reads the tracker store of the Rasa unit's endpoints (the
    workbench's conversations); the action server keeps Rasa's connections open
    through a stall; several Rasa instances get their shared socket.io queue from the
    environment file."""
    rasa = parse(UNITS / "aftersales-rasa.service")["Service"]["ExecStart"][-1]
    endpoints = rasa.split("--endpoints ")[1].split()[0]
    assert environment("aftersales-web.service")["RASA_ENDPOINTS"] == f"{INSTALLED_AT}/{endpoints}"
    assert int(environment("aftersales-actions.service")["SANIC_KEEP_ALIVE_TIMEOUT"]) == settings.ACTION_SERVER_KEEP_ALIVE
    assert int(environment("aftersales-rasa.service")["SANIC_BACKLOG"]) == settings.LISTEN_BACKLOG
    example = (UNITS / "aftersales.env.example").read_text(encoding="utf-8")
    assert "SOCKETIO_MESSAGE_QUEUE=redis://" in example


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    for name in NAMES:  # pointed at this checkout, so the commands exist
        text = (UNITS / name).read_text(encoding="utf-8").replace(INSTALLED_AT, str(PROJECT_ROOT))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(tmp_path / n) for n in NAMES]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr
