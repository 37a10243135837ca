from datetime import datetime, timedelta

import pytest
import yaml

from bot.playbook.policy import (
    PolicyError,
    load_policy,
    policy_from_mapping,
    return_window,
    ship_deadline,
)
from bot.settings import PROJECT_ROOT


def raw_policy():
    return yaml.safe_load((PROJECT_ROOT / "shop.yml").read_text(encoding="utf-8"))


# Shanghai is UTC+8: 2026-11-10 02:00 UTC is 10:00 on 11-10 in the shop.
SIGNED = datetime(2026, 11, 10, 2, 0)


@pytest.mark.parametrize(
    "now, is_open, days_left",
    [
        (datetime(2026, 11, 10, 3, 0), True, 7),  # day 1, the day of signing
        (datetime(2026, 11, 16, 15, 59), True, 1),  # day 7, 23:59 in Shanghai
        (datetime(2026, 11, 16, 16, 0), False, 0),  # day 8, 00:00 in Shanghai
        (datetime(2026, 11, 20, 6, 0), False, 0),
    ],
)
def test_return_window_counts_days_in_the_shop_timezone(policy, now, is_open, days_left):
    opened, closes, left = return_window(SIGNED, now, policy)
    assert (opened, left) == (is_open, days_left)
    assert (closes.month, closes.day, closes.hour) == (11, 17, 0)


def test_signed_just_before_midnight_counts_that_day(policy):
    # 2026-11-10 15:59 UTC is 23:59 on 11-10 in Shanghai: day 1 is 11-10.
    _, closes, _ = return_window(datetime(2026, 11, 10, 15, 59), datetime(2026, 11, 11), policy)
    assert (closes.month, closes.day) == (11, 17)


def test_ship_deadline_prefers_the_campaign_date(policy):
    paid = datetime(2026, 11, 1, 0, 0)
    campaign = datetime(2026, 11, 11, 0, 0)
    assert ship_deadline(paid, campaign, policy) == campaign
    assert ship_deadline(paid, None, policy) == datetime(2026, 11, 3, 0, 0)
    assert ship_deadline(None, None, policy) is None


def test_the_shipped_policy_loads():
    policy = load_policy(PROJECT_ROOT / "shop.yml")
    assert policy.return_window_days == 7
    assert policy.timezone.key == "Asia/Shanghai"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda raw: raw["returns"].pop("window_days"), "missing key 'returns.window_days'"),
        (lambda raw: raw["returns"].update(window_days="seven"), "'returns.window_days' must be int"),
        (lambda raw: raw["returns"].update(window_days=-1), "'returns.window_days' must not be negative"),
        (lambda raw: raw["shop"].update(timezone="Mars/Olympus"), "'shop.timezone'"),
        (lambda raw: raw.pop("courier"), "missing key 'courier.answer_within_hours'"),
        (lambda raw: raw.pop("complaints"), "missing key 'complaints.supervisor_answer_within_hours'"),
        (lambda raw: raw["returns"].update(cash_on_delivery_rule="欢迎寄回"),
         "'returns.cash_on_delivery_rule' must tell the customer that 到付"),
    ],
)
def test_a_bad_policy_names_the_key(mutate, message):
    raw = raw_policy()
    mutate(raw)
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        policy_from_mapping(raw)


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yml")


# -- issue 3 rules -----------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from bot.playbook.policy import (  # noqa: E402
    compensation_needs_approval,
    missing_item_report_open,
    next_shift_start,
    shift_at,
    who_pays_return_shipping,
)


def shanghai(day, hour, minute=0):
    """A naive-UTC moment given as Shanghai wall time on 2026-11-<day>."""
    return datetime(2026, 11, day, hour, minute) - timedelta(hours=8)


@pytest.mark.parametrize(
    "hours_after, is_open",
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24), True),
     (timedelta(hours=24, seconds=1), False), (timedelta(days=3), False)],
)
def test_missing_items_are_counted_within_24_hours(policy, hours_after, is_open):
    assert missing_item_report_open(SIGNED, SIGNED + hours_after, policy) is is_open


@pytest.mark.parametrize(
    "reason, payer",
    [("quality_issue", "shop"), ("wrong_item", "shop"), ("courier_damage", "shop"),
     ("dislike", "buyer"), ("size", "buyer"), ("colour", "buyer")],
)
def test_who_pays_return_shipping(policy, reason, payer):
    assert who_pays_return_shipping(reason, policy) == payer


def test_an_unknown_return_reason_is_an_error(policy):
    with pytest.raises(ValueError):
        who_pays_return_shipping("bored", policy)


def test_compensation_above_the_shipping_fee_needs_approval(policy):
    assert not compensation_needs_approval(Decimal("12.00"), policy)
    assert compensation_needs_approval(Decimal("12.01"), policy)


@pytest.mark.parametrize(
    "hour, minute, shift",
    [(8, 59, None), (9, 0, "白班"), (16, 0, "晚班"), (16, 29, "晚班"), (16, 31, "晚班"),
     (22, 29, "晚班"), (22, 30, None), (23, 59, None), (0, 30, None)],
)
def test_shift_at_the_edges(policy, hour, minute, shift):
    found = shift_at(shanghai(20, hour, minute), policy)
    assert (found.name if found else None) == shift


def test_1629_is_still_within_the_day_shift_and_1631_is_not(policy):
    day = policy.shifts[0]
    assert day.start.hour == 9 and (day.end.hour, day.end.minute) == (16, 30)
    for minute, on_duty in ((29, True), (31, False)):
        local = shanghai(20, 16, minute) + timedelta(hours=8)
        assert (day.start <= local.time() < day.end) is on_duty


@pytest.mark.parametrize(
    "hour, expected",
    [(7, (20, 9)), (10, (20, 16)), (17, (21, 9)), (23, (21, 9))],
)
def test_next_shift_start(policy, hour, expected):
    start = next_shift_start(shanghai(20, hour), policy)
    assert (start.day, start.hour) == expected


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda raw: raw["returns"]["shipping_paid_by"].update(size="nobody"), "shipping_paid_by.size"),
        (lambda raw: raw["shifts"][0].update(start="9am"), r"shifts\[0\].start"),
        (lambda raw: raw["shifts"][1].update(end="15:00"), r"shifts\[1\]"),
        (lambda raw: raw["missing_items"].pop("report_within_hours"), "missing_items.report_within_hours"),
        (lambda raw: raw["compensation"].update(max_without_approval="free"), "compensation.max_without_approval"),
    ],
)
def test_bad_new_keys_are_named(mutate, message):
    raw = raw_policy()
    mutate(raw)
    with pytest.raises(PolicyError, match=message):
        policy_from_mapping(raw)
