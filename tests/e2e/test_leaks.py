"""1,000 lookups of other buyers' orders through the customer channels: no leaks.

Each lookup is a fresh conversation that names an order that is not the
customer's own: a logged-in buyer naming someone else's order or tracking
number, an anonymous customer giving wrong phone digits or none, a sender id
claiming a buyer without a token, and a conversation whose order was found
for its owner and then continues as someone else. A leak is any fact of the
order the customer did not type (goods, tracking number, tracking events,
who signed, receiver, phone, address) in any reply. Most lookups go over REST,
a share over socket.io (the widget's channel).
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import pytest
import requests
import socketio
from sqlalchemy import delete

from bot.access.identity import sign
from bot.settings import PROJECT_ROOT, utcnow
from bot.shop.sample_data import seed
from bot.shop.schema import AccessCheck
from bot.shop.store import OrderFacts, OrderStore
from tests.helpers.servers import BUYER_SECRET

pytestmark = pytest.mark.e2e

LOOKUPS = int(os.environ.get("LEAK_LOOKUPS", "1000"))
SOCKET_SHARE = 10  # every 10th lookup goes over socket.io
ASKS = [
    "订单{n}到哪了", "{n} 显示签收了但我没收到", "你们发错货了，订单号{n}", "订单{n}收到的东西坏了",
    "{n}已经发货了我不想要了能退款吗", "{n}", "帮我查下{n}的物流", "订单{n}少发了赠品",
    "订单{n}的地址能改吗", "订单{n}降价了能退差价吗", "{n}退款到哪一步了", "转人工 {n}",
]
FOLLOW_UPS = ["到哪了", "就是这个订单", "签收人是谁", "发的什么货", "地址是哪里", "好的"]


def secrets_of(order: OrderFacts) -> Set[str]:
    """What only someone allowed to see ``order`` could learn from a reply."""
    facts = {order.phone, order.buyer_name, order.address}
    facts |= {f"{i.name}（{i.variant}）" if i.variant else i.name for i in order.items}
    if order.shipment is not None:
        facts.add(order.shipment.tracking_number)
        facts |= {e.description for e in order.shipment.events}
        if order.shipment.signed_by:
            facts.add(f"签收人：{order.shipment.signed_by}")
    return {f for f in facts if f}


@dataclass
class Lookup:
    kind: str
    order: OrderFacts
    turns: List[Dict[str, object]]
    typed: Set[str] = field(default_factory=set)
    socket: bool = False
    asker: Optional[str] = None  # the logged-in buyer asking, if any: their own orders are theirs to see


def plan(orders: List[OrderFacts], buyers: List[str], rng: random.Random) -> List[Lookup]:
    lookups: List[Lookup] = []
    for i in range(LOOKUPS):
        order = rng.choice(orders)
        number = order.order_id
        if order.shipment is not None and rng.random() < 0.3:
            number = order.shipment.tracking_number
        ask = rng.choice(ASKS).format(n=number)
        others = [b for b in buyers if b != order.buyer_account]
        kind = ["other_buyer", "wrong_phone", "no_phone", "claimed_sender", "switched"][i % 5]
        asker = rng.choice(others)
        if kind == "other_buyer":
            token = sign(asker, BUYER_SECRET, utcnow())
            turns = [{"text": ask, "token": token}, {"text": rng.choice(FOLLOW_UPS), "token": token}]
        elif kind == "wrong_phone":
            tail = rng.choice([t for t in (f"{rng.randrange(10000):04d}" for _ in range(3)) if t != order.phone[-4:]] or ["0000"])
            turns = [{"text": ask}, {"text": f"尾号{tail}"}, {"text": rng.choice(FOLLOW_UPS)}]
        elif kind == "no_phone":
            turns = [{"text": ask}, {"text": rng.choice(FOLLOW_UPS)}]
        elif kind == "claimed_sender":  # the sender id is the owner's account, no token
            turns = [{"text": ask, "sender": order.buyer_account}, {"text": rng.choice(FOLLOW_UPS)}]
        else:  # found for its owner, then the same conversation goes on as someone else
            owner = sign(order.buyer_account, BUYER_SECRET, utcnow())
            if rng.random() < 0.5:
                asker = None  # logged out
            someone = sign(asker, BUYER_SECRET, utcnow()) if asker else None
            turns = [{"text": ask, "token": owner, "owner": True},
                     {"text": rng.choice(FOLLOW_UPS), "token": someone},
                     {"text": rng.choice(ASKS[:5]).format(n=number), "token": someone}]
        if kind not in ("other_buyer", "switched"):
            asker = None
        lookups.append(Lookup(kind, order, turns, typed={number}, socket=i % SOCKET_SHARE == 0, asker=asker))
    return lookups


def rest_turn(url: str, sender: str, text: str, token: Optional[str]) -> List[str]:
    metadata = {"buyer_token": token} if token else {}
    response = requests.post(
        f"{url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": metadata}, timeout=60,
    )
    response.raise_for_status()
    return [m.get("text", "") for m in response.json()]


class SocketCustomer:
    """The widget's side of Rasa's socket.io channel."""

    def __init__(self, url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.replies: List[str] = []
        self.arrived = threading.Event()
        self.client.on("bot_uttered", self._on_reply)
        self.client.connect(url, transports=["polling"], wait_timeout=20)
        self.session = uuid.uuid4().hex
        self.client.emit("session_request", {"session_id": self.session})

    def _on_reply(self, data: Dict[str, object]) -> None:
        self.replies.append(str(data.get("text", "")))
        self.arrived.set()

    def turn(self, text: str, token: Optional[str]) -> List[str]:
        start = len(self.replies)
        self.arrived.clear()
        self.client.emit("user_uttered", {
            "message": text, "session_id": self.session,
            "customData": {"buyer_token": token} if token else {},
        })
        self.arrived.wait(30)
        while self.arrived.wait(0.4):  # the rest of this turn's messages
            self.arrived.clear()
        return self.replies[start:]

    def close(self) -> None:
        self.client.disconnect()


def run_lookup(url: str, lookup: Lookup) -> List[str]:
    """The replies a customer who may not see the order got (the owner's own turn excluded)."""
    seen: List[str] = []
    customer = SocketCustomer(url) if lookup.socket else None
    sender = f"leak-{uuid.uuid4().hex[:12]}"
    try:
        for turn in lookup.turns:
            token = turn.get("token")
            if customer is not None:
                replies = customer.turn(str(turn["text"]), token if isinstance(token, str) else None)
            else:
                replies = rest_turn(url, str(turn.get("sender", sender)), str(turn["text"]),
                                    token if isinstance(token, str) else None)
            if not turn.get("owner"):
                seen.extend(replies)
    finally:
        if customer is not None:
            customer.close()
    return seen


@pytest.fixture
def clean_phone_checks(shop):
    """Wrong phone digits lock orders for an hour: unlock them for the other tests."""
    yield
    store = OrderStore.from_url(shop.db)
    with store.session() as s, s.begin():
        s.execute(delete(AccessCheck))
    store.engine.dispose()


def test_a_thousand_lookups_of_other_buyers_orders_leak_nothing(rasa_url, shop, clean_phone_checks, tmp_path):
    reference = OrderStore.from_url(f"sqlite:///{tmp_path / 'reference.db'}")
    seed(reference, utcnow())
    orders = list(reference.all_orders())
    buyers = sorted({o.buyer_account for o in orders})
    lookups = plan(orders, buyers, random.Random(20261111))

    with ThreadPoolExecutor(max_workers=6) as pool:
        seen = list(pool.map(lambda lookup: run_lookup(rasa_url, lookup), lookups))

    own: Dict[str, Set[str]] = {b: set() for b in buyers}
    for order in orders:
        own[order.buyer_account] |= secrets_of(order)
    leaks, silent = [], 0
    for lookup, replies in zip(lookups, seen, strict=True):
        text = "\n".join(replies)
        silent += not text.strip()
        hidden = secrets_of(lookup.order) - lookup.typed - own.get(lookup.asker or "", set())
        found = sorted(f for f in hidden if f in text)
        if found:
            leaks.append((lookup.kind, lookup.order.order_id, found, text[:300]))
    by_kind = {k: sum(1 for lookup in lookups if lookup.kind == k) for k in sorted({x.kind for x in lookups})}
    report = PROJECT_ROOT / "reports" / "leaks.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(
        "# Leak test\n\n"
        f"{len(lookups)} lookups of other buyers' orders ({sum(x.socket for x in lookups)} over socket.io, "
        f"the rest over REST); by kind: {by_kind}.\n\nleaks: {len(leaks)}\n"
        + "".join(f"\n- {kind} {order_id}: {found}\n  {text!r}\n" for kind, order_id, found, text in leaks),
        encoding="utf-8",
    )
    print(f"leak test: lookups={len(lookups)} leaks={len(leaks)} kinds={by_kind}")
    assert not leaks, leaks[:5]
    # the customers were answered (asked for the number or the phone, told
    # nothing was found), not left in silence; "转人工" may pause a conversation
    assert silent <= LOOKUPS // len(ASKS) * 2
