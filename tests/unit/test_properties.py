"""Property-based tests (hypothesis) over bot/: ids, normalisation, identity, policy,
formatting, lookup and the case log, on generated input rather than chosen examples."""

from __future__ import annotations

import os
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.access.identity import sign, verify
from bot.access.ids import (
    ORDER_ID_MAX,
    ORDER_ID_MIN,
    PHONE,
    TRACKING_NUMBER,
    find_order_id,
    find_tracking_number,
    normalise_digits,
    order_number_problem,
)
from bot.access.order_access import OrderAccess
from bot.playbook.policy import (
    RETURN_REASONS,
    load_policy,
    missing_item_report_open,
    next_shift_start,
    return_window,
    shift_at,
    to_shop_time,
    who_pays_return_shipping,
)
from bot.playbook.scenarios import fmt_day, fmt_money, fmt_time
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseLog, CaseState
from bot.shop.feedback import FeedbackLog
from bot.shop.sample_data import seed
from bot.shop.store import OrderStore
from components.normalise import normalise, normalise_with_offsets
from rasa_adapter.project_files import to_nlu_yaml
from tests.helpers.shop import NOW

# Fast enough for every `make test`; CI can raise it with HYPOTHESIS_PROFILE=thorough.
settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

POLICY = load_policy(PROJECT_ROOT / "shop.yml")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# Any text at all: every code point, lone surrogates and control characters included.
# Hostile characters are mixed in on purpose: a uniform draw rarely hits them.
HOSTILE = "\ud800\udfff\x00\x1b\x7f\u200b\u202e\ufe0f\ufeff\u3000０９😀🇨🇳\n\t"
# (st.text() never yields lone surrogates, so lists of characters are joined instead.)
any_char = st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(HOSTILE))
any_text = st.lists(any_char, max_size=200).map("".join)
# Text with no ASCII letters or digits, which cannot touch a number next to it.
cjk = st.text(st.sampled_from("我的订单快递到哪了，。！？ 😀～号码是"), max_size=12)
digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=40)
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31))
accounts = st.text(
    st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=30
)
secrets = st.text(min_size=1, max_size=40)


# -- ids --------------------------------------------------------------------------------


@given(any_text)
def test_what_find_order_id_returns_is_an_order_number_from_the_text(text):
    found = find_order_id(text)
    if found is not None:
        assert found.isascii() and found.isdigit()
        assert ORDER_ID_MIN <= len(found) <= ORDER_ID_MAX
        assert found in normalise_digits(text)


@given(cjk, st.text(st.sampled_from("0123456789"), min_size=16, max_size=19), cjk,
       st.booleans())
def test_an_order_number_in_chinese_text_is_found_in_either_width(before, number, after, wide):
    typed = number.translate(FULL_WIDTH) if wide else number
    assert find_order_id(before + typed + after) == number


@given(any_text)
def test_a_tracking_number_found_is_a_whole_upper_case_tracking_number(text):
    found = find_tracking_number(text)
    if found is not None:
        assert TRACKING_NUMBER.fullmatch(found) and found == found.upper()
        assert found in normalise_digits(text).upper()


@given(any_text)
def test_normalise_digits_keeps_length_and_is_idempotent(text):
    once = normalise_digits(text)
    assert len(once) == len(text) and normalise_digits(once) == once


@given(cjk, digits, cjk)
def test_a_digit_run_is_explained_by_its_length(before, run, after):
    assume(not any(ch.isdigit() for ch in before + after))
    problem = order_number_problem(before + run + after)
    if len(run) < 6 or ORDER_ID_MIN <= len(run) <= ORDER_ID_MAX:
        assert problem is None
    else:
        assert problem is not None and problem.digits == run
        expected = ("phone" if PHONE.fullmatch(run)
                    else "too_short" if len(run) < ORDER_ID_MIN else "too_long")
        assert problem.kind == expected


@given(any_text)
def test_order_number_problem_and_find_order_id_never_both_fire_on_one_run(text):
    problem = order_number_problem(text)
    if problem is not None:
        assert not ORDER_ID_MIN <= len(problem.digits) <= ORDER_ID_MAX


# -- normalisation ----------------------------------------------------------------------------


