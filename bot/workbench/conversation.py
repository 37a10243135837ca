"""A conversation as the workbench shows it: the transcript and what the NLU made of the
latest customer message. ``rasa_adapter.conversations`` builds one from Rasa's tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

CUSTOMER, BOT, AGENT = "customer", "bot", "agent"
# what the bot tells the customer when an agent gives the conversation back (domain.yml)
RELEASED_REPLY = "utter_agent_released"


@dataclass(frozen=True)
class Line:
    who: str  # customer, bot or agent
    text: str
    at: datetime  # naive UTC
    agent: Optional[str] = None  # the agent's name, for an agent's message


@dataclass(frozen=True)
class Conversation:
    id: str
    lines: Tuple[Line, ...]
    paused: bool  # the bot is not answering (a human has it)
    order_id: Optional[str] = None  # the order the conversation is about (its slot)
    channel: Optional[str] = None  # the channel the customer last wrote from
    buyer: Optional[str] = None  # the signed-in buyer, when the customer is one
    ranking: Sequence[Tuple[str, float]] = ()  # the NLU's intents for the latest message
    entities: Dict[str, List[str]] = field(default_factory=dict)  # its entities, label → values

    @property
    def exists(self) -> bool:
        """Whether the customer ever wrote: an unknown id has no lines."""
        return any(line.who == CUSTOMER for line in self.lines)

    @property
    def latest_customer_text(self) -> str:
        return next((line.text for line in reversed(self.lines) if line.who == CUSTOMER), "")
