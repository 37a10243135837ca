"""Named agents (tokens stored as SHA-256), the development agent, and the log of their actions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.shop.schema import Agent, AgentAction
from bot.shop.store import OrderStore

# The name the development token (AGENT_TOKEN) acts under, for scripts.
DEV_AGENT = "dev"
# letters (any script), digits, _ . -: a name shows in pages and logs as it is
NAME = re.compile(r"^[\w.\-]{1,32}$")


@dataclass(frozen=True)
class AgentIdentity:
    name: str
    supervisor: bool


class AgentExists(ValueError):
    """An agent of that name exists already."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AgentDirectory:
    """The agents: add one (a fresh token, printed once), find one by token."""

    def __init__(self, store: OrderStore, dev_token: str = "") -> None:
        self.store = store
        self.dev_token = dev_token

    def add(self, name: str, now: datetime, supervisor: bool = False) -> str:
        """A new agent; the token is returned once and stored only hashed."""
        if not NAME.match(name) or name == DEV_AGENT:
            raise ValueError(f"an agent's name is 1-32 letters, digits, _ . - (not {DEV_AGENT!r})")
        token = secrets.token_hex(24)
        try:
            with self.store.transaction() as s:
                s.add(Agent(name=name, token_hash=token_hash(token), supervisor=supervisor, created_at=now))
        except IntegrityError as exc:
            raise AgentExists(f"an agent named {name} exists") from exc
        return token

    def authenticate(self, token: str) -> Optional[AgentIdentity]:
        """The agent this bearer token belongs to; the development token is ``dev``."""
        if not token:
            return None
        if self.dev_token and hmac.compare_digest(token, self.dev_token):
            return AgentIdentity(DEV_AGENT, supervisor=True)
        with self.store.session() as s:
            agent = s.execute(select(Agent).where(Agent.token_hash == token_hash(token))).scalar()
            return AgentIdentity(agent.name, bool(agent.supervisor)) if agent else None

    def all(self) -> List[AgentIdentity]:
        with self.store.session() as s:
            return [AgentIdentity(a.name, bool(a.supervisor))
                    for a in s.execute(select(Agent).order_by(Agent.name)).scalars()]


@dataclass(frozen=True)
class ActionRecord:
    at: datetime
    agent: str
    action: str
    conversation_id: Optional[str]
    detail: str


class AgentLog:
    """Every agent action, with the agent's name (who took over, sent, released what)."""

    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def record(self, agent: str, action: str, now: datetime, conversation_id: Optional[str] = None,
               detail: str = "") -> None:
        with self.store.transaction() as s:
            s.add(AgentAction(at=now, agent=agent, action=action, conversation_id=conversation_id,
                              detail=detail))

    def recent(self, limit: int = 100) -> List[ActionRecord]:
        with self.store.session() as s:
            rows = s.execute(select(AgentAction).order_by(AgentAction.id.desc()).limit(limit)).scalars()
            return [ActionRecord(r.at, r.agent, r.action, r.conversation_id, r.detail) for r in rows]
