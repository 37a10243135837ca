"""The real servers for end-to-end tests: action server, Rasa, and the web service.

Started once per test session on free ports, against a fresh sample database
and a policy whose shift lasts all day. The helpers (``make_shop``,
``rasa_servers``, ``project_endpoints``) need no pytest: `make bench`
(scripts/bench.py) starts the same servers with them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
import yaml

from bot.settings import PROJECT_ROOT

MODEL = Path(os.environ.get("AFTERSALES_MODEL", PROJECT_ROOT / "models" / "aftersales.tar.gz"))
RASA = Path(sys.executable).with_name("rasa")
START_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    """A server exited or did not come up while starting."""


def wait_until_up(url: str, procs: List[subprocess.Popen], logs: List[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs):
            if proc.poll() is not None:
                raise ServerError(f"a server exited while starting:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    raise ServerError(f"{url} did not come up in {START_TIMEOUT} s")


TOKEN = "e2e-test-token"
AGENT_TOKEN = "e2e-agent-token"
BUYER_SECRET = "e2e-buyer-secret"


def make_shop(tmp: Path) -> Dict[str, str]:
    """A shop in ``tmp``: its database URL (not yet created), and a policy whose shift lasts all day."""
    policy = yaml.safe_load((PROJECT_ROOT / "shop.yml").read_text(encoding="utf-8"))
    policy["shifts"] = [{"name": "全天班", "start": "00:00", "end": "24:00"}]
    (tmp / "shop.yml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return {"db": f"sqlite:///{tmp / 'shop.db'}", "policy": str(tmp / "shop.yml")}


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """The shop the servers use: its database, and a policy whose shift lasts all day."""
    return make_shop(tmp_path_factory.mktemp("shop"))


@dataclass
class Servers:
    """A running action server and Rasa server; ``procs`` and ``logs`` by name."""

    rasa_url: str
    action_url: str
    procs: Dict[str, subprocess.Popen]
    logs: Dict[str, Path]


def project_endpoints(tmp: Path) -> Dict[str, Any]:
    """The project's endpoints.yml (as `make run` uses it), with any SQLite
    tracker or lock store moved to a fresh file in ``tmp``."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    for key in ("tracker_store", "lock_store"):
        store = endpoints.get(key)
        if isinstance(store, dict) and str(store.get("dialect", "")).startswith("sqlite") and store.get("db"):
            store["db"] = str(tmp / Path(os.path.expandvars(str(store["db"]))).name)
    return endpoints


@contextmanager
def rasa_servers(
    tmp: Path, env: Dict[str, str], endpoints: Optional[Dict[str, Any]] = None
) -> Iterator[Servers]:
    """Start the action server and the Rasa server (REST, HTTP API with ``TOKEN``)
    on free ports, logs in ``tmp``; stop both on exit. ``endpoints``: the
    endpoints.yml mapping (its action endpoint is pointed at the action server);
    only the action endpoint when omitted."""
    if not MODEL.exists():
        raise ServerError(f"no trained model at {MODEL}: run `make train` first")
    action_port, rasa_port = free_port(), free_port()
    endpoints = {**(endpoints or {}), "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"}}
    endpoints_file = tmp / "endpoints.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
    logs = {"action server": tmp / "actions.log", "rasa": tmp / "rasa.log"}
    commands = {
        "action server": [str(RASA), "run", "actions", "--actions", "actions", "--port", str(action_port),
                          "--logging-config-file", "logging.yml"],
        "rasa": [str(RASA), "run", "--model", str(MODEL), "--port", str(rasa_port),
                 "--credentials", "credentials.yml", "--endpoints", str(endpoints_file),
                 "--enable-api", "--auth-token", TOKEN, "--cors", "*",
                 "--logging-config-file", "logging.yml"],
    }
    procs: Dict[str, subprocess.Popen] = {}
    try:
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=logs[name].open("w"),
                                           stderr=subprocess.STDOUT)
        action_url = f"http://127.0.0.1:{action_port}"
        wait_until_up(f"{action_url}/health", list(procs.values()), list(logs.values()))
        wait_until_up(f"http://127.0.0.1:{rasa_port}/", list(procs.values()), list(logs.values()))
        yield Servers(f"http://127.0.0.1:{rasa_port}", action_url, procs, logs)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's servers keep their endpoints, tracker store and logs."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def rasa_url(e2e_dir: Path, shop: Dict[str, str]) -> Iterator[str]:
    """The session's servers, configured as `make run` (its endpoints.yml, SQLite
    tracker store in ``e2e_dir``)."""
    env = server_env(shop)
    subprocess.run([sys.executable, "-m", "bot", "init-db"], env=env, check=True, cwd=PROJECT_ROOT)
    with rasa_servers(e2e_dir, env, project_endpoints(e2e_dir)) as servers:
        yield servers.rasa_url


@pytest.fixture(scope="session")
def rasa_logs(e2e_dir: Path, rasa_url: str) -> List[Path]:
    """The logs of the session's action server and Rasa server."""
    return [e2e_dir / "actions.log", e2e_dir / "rasa.log"]


def tracker_store_yaml(db: Path) -> str:
    """endpoints.yml lines for a SQLite tracker store (and pending-turn journal) in ``db``."""
    return f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{db}"\n'


def server_env(shop: Dict[str, str]) -> Dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SHOP_DATABASE_URL": shop["db"],
        "SHOP_POLICY": shop["policy"],
        "BUYER_TOKEN_SECRET": BUYER_SECRET,
    }


@pytest.fixture(scope="session")
def web_url(tmp_path_factory: pytest.TempPathFactory, shop: Dict[str, str], rasa_url: str) -> Iterator[str]:
    """`python -m web` (shop page, agent console and API) against those servers."""
    port = free_port()
    log = tmp_path_factory.mktemp("web") / "web.log"
    env = {**server_env(shop), "WEB_PORT": str(port), "WEB_HOST": "127.0.0.1", "RASA_URL": rasa_url,
           "RASA_TOKEN": TOKEN, "AGENT_TOKEN": AGENT_TOKEN, "DEMO_LOGIN": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "web"], cwd=PROJECT_ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", [proc], [log])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
