from datetime import timedelta
from decimal import Decimal

import pytest

from bot.access.order_access import CHECK_WINDOW, MAX_FAILED_CHECKS, OrderAccess
from bot.shop.store import OrderState
from tests.helpers.shop import NOW


def test_an_order_with_its_shipment_and_events(store):
    order = store.get_order("3027461958302746518")
    assert order.state == OrderState.IN_TRANSIT
    assert order.buyer_account == "lin_xiaoyu"
    assert order.shipment.courier == "中通快递"
    assert order.shipment.last_event.description.endswith("上海浦东张江网点")
    assert [e.time for e in order.shipment.events] == sorted(e.time for e in order.shipment.events)


def test_money_is_exact(store):
    order = store.get_order("5566778899001155660")
    assert order.amount_paid == Decimal("79.80")
    assert order.refund_amount == Decimal("79.80")


def test_gifts_are_kept_apart(store):
    order = store.get_order("7700112233445566778")
    assert [g.name for g in order.gifts] == ["补水面膜"]
    assert len(order.goods) == 2


def test_a_price_that_dropped_after_purchase(store):
    kettle = store.get_order("7700112233445566778").goods[0]
    assert kettle.price_paid > kettle.current_price


def test_the_sample_covers_every_state(store):
    assert {o.state for o in store.all_orders()} == set(OrderState)


def test_seeding_twice_adds_nothing(store):
    from bot.shop.sample_data import seed

    before = len(list(store.all_orders()))
    assert seed(store, NOW) == 0
    assert len(list(store.all_orders())) == before


def access(store, account=None, conversation="c1"):
    return OrderAccess(store, account, conversation, "secret", NOW)


def test_a_buyer_looks_up_by_order_or_tracking_number(store):
    assert access(store, "lin_xiaoyu").find("订单 3027461958302746518").order.order_id == "3027461958302746518"
    assert access(store, "chen_hao").find("sf1402938475610").order.order_id == "1829374650192837465"


def test_a_known_buyer_never_sees_another_buyers_order(store):
    found = access(store, "chen_hao").find("3027461958302746518")
    assert found.status == "unknown" and found.order is None
    assert access(store, "lin_xiaoyu").find("SF1402938475610").order is None


def test_unknown_and_malformed_numbers(store):
    assert access(store, "lin_xiaoyu").find("1111222233334444555").status == "unknown"
    malformed = access(store, None).find("12345678")
    assert malformed.status == "malformed" and malformed.problem.kind == "too_short"


def test_anonymous_lookup_reveals_nothing_before_the_phone_check(store):
    real, made_up = access(store).find("3027461958302746518"), access(store).find("1111222233334444555")
    assert (real.status, real.order) == ("unproven", None)
    assert (made_up.status, made_up.order) == ("unproven", None)


def test_the_phone_check_opens_the_order_and_issues_a_pass(store):
    anonymous = access(store)  # lin_xiaoyu's order; her phone is 13812345678
    assert anonymous.prove("3027461958302746518", "尾号1234").status == "mismatch"
    assert anonymous.prove("3027461958302746518", "好的").status == "no_tail"
    found = anonymous.prove("3027461958302746518", "后四位是5678")
    assert found.order.order_id == "3027461958302746518"
    token = anonymous.issue_pass(found.order)
    assert anonymous.get("3027461958302746518", token) == found.order
    # the pass is worth nothing in another conversation, or to a logged-in buyer
    assert access(store, conversation="c2").get("3027461958302746518", token) is None
    assert access(store, "chen_hao").get("3027461958302746518", token) is None
    assert anonymous.get("3027461958302746518", "forged") is None


def test_a_tracking_number_works_for_the_phone_check(store):
    assert access(store).prove("SF1402938475610", "13998765432").order.order_id == "1829374650192837465"


def test_guessing_the_last_four_digits_locks_the_order(store):
    for guess in range(MAX_FAILED_CHECKS):
        assert access(store, conversation=f"g{guess}").prove("3027461958302746518", f"{guess:04d}").status == "mismatch"
    # even the right digits, from any conversation, until the window has passed
    assert access(store, conversation="late").prove("3027461958302746518", "5678").status == "locked"
    later = OrderAccess(store, None, "later", "secret", NOW + CHECK_WINDOW + timedelta(minutes=1))
    assert later.prove("3027461958302746518", "5678").status == "found"


def test_a_buyer_pass_needs_the_buyers_own_order(store):
    lin = access(store, "lin_xiaoyu")
    order = lin.find("3027461958302746518").order
    token = lin.issue_pass(order)
    assert lin.get(order.order_id, token) == order
    assert lin.get(order.order_id, None) is None


def test_recent_orders_are_the_buyers_own_in_the_window(store):
    # chen_hao has one order this month and one 75 days old
    assert [o.order_id for o in store.recent_orders("chen_hao", NOW, 30)] == ["1829374650192837465"]
    assert len(store.recent_orders("lin_xiaoyu", NOW, 30)) == 3
    assert store.recent_orders("nobody", NOW, 30) == []


def test_a_copy_of_a_buyer_has_the_same_orders_under_other_numbers(store):
    from bot.shop.sample_data import ORDERS, copy_names, seed_copies

    assert seed_copies(store, NOW, [(1, "chen_hao"), (2, "chen_hao"), (3, "lin_xiaoyu")]) == sum(
        2 for o in ORDERS if o["buyer"] == "chen_hao") + sum(1 for o in ORDERS if o["buyer"] == "lin_xiaoyu")
    names = copy_names(2)
    original, copy = store.orders_of_buyer("chen_hao"), store.orders_of_buyer(names["chen_hao"])
    assert [names[o.order_id] for o in original] == [o.order_id for o in copy]
    for a, b in zip(original, copy):
        assert (a.state, a.goods, a.phone, a.amount_paid) == (b.state, b.goods, b.phone, b.amount_paid)
        if a.shipment:
            assert b.shipment and b.shipment.tracking_number == names[a.shipment.tracking_number]
            assert store.order_by_tracking_number(b.shipment.tracking_number).order_id == b.order_id
    assert store.orders_of_buyer(copy_names(1)["chen_hao"]) != copy  # each copy its own orders


def test_copies_never_collide_with_the_sample_or_each_other():
    from bot.access.ids import find_order_id, find_tracking_number
    from bot.shop.sample_data import MAX_COPIES, copy_names

    sample = set(copy_names(1))
    seen = set(sample)
    for k in (1, 2, 9, 10, 1122, 12345, 99_998, MAX_COPIES):
        names = copy_names(k)
        assert not set(names.values()) & seen
        seen |= set(names.values())
        for old, new in names.items():  # still read as the same kind of number
            if find_order_id(old) == old:
                assert find_order_id(new) == new
            if find_tracking_number(old) == old:
                assert find_tracking_number(new) == new
    with pytest.raises(ValueError):
        copy_names(MAX_COPIES + 1)


def test_an_sqlite_engine_made_elsewhere_keeps_its_connections_and_writes_ahead(tmp_path):
    import threading

    from sqlalchemy import create_engine, text

    from bot.shop.store import pooled, write_ahead

    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}", future=True)  # as Rasa makes it
    pooled(engine)
    write_ahead(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        first = connection.connection.dbapi_connection
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))
        connection.commit()
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is first  # kept open, not a new one
    seen = []

    def elsewhere():  # the journal's calls run in worker threads
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO events (data) VALUES ('x')"))
            seen.append(connection.connection.dbapi_connection)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert seen == [first]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 1
    engine.dispose()
