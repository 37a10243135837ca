from datetime import datetime

import pytest
import yaml

from bot.policy import (
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
