"""Where the shop's database and policy are; read from the environment."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """``SHOP_DATABASE_URL``, else the embedded SQLite shop in ``var/``."""
    default = f"sqlite:///{PROJECT_ROOT / 'var' / 'shop.db'}"
    return os.environ.get("SHOP_DATABASE_URL", default)


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
