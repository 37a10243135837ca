"""Deterministic sample shop: every order state, several orders per buyer.

Times are offsets from ``now`` (naive UTC) so the sample stays meaningful
whenever the database is created: an order "in transit since yesterday" is
in transit since the day before the database was seeded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import select

from bot.shop.schema import Buyer, Item, Order, Product, Shipment, TrackingEvent, Variant
from bot.shop.store import OrderState, OrderStore

BUYERS = [
    # account, name, phone, address
    ("lin_xiaoyu", "林小雨", "13812345678", "上海市浦东新区张江路 88 弄 6 号 1202 室"),
    ("chen_hao", "陈浩", "13998765432", "北京市海淀区中关村南大街 5 号 3 单元 401"),
    ("wang_fang", "王芳", "13700001111", "广州市天河区体育西路 191 号 2008 房"),
    ("zhao_lei", "赵磊", "15866668888", "成都市武侯区天府大道北段 966 号 7 栋"),
    ("liu_yang", "刘洋", "18600002222", "杭州市西湖区文三路 259 号 B 座 1506"),
    # the edges: orders whose data is missing or whose dates have passed
    ("sun_mei", "孙梅", "13566667777", "南京市鼓楼区中山北路 30 号 2 栋 602"),
]

PRODUCTS = {
    # key: (name, current price)
    "cardigan": ("羊毛混纺针织开衫", "239.00"),
    "lcarnitine": ("左旋肉碱胶囊", "129.00"),
    "aloe": ("芦荟胶", "39.90"),
    "rose_oil": ("红色玫瑰 OTTO 精油胶囊", "168.00"),
    "mask": ("补水面膜", "29.90"),
    "cup": ("316 不锈钢保温杯", "89.00"),
    "kettle": ("电热水壶", "159.00"),  # price dropped from 199
    "sample": ("旅行装小样", "0.00"),
}

# Variants with their stock, for exchanges; products not listed have one variant.
VARIANTS = {
    "cardigan": [
        ("燕麦色 S", 5), ("燕麦色 M", 8), ("燕麦色 L", 6), ("燕麦色 XL", 0),
        ("藏青色 S", 3), ("藏青色 M", 0), ("藏青色 L", 4), ("藏青色 XL", 2),
    ],
    "cup": [("雾蓝色", 20), ("樱花粉", 12), ("奶白色", 0)],
}

H = timedelta(hours=1)
D = timedelta(days=1)


# Every sample order: buyer, id, state, age, items, shipment.
# items: (product key, variant, quantity, unit price paid, is_gift)
# shipment: (courier, tracking number, shipped before now, eta after now or None,
#            signed before now or None, signed by, [(hours before now, place, text)])

ORDERS: List[Dict[str, Any]] = [
    {
        "buyer": "lin_xiaoyu",
        "id": "3027461958302746518",
        "state": OrderState.IN_TRANSIT,
        "age": 3 * D,
        "items": [("cardigan", "燕麦色 M", 1, "239.00", False)],
        "shipment": (
            "中通快递", "773029384756102", 2 * D, 1 * D, None, None,
            [
                (46, "杭州市", "【杭州市】快件已由杭州余杭仓揽收"),
                (40, "杭州市", "【杭州市】快件已发往 上海转运中心"),
                (20, "上海市", "【上海市】快件已到达 上海转运中心"),
                (6, "上海市", "【上海市】快件已发往 上海浦东张江网点"),
            ],
        ),
    },
    {
        "buyer": "lin_xiaoyu",
        "id": "3027461958302749902",
        "state": OrderState.SIGNED,
        "age": 6 * D,
        "items": [
            ("lcarnitine", "60粒", 2, "129.00", False),
            ("sample", "试用装", 1, "0.00", True),
        ],
        "shipment": (
            "圆通速递", "YT7391028374651", 5 * D, None, 3 * D, "本人",
            [
                (118, "杭州市", "【杭州市】圆通速递 杭州余杭仓 已揽收"),
                (96, "上海市", "【上海市】快件已到达 上海浦东转运中心"),
                (75, "上海市", "【上海市】快件派送中，派件员：周师傅 13511112222"),
                (72, "上海市", "【上海市】快件已签收，签收人：本人"),
            ],
        ),
    },
    {
        "buyer": "lin_xiaoyu",
        "id": "3027461958302751137",
        "state": OrderState.NOT_SHIPPED,
        "age": 20 * H,
        "items": [("mask", "5片装", 2, "29.90", False)],
        "shipment": None,
    },
    {
        "buyer": "chen_hao",
        "id": "1829374650192837465",
        "state": OrderState.SIGNED,
        "age": 4 * D,
        "items": [
            ("aloe", "120g", 1, "39.90", False),
            ("mask", "赠品 1片", 1, "0.00", True),
        ],
        "shipment": (
            "顺丰速运", "SF1402938475610", 3 * D, None, 1 * D, "丰巢快递柜",
            [
                (70, "杭州市", "【杭州市】顺丰速运 已收取快件"),
                (50, "北京市", "【北京市】快件到达 北京顺义集散中心"),
                (30, "北京市", "【北京市】快件交给李师傅，正在派送途中"),
                (24, "北京市", "【北京市】快件已放入中关村南大街5号院丰巢快递柜，取件码已发送"),
            ],
        ),
    },
    {
        "buyer": "chen_hao",
        "id": "1829374650190011223",
        "state": OrderState.SIGNED,
        "age": 75 * D,
        "items": [("cup", "雾蓝色", 1, "89.00", False)],
        "shipment": (
            "韵达快递", "432019283746510", 74 * D, None, 72 * D, "本人",
            [
                (74 * 24, "杭州市", "【杭州市】韵达快递 已揽收"),
                (72 * 24, "北京市", "【北京市】快件已签收，签收人：本人"),
            ],
        ),
    },
    {
        "buyer": "wang_fang",
        "id": "2938475610293847561",
        "state": OrderState.OUT_FOR_DELIVERY,
        "age": 2 * D,
        "items": [("rose_oil", "90粒", 1, "168.00", False)],
        "shipment": (
            "顺丰速运", "SF1402938475999", 1 * D, 4 * H, None, None,
            [
                (22, "杭州市", "【杭州市】顺丰速运 已收取快件"),
                (9, "广州市", "【广州市】快件到达 广州天河集散中心"),
                (1.5, "广州市", "【广州市】快件交给黄师傅，正在派送途中（电话 13622223333）"),
            ],
        ),
    },
    {
        "buyer": "wang_fang",
        "id": "2938475610293840001",
        "state": OrderState.SIGNED,
        "age": 5 * D,
        "items": [("cardigan", "藏青色 L", 1, "239.00", False)],
        "shipment": (
            "申通快递", "668812345678901", 4 * D, None, 2 * D, "小区门卫",
            [
                (94, "杭州市", "【杭州市】申通快递 已揽收"),
                (60, "广州市", "【广州市】快件到达 广州白云分拨中心"),
                (49, "广州市", "【广州市】快件派送中"),
                (48, "广州市", "【广州市】已签收，签收人：小区门卫（代收）"),
            ],
        ),
    },
    {
        "buyer": "wang_fang",
        "id": "2938475610293835555",
        "state": OrderState.SIGNED,
        "age": 13 * D,
        "items": [("cup", "樱花粉", 1, "89.00", False)],
        "shipment": (
            "韵达快递", "432019283746777", 12 * D, None, 10 * D, "本人",
            [
                (12 * 24, "杭州市", "【杭州市】韵达快递 已揽收"),
                (10 * 24, "广州市", "【广州市】快件已签收，签收人：本人"),
            ],
        ),
    },
    {
        "buyer": "zhao_lei",
        "id": "5566778899001122334",
        "state": OrderState.REFUSED_RETURNING,
        "age": 6 * D,
        "items": [("kettle", "白色", 1, "199.00", False)],
        "shipment": (
            "京东快递", "JDVA10293847561", 5 * D, None, None, None,
            [
                (118, "杭州市", "【杭州市】京东快递 已揽收"),
                (80, "成都市", "【成都市】快件派送中"),
                (78, "成都市", "【成都市】客户拒收，快件退回中"),
                (30, "西安市", "【西安市】退回件已到达 西安分拣中心"),
            ],
        ),
    },
    {
        "buyer": "zhao_lei",
        "id": "5566778899001100778",
        "state": OrderState.RETURNED,
        "age": 16 * D,
        "items": [("rose_oil", "90粒", 1, "168.00", False)],
        "shipment": (
            "圆通速递", "YT7391028370000", 15 * D, None, 12 * D, "本人",
            [
                (15 * 24, "杭州市", "【杭州市】圆通速递 已揽收"),
                (12 * 24, "成都市", "【成都市】快件已签收，签收人：本人"),
                (2 * 24, "杭州市", "【杭州市】退货已由 小鹿优选售后仓 签收"),
            ],
        ),
        "returned": 2 * D,
    },
    {
        "buyer": "zhao_lei",
        "id": "5566778899001155660",
        "state": OrderState.REFUNDED,
        "age": 25 * D,
        "items": [("aloe", "120g", 2, "39.90", False)],
        "returned": 9 * D,
        "shipment": (
            "中通快递", "773029384700001", 24 * D, None, 21 * D, "本人",
            [
                (24 * 24, "杭州市", "【杭州市】中通快递 已揽收"),
                (21 * 24, "成都市", "【成都市】快件已签收，签收人：本人"),
            ],
        ),
        "refunded": (8 * D, "79.80"),
    },
    {
        "buyer": "liu_yang",
        "id": "7700112233445566778",
        "state": OrderState.SIGNED,
        "age": 3 * D,
        "items": [
            ("kettle", "白色", 1, "199.00", False),
            ("cup", "雾蓝色", 1, "89.00", False),
            ("mask", "赠品 1片", 2, "0.00", True),
        ],
        "shipment": (
            "极兔速递", "JT0012345678901", 2 * D, None, 20 * H, "家人代签（刘阿姨）",
            [
                (46, "杭州市", "【杭州市】极兔速递 已揽收"),
                (30, "杭州市", "【杭州市】快件到达 杭州西湖网点"),
                (21, "杭州市", "【杭州市】快件派送中"),
                (20, "杭州市", "【杭州市】快件已签收，签收人：家人代签（刘阿姨）"),
            ],
        ),
    },
    {
        "buyer": "liu_yang",
        "id": "7700112233445500991",
        "state": OrderState.NOT_SHIPPED,
        "age": 2 * D,
        "items": [("rose_oil", "90粒 双11预售", 1, "148.00", False)],
        "shipment": None,
        "ship_by": -2 * D,  # campaign ships two days from now
    },
    # -- edges (sun_mei) ---------------------------------------------------------
    {   # the label is printed and the parcel picked up: no tracking event, no ETA yet
        "buyer": "sun_mei",
        "id": "8801234567890000101",
        "state": OrderState.IN_TRANSIT,
        "age": 1 * D,
        "items": [("mask", "5片装", 1, "29.90", False)],
        "shipment": ("韵达快递", "432019283700101", 3 * H, None, None, None, []),
    },
    {   # out for delivery, the courier gave no ETA
        "buyer": "sun_mei",
        "id": "8801234567890000909",
        "state": OrderState.OUT_FOR_DELIVERY,
        "age": 2 * D,
        "items": [("aloe", "120g", 1, "39.90", False)],
        "shipment": (
            "邮政EMS", "EA902938475CN", 1 * D, None, None, None,
            [(2, "南京市", "【南京市】快件派送中")],
        ),
    },
    {   # not paid yet
        "buyer": "sun_mei",
        "id": "8801234567890000202",
        "state": OrderState.NOT_SHIPPED,
        "age": 2 * H,
        "items": [("cup", "樱花粉", 1, "89.00", False)],
        "shipment": None,
        "unpaid": True,
    },
    {   # paid three days ago: the ship-within-hours promise has passed
        "buyer": "sun_mei",
        "id": "8801234567890000303",
        "state": OrderState.NOT_SHIPPED,
        "age": 3 * D,
        "items": [("lcarnitine", "60粒", 1, "129.00", False)],
        "shipment": None,
    },
    {   # a campaign order whose shipping date passed yesterday
        "buyer": "sun_mei",
        "id": "8801234567890000404",
        "state": OrderState.NOT_SHIPPED,
        "age": 6 * D,
        "items": [("rose_oil", "90粒 双11预售", 1, "148.00", False)],
        "shipment": None,
        "ship_by": 1 * D,
    },
    {   # the return reached the warehouse five days ago and is still not refunded
        "buyer": "sun_mei",
        "id": "8801234567890000505",
        "state": OrderState.RETURNED,
        "age": 14 * D,
        "items": [("cardigan", "燕麦色 L", 1, "239.00", False)],
        "shipment": (
            "申通快递", "668812345670505", 13 * D, None, 11 * D, "本人",
            [(13 * 24, "杭州市", "【杭州市】申通快递 已揽收"),
             (11 * 24, "南京市", "【南京市】快件已签收，签收人：本人")],
        ),
        "returned": 5 * D,
    },
    {   # cancelled before shipping and refunded: no parcel ever left
        "buyer": "sun_mei",
        "id": "8801234567890000606",
        "state": OrderState.REFUNDED,
        "age": 4 * D,
        "items": [("kettle", "白色", 1, "199.00", False)],
        "shipment": None,
        "refunded": (3 * D, "199.00"),
    },
    {   # one of two items returned and refunded: a partial refund
        "buyer": "sun_mei",
        "id": "8801234567890000707",
        "state": OrderState.REFUNDED,
        "age": 12 * D,
        "items": [("cup", "雾蓝色", 1, "89.00", False), ("aloe", "120g", 1, "39.90", False)],
        "shipment": (
            "中通快递", "773029384700707", 11 * D, None, 9 * D, "本人",
            [(11 * 24, "杭州市", "【杭州市】中通快递 已揽收"),
             (9 * 24, "南京市", "【南京市】快件已签收，签收人：本人")],
        ),
        "returned": 3 * D,
        "refunded": (2 * D, "39.90"),
    },
    {   # cash on delivery, with gifts; the courier recorded no signer
        "buyer": "sun_mei",
        "id": "8801234567890000808",
        "state": OrderState.SIGNED,
        "age": 3 * D,
        "cash_on_delivery": True,
        "items": [
            ("lcarnitine", "60粒", 1, "129.00", False),
            ("sample", "试用装", 2, "0.00", True),
        ],
        "shipment": (
            "圆通速递", "YT7391028370808", 2 * D, None, 5 * H, None,
            [(47, "杭州市", "【杭州市】圆通速递 已揽收"), (5, "南京市", "【南京市】快件已签收")],
        ),
    },
    {   # paid this morning, not shipped: a size or colour can still change
        "buyer": "sun_mei",
        "id": "8801234567890001111",
        "state": OrderState.NOT_SHIPPED,
        "age": 5 * H,
        "items": [("cardigan", "燕麦色 S", 1, "239.00", False)],
        "shipment": None,
    },
    {   # refused and on its way back; only the pick-up was ever scanned
        "buyer": "sun_mei",
        "id": "8801234567890001010",
        "state": OrderState.REFUSED_RETURNING,
        "age": 5 * D,
        "items": [("cup", "奶白色", 1, "89.00", False)],
        "shipment": (
            "极兔速递", "JT0012345671010", 4 * D, None, None, None,
            [(95, "杭州市", "【杭州市】极兔速递 已揽收")],
        ),
    },
]


def seed(store: OrderStore, now: datetime) -> int:
    """Fill an empty store with the sample shop; returns the number of orders."""
    store.create_schema()
    if not store.is_empty():
        return 0
    with store.session() as s, s.begin():
        buyers = {}
        for account, name, phone, address in BUYERS:
            buyers[account] = Buyer(account=account, name=name, phone=phone, address=address)
            s.add(buyers[account])
        products = {}
        for key, (name, price) in PRODUCTS.items():
            products[key] = Product(
                name=name,
                current_price=Decimal(price),
                variants=[Variant(name=v, stock=n) for v, n in VARIANTS.get(key, [])],
            )
            s.add(products[key])
        for spec in ORDERS:
            s.add(_order(spec, buyers[spec["buyer"]], products, now))
    return len(ORDERS)


def _order(spec: Dict[str, Any], buyer: Buyer, products: Dict[str, Product], now: datetime) -> Order:
    created = now - spec["age"]
    ship_by = spec.get("ship_by")
    order = Order(
        id=spec["id"],
        buyer=buyer,
        status=spec["state"].value,
        created_at=created,
        paid_at=None if spec.get("unpaid") else created + timedelta(minutes=2),
        ship_by=(now - ship_by) if ship_by is not None else None,
        shipping_fee=Decimal("0.00"),
        cash_on_delivery=spec.get("cash_on_delivery", False),
        address=buyer.address,
        phone=buyer.phone,
        items=[_item(i, products) for i in spec["items"]],
    )
    if "refunded" in spec:
        ago, amount = spec["refunded"]
        order.refunded_at = now - ago
        order.refund_amount = Decimal(amount)
    if "returned" in spec:
        order.returned_at = now - spec["returned"]
    if spec["shipment"] is not None:
        order.shipment = _shipment(spec["shipment"], now)
    return order


def _item(spec: Sequence, products: Dict[str, Product]) -> Item:
    key, variant, quantity, price, is_gift = spec
    return Item(
        product=products[key],
        variant=variant,
        quantity=quantity,
        price_paid=Decimal(price),
        is_gift=is_gift,
    )


def _shipment(spec: Sequence, now: datetime) -> Shipment:
    courier, tracking, shipped, eta, signed, signed_by, events = spec
    return Shipment(
        courier=courier,
        tracking_number=tracking,
        shipped_at=now - shipped,
        eta=(now + eta) if eta is not None else None,
        signed_at=(now - signed) if signed is not None else None,
        signed_by=signed_by,
        events=[
            TrackingEvent(time=now - timedelta(hours=h), place=place, description=text)
            for h, place, text in events
        ],
    )


# -- copies of the sample buyers, for load runs --------------------------------------------
#
# A load run (scripts/bench.py) gives each simulated customer a copy of a sample buyer and
# of that buyer's orders: same goods, states, dates and phone, other account name, order
# numbers and tracking numbers. Cases and promises written on one customer's orders then
# never change what another customer is told. Copy k (1 ≤ k < 100000) puts "9" and k in
# five digits after the first two digits of an order number (after a tracking number's
# letters and first digit); the sample's own numbers have no "9" there, and the rest of
# each number is unique among them, so copies never collide with the sample or each other.

MAX_COPIES = 99_999


def _copied_number(number: str, k: int, keep: int) -> str:
    return number[:keep] + "9" + f"{k:05d}" + number[keep + 6:]


def _tracking_copy(tracking: str, k: int) -> str:
    letters = len(tracking) - len(tracking.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return _copied_number(tracking, k, letters + 1)


def copy_names(k: int) -> Dict[str, str]:
    """Copy ``k``'s name for every sample buyer account, order number and tracking number."""
    if not 1 <= k <= MAX_COPIES:
        raise ValueError(f"copy {k}: copies are numbered 1 to {MAX_COPIES}")
    names = {account: f"{account}_{k}" for account, *_ in BUYERS}
    for spec in ORDERS:
        names[spec["id"]] = _copied_number(spec["id"], k, 2)
        if spec["shipment"] is not None:
            names[spec["shipment"][1]] = _tracking_copy(spec["shipment"][1], k)
    return names


