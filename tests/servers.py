"""The real servers for end-to-end tests: action server, Rasa, and the web service.

Started once per test session on free ports, against a fresh sample database
and a policy whose shift lasts all day.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

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


def wait_until_up(url: str, procs: List[subprocess.Popen], logs: List[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=False):
            if proc.poll() is not None:
                pytest.fail(f"a server exited while starting:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not come up in {START_TIMEOUT} s")


TOKEN = "e2e-test-token"
AGENT_TOKEN = "e2e-agent-token"
BUYER_SECRET = "e2e-buyer-secret"


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """The shop the servers use: its database, and a policy whose shift lasts all day."""
    return make_shop(tmp_path_factory.mktemp("shop"))


def make_shop(tmp: Path) -> Dict[str, str]:
    """A shop database URL and an all-day-shift policy in ``tmp`` (the database is not created)."""
    policy = yaml.safe_load((PROJECT_ROOT / "shop.yml").read_text(encoding="utf-8"))
    policy["shifts"] = [{"name": "全天班", "start": "00:00", "end": "24:00"}]
    (tmp / "shop.yml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return {"db": f"sqlite:///{tmp / 'shop.db'}", "policy": str(tmp / "shop.yml")}


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's servers keep their endpoints and logs."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def rasa_logs(e2e_dir: Path, rasa_url: str) -> List[Path]:
    """The logs of the session's action server and Rasa server."""
    return [e2e_dir / "actions.log", e2e_dir / "rasa.log"]


@pytest.fixture(scope="session")
def rasa_url(e2e_dir: Path, shop: Dict[str, str]) -> Iterator[str]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    tmp = e2e_dir
    env = server_env(shop)
    subprocess.run([sys.executable, "-m", "bot", "init-db"], env=env, check=True, cwd=PROJECT_ROOT)
    action_port, rasa_port = free_port(), free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
                         + tracker_store_yaml(tmp / "tracker.db"))
    logs = [tmp / "actions.log", tmp / "rasa.log"]
    commands = [
        [str(RASA), "run", "actions", "--actions", "actions", "--port", str(action_port),
         "--logging-config-file", "logging.yml"],
        [str(RASA), "run", "--model", str(MODEL), "--port", str(rasa_port),
         "--credentials", "credentials.yml", "--endpoints", str(endpoints),
         "--enable-api", "--auth-token", TOKEN, "--cors", "*",
         "--logging-config-file", "logging.yml"],
    ]
    procs = [
        subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        for cmd, log in zip(commands, logs, strict=False)
    ]
    try:
        wait_until_up(f"http://127.0.0.1:{action_port}/health", procs, logs)
        wait_until_up(f"http://127.0.0.1:{rasa_port}/", procs, logs)
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()




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
