"""OrderAccess's decisions for the order form: the phone check, and a pass found for someone else."""

import pytest

from bot.access.order_access import ANONYMOUS, MAX_FAILED_CHECKS, OrderAccess, PassDecision
from tests.helpers.shop import NOW, SECRET

LIN_ORDER = "3027461958302746518"  # lin_xiaoyu's, tracking number 773029384756102, phone …5678
CONVERSATION = "c1"


def access(store, account=None, conversation=CONVERSATION):
    return OrderAccess(store, account, conversation, SECRET, NOW)


def pass_for(store, holder, conversation=CONVERSATION):
    """The pass the form would have issued to ``holder`` for LIN_ORDER."""
    order = store.get_order(LIN_ORDER)
    return access(store, None if holder == ANONYMOUS else holder, conversation).issue_pass(order)


# -- needs_phone_check -----------------------------------------------------------


def test_a_verified_buyer_never_gives_phone_digits(store):
    lin = access(store, "lin_xiaoyu")
    assert not lin.needs_phone_check(LIN_ORDER, None)
    assert not lin.needs_phone_check(None, None)
    # not even for another buyer's order: ownership is checked instead
    assert not access(store, "chen_hao").needs_phone_check(LIN_ORDER, None)


def test_an_anonymous_customer_gives_them_until_the_pass_is_issued(store):
    anonymous = access(store)
    assert anonymous.needs_phone_check(None, None)
    assert anonymous.needs_phone_check(LIN_ORDER, None)
    assert anonymous.needs_phone_check(LIN_ORDER, "forged")
    assert not anonymous.needs_phone_check(LIN_ORDER, pass_for(store, ANONYMOUS))


@pytest.mark.parametrize(
    "holder, conversation",
    [
        ("lin_xiaoyu", CONVERSATION),  # issued to the buyer, who has since logged out
        (ANONYMOUS, "another-conversation"),  # a pass copied from another conversation
    ],
)
def test_a_pass_issued_to_another_holder_does_not_spare_the_check(store, holder, conversation):
    assert access(store).needs_phone_check(LIN_ORDER, pass_for(store, holder, conversation))


def test_a_locked_order_gives_no_pass_so_the_check_is_still_needed(store):
    for guess in range(MAX_FAILED_CHECKS):
        assert access(store).prove(LIN_ORDER, f"{guess:04d}").status == "mismatch"
    locked = access(store).prove(LIN_ORDER, "5678")  # the right digits, too late
    assert (locked.status, locked.order) == ("locked", None)
    assert access(store).needs_phone_check(LIN_ORDER, None)


# -- keep_or_forget ---------------------------------------------------------------


def test_the_holders_own_pass_keeps_the_order(store):
    assert access(store).keep_or_forget(LIN_ORDER, pass_for(store, ANONYMOUS), "到哪了") is PassDecision.KEEP
    lin_pass = pass_for(store, "lin_xiaoyu")
    assert access(store, "lin_xiaoyu").keep_or_forget(LIN_ORDER, lin_pass, "") is PassDecision.KEEP


@pytest.mark.parametrize(
    "account, holder",
    [
        (None, "lin_xiaoyu"),  # the buyer logged out; whoever writes now is anonymous
        ("chen_hao", "lin_xiaoyu"),  # another buyer logged in on the same conversation id
        ("lin_xiaoyu", ANONYMOUS),  # found by the phone check, now a logged-in buyer
    ],
)
def test_a_pass_for_someone_else_forgets_the_order(store, account, holder):
    decision = access(store, account).keep_or_forget(LIN_ORDER, pass_for(store, holder), "到哪了")
    assert decision is PassDecision.FORGET


@pytest.mark.parametrize(
    "typed",
    [
        LIN_ORDER,
        f"我的订单{LIN_ORDER}到哪了",
        "３０２７４６１９５８３０２７４６５１８",  # full-width digits
        "单号773029384756102",  # its tracking number
    ],
)
def test_typing_the_number_again_looks_it_up_afresh(store, typed):
    decision = access(store).keep_or_forget(LIN_ORDER, pass_for(store, "lin_xiaoyu"), typed)
    assert decision is PassDecision.LOOK_UP


def test_an_order_without_any_pass_is_looked_up(store):
    assert access(store).keep_or_forget(LIN_ORDER, None, "到哪了") is PassDecision.LOOK_UP
    assert access(store, "lin_xiaoyu").keep_or_forget(LIN_ORDER, None, "") is PassDecision.LOOK_UP


def test_a_known_buyer_is_one_read_and_an_unknown_one_is_anonymous(store):
    from bot.access.identity import sign
    from bot.access.order_access import verified_account
    from tests.helpers.shop import NOW, SECRET

    assert store.has_buyer("chen_hao") and not store.has_buyer("nobody")
    assert verified_account(store, sign("chen_hao", SECRET, NOW), SECRET, NOW) == "chen_hao"
    assert verified_account(store, sign("nobody", SECRET, NOW), SECRET, NOW) is None
