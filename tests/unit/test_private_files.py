"""Owner-only files whatever the umask: var/, secrets, SQLite databases (shop, tracker
store, journal), logs and generated configs: folders 0700, files 0600 (issue 16)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from bot import settings
from bot.shop.sample_data import seed
from bot.shop.store import OrderStore
from channels.runtime import FaultSettings, journal_engine
from devtools.stack import Secrets, Stack, write_endpoints
from tests.helpers import shop


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """Every test here runs with a umask that lets anyone read and write."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "var"
    monkeypatch.setenv("AFTERSALES_VAR", str(path))
    for env in (*settings.SECRETS.values(), "SHOP_DATABASE_URL"):
        monkeypatch.delenv(env, raising=False)
    return path


def test_var_is_made_owner_only_and_an_open_one_is_closed(var: Path) -> None:
    assert settings.var_dir() == var and mode(var) == 0o700
    var.chmod(0o777)
    settings.var_dir()
    assert mode(var) == 0o700
    var.chmod(0o711)  # pass-through only (the scaled stack's PostgreSQL user): left so
    settings.var_dir()
    assert mode(var) == 0o711


def test_secrets_are_0600_and_an_old_readable_one_is_tightened(var: Path) -> None:
    settings.rasa_token()
    assert mode(var / "rasa_token") == 0o600
    (var / "agent_token").write_text("old-token")
    (var / "agent_token").chmod(0o644)
    assert settings.agent_token() == "old-token"
    assert mode(var / "agent_token") == 0o600


def test_the_shop_database_and_its_wal_files_are_0600(var: Path) -> None:
    url = settings.database_url()
    store = OrderStore.from_url(url)
    try:
        seed(store, shop.NOW)  # writes: the -wal and -shm files exist while it is open
        files = [var / "shop.db", var / "shop.db-wal", var / "shop.db-shm"]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        store.engine.dispose()
    assert mode(var) == 0o700


def test_a_tracker_store_rasa_made_readable_is_made_0600_with_the_journal(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    engine = create_engine(f"sqlite:///{db}", future=True)
    with engine.begin() as conn:  # Rasa creates it with the process's umask
        conn.execute(text("CREATE TABLE events (id INTEGER)"))
    db.chmod(0o644)
    agent = SimpleNamespace(tracker_store=SimpleNamespace(engine=engine))
    assert journal_engine(agent, FaultSettings()) is engine
    assert mode(db) == 0o600


def test_the_journal_fallback_and_a_configured_journal_are_0600(var: Path, tmp_path: Path) -> None:
    journal_engine(SimpleNamespace(tracker_store=None), FaultSettings()).dispose()
    assert mode(var / "pending_turns.db") == 0o600
    journal_engine(None, FaultSettings(journal_url=f"sqlite:///{tmp_path / 'j' / 'journal.db'}")).dispose()
    assert mode(tmp_path / "j" / "journal.db") == 0o600 and mode(tmp_path / "j") == 0o700


def test_server_logs_and_what_a_server_writes_are_owner_only(tmp_path: Path) -> None:
    logs = tmp_path / "log"
    written = tmp_path / "made-by-the-server"
    stack = Stack(logs, Secrets("rt", "at", "bs"), timeout=30)
    stack.add("writer", [sys.executable, "-c",
                         f"open({str(written)!r}, 'w').write('x'); print('hello', flush=True); "
                         "import time; time.sleep(60)"],
              ready=lambda: written.exists())
    try:
        stack.start()
    finally:
        stack.stop()
    assert mode(logs) == 0o700
    assert mode(logs / "writer.log") == 0o600
    assert mode(written) == 0o600  # the server runs with umask 077


def test_a_generated_endpoints_file_is_0600(tmp_path: Path) -> None:
    path = write_endpoints(tmp_path / "run" / "endpoints.yml", {}, "http://127.0.0.1:5055")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
