"""The shop's after-sales rules: loaded from ``shop.yml``, applied by pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml


class PolicyError(ValueError):
    """``shop.yml`` is missing a key or has a value of the wrong kind."""


@dataclass(frozen=True)
class ShopPolicy:
    shop_name: str
    timezone: ZoneInfo
    return_window_days: int
    handling_days: str
    accept_cash_on_delivery: bool
    return_address: str
    return_receiver: str
    return_phone: str
    ship_within_hours: int
    courier_answer_hours: int
    recent_order_days: int


def load_policy(path: Path) -> ShopPolicy:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    return policy_from_mapping(raw, source=str(path))


def policy_from_mapping(raw: Any, source: str = "shop.yml") -> ShopPolicy:
    def get(key: str, kind: Any) -> Any:
        node: Any = raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise PolicyError(f"{source}: missing key '{key}'")
            node = node[part]
        if kind is int and isinstance(node, bool) or not isinstance(node, kind):
            expected = getattr(kind, "__name__", None) or " or ".join(k.__name__ for k in kind)
            raise PolicyError(f"{source}: key '{key}' must be {expected}, got {node!r}")
        if kind is int and node < 0:
            raise PolicyError(f"{source}: key '{key}' must not be negative")
        return node

    tz_name = get("shop.timezone", str)
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"{source}: key 'shop.timezone': unknown {tz_name!r}") from exc
    handling = get("returns.handling_days", (str, int))
    return ShopPolicy(
        shop_name=get("shop.name", str),
        timezone=timezone,
        return_window_days=get("returns.window_days", int),
        handling_days=str(handling),
        accept_cash_on_delivery=get("returns.accept_cash_on_delivery", bool),
        return_address=get("returns.address", str),
        return_receiver=get("returns.receiver", str),
        return_phone=str(get("returns.phone", (str, int))),
        ship_within_hours=get("shipping.ship_within_hours", int),
        courier_answer_hours=get("courier.answer_within_hours", int),
        recent_order_days=get("orders.recent_days", int),
    )


# -- pure rules ------------------------------------------------------------------


def to_shop_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """A naive-UTC ``moment`` as an aware datetime in the shop's timezone."""
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)


def return_window(
    signed_at: datetime, now: datetime, policy: ShopPolicy
) -> Tuple[bool, datetime, int]:
    """Is the no-reason return window open, when does it close, days left.

    As the shop's manual says (签收包裹当天开始计算), calendar days are counted
    in the shop's timezone with the day of signing as day 1; the window
    closes at the end of day N.
    """
    signed_local = to_shop_time(signed_at, policy.timezone)
    start_of_day = signed_local.replace(hour=0, minute=0, second=0, microsecond=0)
    closes = start_of_day + timedelta(days=policy.return_window_days)
    now_local = to_shop_time(now, policy.timezone)
    is_open = now_local < closes
    days_left = max(0, (closes.date() - now_local.date()).days) if is_open else 0
    return is_open, closes, days_left


def ship_deadline(
    paid_at: Optional[datetime], ship_by: Optional[datetime], policy: ShopPolicy
) -> Optional[datetime]:
    """When an unshipped order is due to ship: the campaign date, else paid + N h."""
    if ship_by is not None:
        return ship_by
    if paid_at is None:
        return None
    return paid_at + timedelta(hours=policy.ship_within_hours)


def courier_answer_deadline(now: datetime, policy: ShopPolicy) -> datetime:
    return now + timedelta(hours=policy.courier_answer_hours)

