"""Who holds a conversation: one agent at a time; the bot stays paused while one does."""

from __future__ import annotations

from datetime import datetime
from typing import Dict, Optional

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.shop.schema import ConversationHold
from bot.shop.store import OrderStore


class HeldByOther(RuntimeError):
    """Another agent holds the conversation."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"held by {holder}")
        self.holder = holder


class Holds:
    def __init__(self, store: OrderStore) -> None:
        self.store = store

    def holder(self, conversation_id: str) -> Optional[str]:
        with self.store.session() as s:
            hold = s.get(ConversationHold, conversation_id)
            return hold.agent if hold else None

    def all(self) -> Dict[str, str]:
        """conversation id → the agent holding it."""
        with self.store.session() as s:
            return {h.conversation_id: h.agent for h in s.execute(select(ConversationHold)).scalars()}

    def take(self, conversation_id: str, agent: str, now: datetime) -> bool:
        """Hold it for ``agent``: True if newly taken, False if ``agent`` held it already;
        ``HeldByOther`` if someone else does (the primary key makes two takers one)."""
        current = self.holder(conversation_id)
        if current == agent:
            return False
        if current is not None:
            raise HeldByOther(current)
        try:
            with self.store.transaction() as s:
                s.add(ConversationHold(conversation_id=conversation_id, agent=agent, since=now))
        except IntegrityError as exc:
            raise HeldByOther(self.holder(conversation_id) or "?") from exc
        return True

    def drop(self, conversation_id: str, agent: Optional[str] = None) -> bool:
        """Let go of it (only ``agent``'s hold, when given); whether a hold was removed."""
        with self.store.transaction() as s:
            query = delete(ConversationHold).where(ConversationHold.conversation_id == conversation_id)
            if agent is not None:
                query = query.where(ConversationHold.agent == agent)
            return bool(s.execute(query).rowcount)
