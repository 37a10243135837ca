from decimal import Decimal

from bot.lookup import lookup_order
from bot.store import OrderState
from tests.conftest import NOW


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
    from bot.sample_data import seed

    before = len(list(store.all_orders()))
    assert seed(store, NOW) == 0
    assert len(list(store.all_orders())) == before


def test_lookup_by_order_or_tracking_number(store):
    assert lookup_order(store, "订单 3027461958302746518", None).order.order_id == "3027461958302746518"
    assert lookup_order(store, "sf1402938475610", None).order.order_id == "1829374650192837465"


def test_a_known_buyer_never_sees_another_buyers_order(store):
    found = lookup_order(store, "3027461958302746518", "chen_hao")
    assert found.status == "unknown" and found.order is None
    assert lookup_order(store, "SF1402938475610", "lin_xiaoyu").order is None


def test_unknown_and_malformed_numbers(store):
    assert lookup_order(store, "1111222233334444555", None).status == "unknown"
    malformed = lookup_order(store, "12345678", None)
    assert malformed.status == "malformed" and malformed.problem.kind == "too_short"


def test_recent_orders_are_the_buyers_own_in_the_window(store):
    # chen_hao has one order this month and one 75 days old
    assert [o.order_id for o in store.recent_orders("chen_hao", NOW, 30)] == ["1829374650192837465"]
    assert len(store.recent_orders("lin_xiaoyu", NOW, 30)) == 3
    assert store.recent_orders("nobody", NOW, 30) == []