def owner(number: str) -> Optional[str]:
    """The sample buyer whose order has this order or tracking number."""
    for spec in ORDERS:
        if number == spec["id"] or (spec["shipment"] is not None and number == spec["shipment"][1]):
            return spec["buyer"]
    return None


def seed_copies(store: OrderStore, now: datetime, copies: Iterable[Tuple[int, str]]) -> int:
    """Add copy k of sample buyer ``account`` (with all of that buyer's orders) for each
    ``(k, account)``, to a store seeded with the sample shop; returns the number of orders."""
    people = {account: (name, phone, address) for account, name, phone, address in BUYERS}
    added = 0
    with store.session() as s, s.begin():
        products = {key: s.execute(select(Product).where(Product.name == name)).scalar_one()
                    for key, (name, _) in PRODUCTS.items()}
        for k, account in copies:
            names = copy_names(k)
            name, phone, address = people[account]
            buyer = Buyer(account=names[account], name=name, phone=phone, address=address)
            s.add(buyer)
            for spec in ORDERS:
                if spec["buyer"] != account:
                    continue
                shipment = spec["shipment"]
                if shipment is not None:
                    shipment = (shipment[0], names[shipment[1]], *shipment[2:])
                s.add(_order({**spec, "id": names[spec["id"]], "shipment": shipment}, buyer, products, now))
                added += 1
    return added