@given(any_text)
def test_normalised_text_is_clean(text):
    new, positions = normalise_with_offsets(text)
    assert new == new.strip() and "  " not in new
    assert not any(ch in "\n\t\r" or ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in new)
    new.encode("utf-8")  # no lone surrogates: the pipeline and the databases can take it
    assert len(positions) == len(text)
    assert positions == sorted(positions) and all(0 <= p <= len(new) for p in positions)


@given(any_text)
def test_normalising_twice_changes_nothing(text):
    once = normalise(text)
    assert normalise(once) == once


@given(cjk, st.text(st.sampled_from("0123456789"), min_size=16, max_size=19), cjk)
def test_an_order_number_survives_normalisation(before, number, after):
    assert find_order_id(normalise(before + number.translate(FULL_WIDTH) + after)) == number


# -- identity ------------------------------------------------------------------------------


@given(accounts, secrets, times, st.integers(min_value=1, max_value=10**6))
def test_a_signed_token_verifies_until_it_expires(account, secret, now, ttl_seconds):
    ttl = timedelta(seconds=ttl_seconds)
    token = sign(account, secret, now, ttl)
    assert verify(token, secret, now) == account
    assert verify(token, secret, now + ttl + timedelta(seconds=1)) is None


@given(accounts, secrets, secrets, times)
def test_a_token_never_verifies_with_another_secret(account, secret, other, now):
    assume(secret != other)
    assert verify(sign(account, secret, now), other, now) is None


no_dot = st.lists(any_char.filter(lambda ch: ch != "."), max_size=50).map("".join)
token_shaped = st.builds(lambda a, e, s: f"{a}.{e}.{s}", no_dot, no_dot, no_dot)


@given(st.one_of(any_text, token_shaped, st.integers(), st.none(), st.lists(st.text(), max_size=3)),
       secrets, times)
def test_random_tokens_never_verify_and_never_raise(token, secret, now):
    assert verify(token, secret, now) is None


@given(accounts, accounts, secrets, times)
def test_a_forged_account_never_verifies(account, other, secret, now):
    assume(account != other)
    _, expiry, signature = sign(account, secret, now).split(".")
    assert verify(f"{other}.{expiry}.{signature}", secret, now) is None


@given(accounts, secrets, times, st.data())
def test_a_tampered_token_never_verifies(account, secret, now, data):
    token = sign(account, secret, now)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(any_char)
    assume(replacement != token[position])
    tampered = token[:position] + replacement + token[position + 1:]
    assert verify(tampered, secret, now) is None


# -- policy -------------------------------------------------------------------------------------


@given(times, times, times)
def test_the_return_window_only_ever_closes(signed, first, second):
    now1, now2 = sorted((first, second))
    open1, closes1, left1 = return_window(signed, now1, POLICY)
    open2, closes2, left2 = return_window(signed, now2, POLICY)
    assert closes1 == closes2
    assert left2 <= left1
    assert not (open2 and not open1)


@given(times, st.integers(min_value=0, max_value=10 * 24 * 60))
def test_the_window_is_open_for_the_stated_days_from_signing(signed, minutes_later):
    now = signed + timedelta(minutes=minutes_later)
    is_open, closes, days_left = return_window(signed, now, POLICY)
    # it closes at the midnight that ends day N, day 1 being the day of signing
    assert closes.time() == datetime.min.time()
    assert (closes.date() - to_shop_time(signed, POLICY.timezone).date()).days == POLICY.return_window_days
    assert is_open == (to_shop_time(now, POLICY.timezone) < closes)
    assert (days_left >= 1) == is_open and days_left <= POLICY.return_window_days


@given(times, times)
def test_the_missing_item_window_is_the_stated_hours(signed, now):
    hours = POLICY.missing_report_hours
    assert missing_item_report_open(signed, now, POLICY) == (now - signed <= timedelta(hours=hours))


@given(st.sampled_from(RETURN_REASONS))
def test_someone_pays_the_return_shipping_for_every_reason(reason):
    payer = who_pays_return_shipping(reason, POLICY)
    assert payer in ("shop", "buyer")


@given(st.text(max_size=20))
def test_an_unknown_return_reason_is_refused_not_guessed(reason):
    assume(reason not in RETURN_REASONS)
    with pytest.raises(ValueError):
        who_pays_return_shipping(reason, POLICY)


