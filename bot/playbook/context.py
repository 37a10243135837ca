"""What a scenario reads beyond the order: the message, stock, earlier cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Mapping, Optional, Sequence, Tuple

from bot.playbook.policy import ShopPolicy
from bot.shop.cases import CaseRecord
from bot.shop.compensation import CompensationState
from bot.shop.store import OrderFacts


@dataclass(frozen=True)
class PriceDifferenceAsked:
    """The order's 退差价 asked before, as its record stands (bot/playbook/payouts.py
    ``price_difference_asked``): asking again is answered from it, never put to a
    supervisor twice."""

    state: CompensationState
    amount: Decimal
    decided_at: Optional[datetime] = None
    pay_due: Optional[datetime] = None  # its open payout promise (approved, not paid yet)
    paid_at: Optional[datetime] = None
    reference: Optional[str] = None  # the transfer's reference, when paid
    reason: Optional[str] = None  # the supervisor's, when denied (FactKind.DECISION_REASON)


@dataclass(frozen=True)
class Context:
    """What a scenario may need beyond the order: the message, stock, earlier cases."""

    text: str = ""
    entities: Mapping[str, Sequence[str]] = field(default_factory=dict)  # label → values
    variants: Mapping[int, Sequence[Tuple[str, int]]] = field(default_factory=dict)
    cases: Sequence[CaseRecord] = ()
    price_difference: Optional[PriceDifferenceAsked] = None  # price_drop_refund: asked before


NO_CONTEXT = Context()


@dataclass(frozen=True)
class Situation:
    """Everything a playbook row's conditions and facts are computed from."""

    order: OrderFacts
    now: datetime
    policy: ShopPolicy
    ctx: Context = NO_CONTEXT
