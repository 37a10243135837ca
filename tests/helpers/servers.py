"""The session's real servers for the end-to-end tests: pytest fixtures over devtools/stack.py.

One ``Assistant`` for the session, on free ports, configured as `make run` (the
project's endpoints.yml, its SQLite tracker store in the session's directory)
against a fresh sample shop whose shift lasts all day. The action server and Rasa
start with the first test that needs ``rasa_url``, the web service with the first
that needs ``web_url``; all stop at the end of the session.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bot.settings import PROJECT_ROOT, utcnow
from bot.shop.sample_data import copy_names, seed_copies
from bot.shop.store import OrderStore
from devtools.stack import Assistant, Ports, Secrets, Shop, make_shop, project_endpoints

# the secrets the test servers are started with, for the tests to sign and authenticate with
TOKEN = "e2e-test-token"
AGENT_TOKEN = "e2e-agent-token"
BUYER_SECRET = "e2e-buyer-secret"
SECRETS = Secrets(rasa_token=TOKEN, agent_token=AGENT_TOKEN, buyer_secret=BUYER_SECRET)
# every server of the session records any attempt to reach a host that is not this
# machine here (tests/helpers/netaudit; checked by tests/e2e/test_rasa_commands.py)
NETAUDIT = PROJECT_ROOT / "tests" / "helpers" / "netaudit"


def own_copy(shop: Shop, k: int, account: str) -> Dict[str, str]:
    """A copy of a sample buyer and their orders in the session's shop (other account,
    order and tracking numbers: ``copy_names(k)``), so the cases a test makes change nothing
    the session's other tests expect of the sample orders, whichever runs first. ``k``:
    one per test."""
    store = OrderStore.from_url(shop.db)
    try:
        seed_copies(store, utcnow(), [(k, account)])
    finally:
        store.engine.dispose()
    return copy_names(k)


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """The shop the servers use: its database, and a policy whose shift lasts all day."""
    return make_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="session")
def training_nlu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of data/nlu.yml: what the web service's review page writes into."""
    path = tmp_path_factory.mktemp("training") / "nlu.yml"
    shutil.copy(PROJECT_ROOT / "data" / "nlu.yml", path)
    return path


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, shop: Shop, training_nlu: Path) -> Iterator[Assistant]:
    """The session's servers (not started yet); logs and tracker store in their directory."""
    workdir = tmp_path_factory.mktemp("e2e")
    audit = {"PYTHONPATH": f"{PROJECT_ROOT}:{NETAUDIT}", "NETAUDIT_LOG": str(workdir / "netaudit.log")}
    stack = Assistant(workdir, Ports.free(), SECRETS, endpoints=project_endpoints(workdir),
                      env={**shop.env(), **audit, "AFTERSALES_NLU": str(training_nlu)})
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def rasa_url(servers: Assistant) -> str:
    """The action server and Rasa, running on a freshly seeded shop."""
    servers.init_db()
    servers.start("actions", "rasa")
    return servers.rasa_url


@pytest.fixture(scope="session")
def rasa_logs(servers: Assistant, rasa_url: str) -> List[Path]:
    """The logs of the session's action server and Rasa server."""
    return [servers.servers["actions"].log, servers.servers["rasa"].log]


@pytest.fixture(scope="session")
def web_url(servers: Assistant, rasa_url: str) -> str:
    """`python -m web` (shop page, agent console and API, demo login on) against those servers."""
    servers.start("web")
    return servers.web_url
