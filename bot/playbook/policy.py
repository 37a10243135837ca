"""The shop's after-sales rules: loaded from ``shop.yml``, applied by pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml


class PolicyError(ValueError):
    """``shop.yml`` is missing a key or has a value of the wrong kind."""


RETURN_REASONS = (
    "quality_issue", "wrong_item", "missing_item", "courier_damage", "dislike", "size", "colour",
)


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time  # time(0, 0) stands for 24:00


@dataclass(frozen=True)
class ShopPolicy:
    shop_name: str
    timezone: ZoneInfo
    return_window_days: int
    handling_days: str
    accept_cash_on_delivery: bool
    cod_rule: str
    return_address: str
    return_receiver: str
    return_phone: str
    ship_within_hours: int
    courier_answer_hours: int
    supervisor_answer_hours: int  # a complaint escalated to a supervisor is answered within
    recent_order_days: int
    shipping_paid_by: Dict[str, str]
    must_return: str
    exclusions: str
    missing_report_hours: int
    compensation_cap: Decimal
    payout_hours: int  # money owed (折价, 退差价) is paid within this many hours of being granted
    upload_max_bytes: int  # a customer's photo, after reading (uploads.max_megabytes)
    uploads_per_case: int  # photos one case takes at most
    shifts: Tuple[Shift, ...]
    # the business choices the manuals leave open (see shop.yml)
    exchange_shipping: str  # "buyer" pays both ways, or "split" 50/50
    late_missing_reports: str  # "refuse", or "supervisor" decides
    courier_damage_after_signing: str  # "buyer" (the signer's), or "shop"
    quality_claim_days: int  # quality problems are taken within this many days of signing
    return_fee_cap: Decimal  # the most the shop pays back for a return parcel it pays for
    unopened_only: Tuple[str, ...]  # products returned without reason only unopened
    tracking_stale_hours: int  # a parcel without a new event for this long is chased
    price_drop_days: int  # a price difference only for orders made within this many days

    @property
    def handling_days_max(self) -> int:
        """The last day of ``handling_days`` ("1-2" → 2): the deadline promised."""
        return max(int(n) for n in re.findall(r"\d+", self.handling_days) or ["1"])


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
    paid_by = get("returns.shipping_paid_by", Mapping)
    for reason in RETURN_REASONS:
        if paid_by.get(reason) not in ("shop", "buyer"):
            raise PolicyError(
                f"{source}: key 'returns.shipping_paid_by.{reason}' must be shop or buyer"
            )
    # the replies say one payer for each group of reasons (「不喜欢、尺码或颜色不合适…」)
    for group in (("dislike", "size", "colour"), ("quality_issue", "wrong_item", "missing_item")):
        if len({paid_by[r] for r in group}) > 1:
            raise PolicyError(
                f"{source}: keys 'returns.shipping_paid_by.{'/'.join(group)}' must name one payer"
            )
    cap = get("compensation.max_without_approval", (int, float))
    accept_cod = get("returns.accept_cash_on_delivery", bool)
    cod_rule = get("returns.cash_on_delivery_rule", str).strip()
    if not accept_cod and "到付" not in cod_rule:
        raise PolicyError(
            f"{source}: key 'returns.cash_on_delivery_rule' must tell the customer that 到付 "
            f"parcels are refused (accept_cash_on_delivery is false), got {cod_rule!r}"
        )
    def choice(key: str, allowed: Tuple[str, ...]) -> str:
        value = get(key, str)
        if value not in allowed:
            raise PolicyError(f"{source}: key '{key}' must be {' or '.join(allowed)}, got {value!r}")
        return str(value)

    unopened = get("returns.unopened_only", list)
    if not all(isinstance(name, str) for name in unopened):
        raise PolicyError(f"{source}: key 'returns.unopened_only' must list product names")
    return ShopPolicy(
        shop_name=get("shop.name", str),
        timezone=timezone,
        return_window_days=get("returns.window_days", int),
        handling_days=str(handling),
        accept_cash_on_delivery=accept_cod,
        cod_rule=cod_rule,
        return_address=get("returns.address", str),
        return_receiver=get("returns.receiver", str),
        return_phone=str(get("returns.phone", (str, int))),
        ship_within_hours=get("shipping.ship_within_hours", int),
        courier_answer_hours=get("courier.answer_within_hours", int),
        supervisor_answer_hours=get("complaints.supervisor_answer_within_hours", int),
        recent_order_days=get("orders.recent_days", int),
        shipping_paid_by={r: paid_by[r] for r in RETURN_REASONS},
        must_return=get("returns.must_return", str),
        exclusions=get("returns.exclusions", str),
        missing_report_hours=get("missing_items.report_within_hours", int),
        compensation_cap=Decimal(str(cap)),
        payout_hours=get("compensation.pay_within_hours", int),
        upload_max_bytes=get("uploads.max_megabytes", int) * 1024 * 1024,
        uploads_per_case=get("uploads.per_case", int),
        shifts=_shifts(get("shifts", list), source),
        exchange_shipping=choice("returns.exchange_shipping_paid_by", ("buyer", "split")),
        late_missing_reports=choice("missing_items.late_reports", ("refuse", "supervisor")),
        courier_damage_after_signing=choice("courier.damage_after_signing", ("buyer", "shop")),
        quality_claim_days=get("quality.claim_within_days", int),
        return_fee_cap=Decimal(str(get("returns.max_refunded_fee", (int, float)))),
        unopened_only=tuple(unopened),
        tracking_stale_hours=get("courier.stale_after_hours", int),
        price_drop_days=get("price_drop.within_days", int),
    )


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _shifts(raw: List[Any], source: str) -> Tuple[Shift, ...]:
    shifts = []
    for n, entry in enumerate(raw):
        key = f"shifts[{n}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise PolicyError(f"{source}: key '{key}.name' is missing")
        bounds = []
        for bound in ("start", "end"):
            value = entry.get(bound)
            if not isinstance(value, str) or not _CLOCK.match(value):
                raise PolicyError(f"{source}: key '{key}.{bound}' must be \"HH:MM\", got {value!r}")
            hours, minutes = (int(x) for x in value.split(":"))
            bounds.append(time(hours % 24, minutes))
        start, end = bounds
        if end != time(0, 0) and end <= start:
            raise PolicyError(f"{source}: key '{key}': the shift must end after it starts")
        shifts.append(Shift(entry["name"], start, end))
    return tuple(shifts)


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


def supervisor_answer_deadline(now: datetime, policy: ShopPolicy) -> datetime:
    """When a supervisor answers a complaint escalated to them (shop.yml ``complaints``)."""
    return now + timedelta(hours=policy.supervisor_answer_hours)


def payout_deadline(now: datetime, policy: ShopPolicy) -> datetime:
    """When money granted now (a 折价, an approved 退差价) is to be paid (shop.yml ``compensation``)."""
    return now + timedelta(hours=policy.payout_hours)


def handling_days_promised(policy: ShopPolicy) -> int:
    """The days the shop promises to handle a return in, once it arrives: the longest of
    ``returns.handling_days`` (2 of 「1-2」)."""
    return max(int(d) for d in re.findall(r"\d+", policy.handling_days) or ["0"])



def who_pays_return_shipping(reason: str, policy: ShopPolicy) -> str:
    """``shop`` or ``buyer``, by the reason for the return."""
    if reason not in policy.shipping_paid_by:
        raise ValueError(f"unknown return reason {reason!r}")
    return policy.shipping_paid_by[reason]


def missing_item_report_open(signed_at: datetime, now: datetime, policy: ShopPolicy) -> bool:
    """Missing items count when reported within N hours of signing (N h itself included)."""
    return now - signed_at <= timedelta(hours=policy.missing_report_hours)


def quality_claim_open(signed_at: datetime, now: datetime, policy: ShopPolicy) -> bool:
    """Quality problems are taken within N days of signing (the signing day is day 1)."""
    return now < signed_at + timedelta(days=policy.quality_claim_days)


def returned_handling_deadline(returned_at: datetime, policy: ShopPolicy) -> datetime:
    """A return that reached the warehouse is refunded within the handling days of arriving."""
    return returned_at + timedelta(days=policy.handling_days_max)


def shipping_deadline_passed(deadline: Optional[datetime], now: datetime) -> bool:
    return deadline is not None and now > deadline


def unopened_only(product_name: str, policy: ShopPolicy) -> bool:
    """Whether a product (a consumable) is returned without reason only unopened (002)."""
    return product_name in policy.unopened_only


def policy_facts(policy: ShopPolicy) -> Dict[str, Any]:
    """The numbers of shop.yml that agent-facing texts (checklists) may name."""
    return {
        "stale_hours": policy.tracking_stale_hours,
        "report_hours": policy.missing_report_hours,
        "window_days": policy.return_window_days,
        "handling_days": policy.handling_days,
        "claim_days": policy.quality_claim_days,
        "fee_cap": f"¥{policy.return_fee_cap:.2f}",
        "discount_cap": f"¥{policy.compensation_cap:.2f}",
        "answer_hours": policy.courier_answer_hours,
    }


def price_protected(created_at: datetime, now: datetime, policy: ShopPolicy) -> bool:
    """Whether a price drop still counts for an order made at ``created_at``."""
    return now - created_at <= timedelta(days=policy.price_drop_days)


def compensation_needs_approval(amount: Decimal, policy: ShopPolicy) -> bool:
    """A discount above the cap (the shipping fee) needs a supervisor's approval."""
    return amount > policy.compensation_cap


def shift_at(now: datetime, policy: ShopPolicy) -> Optional[Shift]:
    """The shift on duty at ``now`` (naive UTC); the later-starting one when two overlap."""
    local = to_shop_time(now, policy.timezone).time()
    on_duty = [
        s for s in policy.shifts
        if s.start <= local and (s.end == time(0, 0) or local < s.end)
    ]
    return max(on_duty, key=lambda s: s.start) if on_duty else None


def next_shift_start(now: datetime, policy: ShopPolicy) -> Optional[datetime]:
    """When the next shift starts after ``now``, in the shop's timezone."""
    local = to_shop_time(now, policy.timezone)
    starts = []
    for day in (0, 1):
        date = local.date() + timedelta(days=day)
        for shift in policy.shifts:
            start = datetime.combine(date, shift.start, tzinfo=policy.timezone)
            if start > local:
                starts.append(start)
    return min(starts) if starts else None