@given(times)
def test_the_shift_on_duty_covers_now_and_the_next_starts_later(now):
    local = to_shop_time(now, POLICY.timezone)
    shift = shift_at(now, POLICY)
    if shift is not None:
        assert shift.start <= local.time() and (shift.end == datetime.min.time() or local.time() < shift.end)
    following = next_shift_start(now, POLICY)
    if POLICY.shifts:
        assert following is not None and local < following <= local + timedelta(days=1)


# -- replies: money and times ------------------------------------------------------------------


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_money_is_yuan_with_two_decimals_and_reads_back(cents):
    amount = Decimal(cents) / 100
    text = fmt_money(amount)
    assert re.fullmatch(r"¥-?\d+\.\d\d", text)
    assert Decimal(text[1:]) == amount


@given(times)
def test_times_are_the_shops_local_month_day_and_clock(moment):
    local = to_shop_time(moment, POLICY.timezone)
    text = fmt_time(moment, POLICY)
    match = re.fullmatch(r"(\d{1,2})月(\d{1,2})日 (\d\d):(\d\d)", text)
    assert match
    assert tuple(int(g) for g in match.groups()) == (local.month, local.day, local.hour, local.minute)
    assert text.startswith(fmt_day(moment, POLICY))


# -- lookup and the case log --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop_store(tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    store = OrderStore.from_url(f"sqlite:///{Path(tmp_path_factory.mktemp('prop')) / 'shop.db'}")
    seed(store, NOW)
    yield store
    store.engine.dispose()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(any_text, st.builds(lambda a, n, b: a + n + b, cjk, digits, cjk)),
       st.sampled_from([None, "chen_hao", "lin_xiaoyu", "nobody"]))
def test_lookup_of_any_text_answers_and_never_shows_another_buyers_order(shop_store, text, account):
    result = OrderAccess(shop_store, account, "c1", "secret", NOW).find(text)
    assert result.status in ("found", "unknown", "malformed", "unproven")
    if result.status == "found":
        assert result.order is not None
        assert account is not None and result.order.buyer_account == account
        assert result.given in normalise_digits(text).upper()
    else:
        assert result.order is None  # anonymous: nothing before the phone check


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(st.sampled_from(["3027461958302746518", "1829374650192837465", "SF1402938475610"]), any_text)
def test_only_the_orders_own_phone_digits_open_it(shop_store, number, text):
    access = OrderAccess(shop_store, None, f"c-{number}-{len(text)}", "secret", NOW)
    result = access.prove(number, text)
    if result.order is not None:
        assert result.order.phone[-4:] in normalise_digits(text)
    assert result.status in ("found", "no_tail", "mismatch", "locked")


case_text = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=60), case_text, case_text,
       st.one_of(st.none(), case_text), st.sampled_from(list(CaseState)), times)
def test_a_case_reads_back_as_it_was_written(shop_store, conversation, next_step, note, message,
                                             state, now):
    log = CaseLog(shop_store)
    conversation = f"{uuid.uuid4().hex}:{conversation}"  # a new conversation each example
    case = log.register(conversation_id=conversation, intent="complaint", state=state,
                        next_step=next_step, note=note, now=now, customer_message=message)
    again = log.get(case.id)
    assert again == case
    assert (again.conversation_id, again.next_step, again.note, again.customer_message) == (
        conversation, next_step, note, message)
    assert (again.state, again.created_at) == (state, now)
    if state != CaseState.CLOSED:
        # saying it again updates the same case
        assert log.register(conversation_id=conversation, intent="complaint", state=state,
                            next_step=next_step, note=note, now=now).id == case.id


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=80), min_size=1, max_size=5))
def test_exported_feedback_is_one_example_per_message(shop_store, messages):
    log = FeedbackLog(shop_store)
    intent = f"intent_{uuid.uuid4().hex}"  # this example's own block of the export
    kept = []
    for message in messages:
        if message.strip():
            log.record(message=message, intent=intent, verdict="used", now=NOW)
            if " ".join(message.split()) not in kept:
                kept.append(" ".join(message.split()))
    exported = yaml.safe_load(to_nlu_yaml(log.accepted_examples()))["nlu"]
    examples = [line[2:] for block in exported if block["intent"] == intent
                for line in block["examples"].splitlines()]
    assert examples == kept
