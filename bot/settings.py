"""Every setting of the project, read in one place: paths, URLs and development secrets.

Each value comes from the environment when set, else from a default for a
development checkout (files under ``var/``). Development secrets are made on
first use, owner-only (0600), and shared by every process of the checkout:
``make run``, the scaled stack, the tests' stack, the bench and the CLI all read
them through ``dev_secret``.
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

# name of a development secret → the environment variable that overrides it
SECRETS = {
    "rasa_token": "RASA_TOKEN",
    "buyer_secret": "BUYER_TOKEN_SECRET",
    "agent_token": "AGENT_TOKEN",
}


def var_dir() -> Path:
    """The checkout's runtime data (databases, secrets, logs): ``AFTERSALES_VAR`` or ``var/``."""
    return Path(os.environ.get("AFTERSALES_VAR", PROJECT_ROOT / "var"))


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
    path = var_dir() / name
    if not path.exists():
        if not create:
            return ""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))  # hex: never starts with "-", safe as a CLI argument
    return path.read_text().strip()


def rasa_token() -> str:
    return dev_secret("rasa_token")


def buyer_secret() -> str:
    return dev_secret("buyer_secret")


def agent_token() -> str:
    return dev_secret("agent_token")


def database_url() -> str:
    """``SHOP_DATABASE_URL``, else the embedded SQLite shop in ``var/``."""
    return os.environ.get("SHOP_DATABASE_URL", f"sqlite:///{var_dir() / 'shop.db'}")


def sqlite_busy_timeout() -> float:
    """How long (s) an SQLite shop waits for a lock before the query fails (``SHOP_DB_BUSY_TIMEOUT``)."""
    return float(os.environ.get("SHOP_DB_BUSY_TIMEOUT", "15"))


def policy_path() -> Path:
    return Path(os.environ.get("SHOP_POLICY", PROJECT_ROOT / "shop.yml"))


def case_notes_path() -> Path:
    return Path(os.environ.get("SHOP_CASE_NOTES", PROJECT_ROOT / "case_notes.yml"))


def utcnow() -> datetime:
    """Now as naive UTC, the way the store keeps times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
