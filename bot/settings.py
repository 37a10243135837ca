"""Every setting of the project, read in one place: paths, URLs and development secrets.

Each value comes from the environment when set, else from a default for a
development checkout (files under ``var/``). Development secrets are made on
first use, owner-only (0600), and shared by every process of the checkout:
``make run``, the scaled stack, the tests' stack, the bench and the CLI all read
them through ``dev_secret``.

Everything the project writes at run time is owner-only whatever the umask:
folders 0700 (``private_dir``: ``var_dir()`` itself, the logs), files 0600
(``private_file``: secrets, logs, generated configs; ``private_sqlite``: an SQLite
database, whose -wal and -shm files SQLite gives the same mode). The servers the
project starts run with ``UMASK`` as well.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Where the servers listen. Loopback unless AFTERSALES_HOST says otherwise
# (0.0.0.0 to expose them; in production put nginx in front: docs/scaling.md).
DEFAULT_HOST = "127.0.0.1"
RASA_PORT = 5005
ACTION_PORT = 5055
WEB_PORT = 8080
# The Rasa server's listen backlog (Rasa reads SANIC_BACKLOG; its default, 100, makes the
# kernel drop or cookie-answer connections when hundreds of customers arrive at once).
LISTEN_BACKLOG = 1024
# How long the action server keeps a silent connection open (rasa_sdk's Sanic reads
# SANIC_KEEP_ALIVE_TIMEOUT; its default, 5 s, also closes a *fresh* connection on which no
# request has arrived yet). Under a burst the Rasa server's event loop can stall for
# seconds between connecting to the action server and writing its request; Sanic then
# closed the connection and Rasa's call failed ("Cannot write to closing transport"): a
# fallback for a turn of a server that was up. Longer than the REST deadline (25 s) and
# than aiohttp's client keep-alive (15 s), should Rasa keep its connections.
ACTION_SERVER_KEEP_ALIVE = 75

# name of a development secret → the environment variable that overrides it
SECRETS = {
    "rasa_token": "RASA_TOKEN",
    "buyer_secret": "BUYER_TOKEN_SECRET",
    "agent_token": "AGENT_TOKEN",
}


# owner-only: what the project writes at run time (the servers it starts get UMASK too)
UMASK = 0o077
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may list or write: made 0700 (with its parents)
    if missing, an existing one that others may read or write made 0700. One that others
    may only pass through (0711: the scaled stack's PostgreSQL user reaches its data
    under var/ so) is left as it is."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o066:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner may read or write (0600), made empty if missing."""
    path = Path(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE))
    if (path.stat().st_mode & 0o777) != PRIVATE_FILE:
        path.chmod(PRIVATE_FILE)
    return path


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (``sqlite:///var/shop.db``), or ``None`` (in memory, or not SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def private_sqlite(url: str) -> None:
    """Make an SQLite database owner-only before anything opens it: the file is created
    0600 (or made so) and so are its -wal and -shm files if present; its folder is
    created 0700 if missing (an existing one is left as it is)."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        private_dir(path.parent)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name == path or name.exists():
            private_file(name)


def var_dir() -> Path:
    """The checkout's runtime data (databases, secrets, logs): ``AFTERSALES_VAR`` or ``var/``,
    an owner-only folder (0700, made if missing)."""
    return private_dir(Path(os.environ.get("AFTERSALES_VAR", PROJECT_ROOT / "var")))


def uploads_dir() -> Path:
    """The customers' photos (``AFTERSALES_UPLOADS``, else ``uploads/`` in ``var_dir()``), 0700.

    On the scaled stack every web instance must see the same folder (a shared volume):
    the database row says a file exists, the folder holds it (docs/scaling.md)."""
    if os.environ.get("AFTERSALES_UPLOADS"):
        return private_dir(Path(os.environ["AFTERSALES_UPLOADS"]))
    return private_dir(var_dir() / "uploads")


def host() -> str:
    """The interface every server binds to (``AFTERSALES_HOST``, default loopback)."""
    return os.environ.get("AFTERSALES_HOST", DEFAULT_HOST)


def _url(env: str, port: int) -> str:
    return os.environ.get(env, f"http://127.0.0.1:{port}").rstrip("/")


def rasa_url() -> str:
    """The Rasa server (``RASA_URL``)."""
    return _url("RASA_URL", int(os.environ.get("RASA_PORT", RASA_PORT)))


def web_url() -> str:
    """The web service: shop page and agent console (``WEB_URL``)."""
    return _url("WEB_URL", int(os.environ.get("WEB_PORT", WEB_PORT)))


def web_port() -> int:
    return int(os.environ.get("WEB_PORT", WEB_PORT))


def dev_secret(name: str, create: bool = True) -> str:
    """A secret: its environment variable (``SECRETS``), else ``var/<name>``.

    The file is made on first use (``create``) with ``secrets.token_hex(32)``,
    readable by its owner only; without ``create`` a missing file gives "".
    """
    env = SECRETS[name]
    if os.environ.get(env):
        return os.environ[env]
    path = Path(os.environ.get("AFTERSALES_VAR", PROJECT_ROOT / "var")) / name
    if not path.exists():
        if not create:
            return ""
        var_dir()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))  # hex: never starts with "-", safe as a CLI argument
    elif path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_FILE)  # made by an older checkout, or copied in
    return path.read_text().strip()


def socketio_message_queue() -> str:
    """The socket.io message queue shared by several Rasa instances (``SOCKETIO_MESSAGE_QUEUE``,
    a Redis URL such as ``redis://127.0.0.1:6380/0``), or "" for none: one instance, whose
    socket.io server reaches only the sockets connected to it (docs/scaling.md)."""
    return os.environ.get("SOCKETIO_MESSAGE_QUEUE", "").strip()


def speedups() -> bool:
    """Whether the Rasa server installs the speed-ups (``rasa_adapter.compat.install_speedups``,
    the tracker cache): ``AFTERSALES_SPEEDUPS=0`` leaves Rasa as it is, to compare."""
    return os.environ.get("AFTERSALES_SPEEDUPS", "1") != "0"


# The in-process tracker cache (rasa_adapter/tracker_cache.py): how many conversations it
# keeps, and how long one unused stays (a conversation session lasts 60 minutes: domain.yml).
TRACKER_CACHE_SIZE = 1000
TRACKER_CACHE_IDLE_SECONDS = 3600.0


def tracker_cache_size() -> int:
    """Conversations the Rasa server keeps in memory between turns (``TRACKER_CACHE_SIZE``;
    0 turns the cache off, as ``AFTERSALES_SPEEDUPS=0`` does)."""
    return int(os.environ.get("TRACKER_CACHE_SIZE", TRACKER_CACHE_SIZE)) if speedups() else 0


def tracker_cache_idle_seconds() -> float:
    """How long a cached conversation unused stays in memory (``TRACKER_CACHE_IDLE_SECONDS``)."""
    return float(os.environ.get("TRACKER_CACHE_IDLE_SECONDS", TRACKER_CACHE_IDLE_SECONDS))


def rasa_token() -> str:
    return dev_secret("rasa_token")


def buyer_secret() -> str:
    return dev_secret("buyer_secret")


def agent_token() -> str:
    return dev_secret("agent_token")


def database_url() -> str:
    """``SHOP_DATABASE_URL``, else the embedded SQLite shop in ``var/``."""
    if os.environ.get("SHOP_DATABASE_URL"):
        return os.environ["SHOP_DATABASE_URL"]
    return f"sqlite:///{var_dir() / 'shop.db'}"


def notice_retry_seconds() -> float:
    """How often (s) the web service retries the case notices still pending
    (``NOTICE_RETRY_SECONDS``; 0: never)."""
    return float(os.environ.get("NOTICE_RETRY_SECONDS", "60"))


def sqlite_busy_timeout() -> float:
    """How long (s) an SQLite shop waits for a lock before the query fails (``SHOP_DB_BUSY_TIMEOUT``)."""
    return float(os.environ.get("SHOP_DB_BUSY_TIMEOUT", "15"))


def policy_path() -> Path:
    return Path(os.environ.get("SHOP_POLICY", PROJECT_ROOT / "shop.yml"))


def case_notes_path() -> Path:
    return Path(os.environ.get("SHOP_CASE_NOTES", PROJECT_ROOT / "case_notes.yml"))


def playbook_path() -> Path:
    """The playbook table (``SHOP_PLAYBOOK``, else the project's ``playbook.yml``)."""
    return Path(os.environ.get("SHOP_PLAYBOOK", PROJECT_ROOT / "playbook.yml"))


def triage_path() -> Path:
    """The quality triage's words (``SHOP_TRIAGE``, else the project's ``quality_triage.yml``)."""
    return Path(os.environ.get("SHOP_TRIAGE", PROJECT_ROOT / "quality_triage.yml"))


def complaint_signs_path() -> Path:
    return Path(os.environ.get("SHOP_COMPLAINT_SIGNS", PROJECT_ROOT / "complaint_signs.yml"))


def rasa_endpoints_path() -> Path:
    """The endpoints.yml the Rasa server runs with (``RASA_ENDPOINTS``): the agents'
    workbench reads the conversations' list from its tracker store."""
    return Path(os.environ.get("RASA_ENDPOINTS", PROJECT_ROOT / "endpoints.yml"))


def training_nlu_path() -> Path:
    """The training examples the trainers' review page writes into (``AFTERSALES_NLU``,
    else the project's ``data/nlu.yml``; the tests' servers get a copy)."""
    return Path(os.environ.get("AFTERSALES_NLU", PROJECT_ROOT / "data" / "nlu.yml"))


def utcnow() -> datetime:
    """Now as naive UTC, the way the store keeps times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
