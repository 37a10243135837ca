"""What a scenario reads beyond the order: the message, stock, earlier cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence, Tuple

from bot.playbook.policy import ShopPolicy
from bot.shop.cases import CaseRecord
from bot.shop.store import OrderFacts


@dataclass(frozen=True)
class Context:
    """What a scenario may need beyond the order: the message, stock, earlier cases."""

    text: str = ""
    entities: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label → values
    variants: Mapping[int, Sequence[Tuple[str, int]]] = field(default_factory=dict)
    cases: Sequence[CaseRecord] = ()


NO_CONTEXT = Context()


@dataclass(frozen=True)
class Situation:
    """Everything a playbook row's conditions and facts are computed from."""

    order: OrderFacts
    now: datetime
    policy: ShopPolicy
    ctx: Context = NO_CONTEXT
