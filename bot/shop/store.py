"""The order store: one interface over SQLAlchemy (SQLite by default, any URL).

Callers get plain, immutable facts (``OrderFacts``), never ORM objects, so the
rest of ``bot/`` and the actions do not hold database sessions.
"""

from __future__ import annotations

import enum
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterator, List, Optional, Tuple

from sqlalchemy import create_engine, event, func, inspect, select, update
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import private_sqlite, sqlite_busy_timeout
from bot.shop.schema import AccessCheck, Base, Buyer, Item, Order, OrderNote, Shipment, Variant


class OrderState(str, enum.Enum):
    """Where an order stands in its life; stored in ``orders.status``."""

    NOT_SHIPPED = "not_shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    SIGNED = "signed"
    REFUSED_RETURNING = "refused_returning"
    RETURNED = "returned"
    REFUNDED = "refunded"


SHIPPED_NOT_SIGNED = (OrderState.IN_TRANSIT, OrderState.OUT_FOR_DELIVERY)


@dataclass(frozen=True)
class ItemFacts:
    product_id: int
    name: str
    variant: str
    quantity: int
    price_paid: Decimal
    current_price: Decimal
    is_gift: bool

    @property
    def label(self) -> str:
        variant = f"（{self.variant}）" if self.variant else ""
        return f"{self.name}{variant}×{self.quantity}"


@dataclass(frozen=True)
class EventFacts:
    time: datetime
    place: str
    description: str


@dataclass(frozen=True)
class ShipmentFacts:
    courier: str
    tracking_number: str
    shipped_at: datetime
    eta: Optional[datetime]
    signed_at: Optional[datetime]
    signed_by: Optional[str]
    events: Tuple[EventFacts, ...] = ()

    @property
    def last_event(self) -> Optional[EventFacts]:
        return self.events[-1] if self.events else None


@dataclass(frozen=True)
class NoteFacts:
    """A note on the order; with ``due_at``, a promise made to the customer and not kept
    yet (read from the case's promise the note refers to, never stored on the note)."""

    kind: str
    text: str
    created_at: datetime
    author: str
    due_at: Optional[datetime] = None


@dataclass(frozen=True)
class OrderFacts:
    order_id: str
    buyer_account: str
    buyer_name: str
    state: OrderState
    created_at: datetime
    paid_at: Optional[datetime]
    ship_by: Optional[datetime]
    shipping_fee: Decimal
    cash_on_delivery: bool
    address: str
    items: Tuple[ItemFacts, ...]
    phone: str = ""  # the receiver's phone
    shipment: Optional[ShipmentFacts] = None
    refunded_at: Optional[datetime] = None
    refund_amount: Optional[Decimal] = None
    returned_at: Optional[datetime] = None  # the return reached the warehouse
    notes: Tuple[NoteFacts, ...] = ()

    def promise(self, kind: str) -> Optional[NoteFacts]:
        """The latest promise of this kind made on the order and not kept (a promise is
        written once per case and never moved, so this is the one the open case gave)."""
        return next((n for n in reversed(self.notes) if n.kind == kind and n.due_at is not None), None)

    def noted(self, kind: str) -> bool:
        return any(n.kind == kind for n in self.notes)

    @property
    def goods(self) -> Tuple[ItemFacts, ...]:
        return tuple(i for i in self.items if not i.is_gift)

    @property
    def gifts(self) -> Tuple[ItemFacts, ...]:
        return tuple(i for i in self.items if i.is_gift)

    @property
    def amount_paid(self) -> Decimal:
        goods = sum((i.price_paid * i.quantity for i in self.items), Decimal("0"))
        return goods + self.shipping_fee


@dataclass(frozen=True)
class BuyerFacts:
    account: str
    name: str
    order_ids: Tuple[str, ...] = field(default_factory=tuple)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys and a busy timeout.

    A SQLite file keeps a few open connections (SQLAlchemy 1.4 would open one
    per session) and writes ahead (WAL, synced at checkpoints): a commit
    survives a killed process, and readers do not wait for a writer. Its file
    is owner-only (0600) whatever the umask (``settings.private_sqlite``).
    """
    if url.startswith("sqlite"):
        private_sqlite(url)
        in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
        pooling = {} if in_memory else {"poolclass": QueuePool, "pool_size": 4, "max_overflow": 8}
        engine = create_engine(
            url, connect_args={"timeout": sqlite_busy_timeout(), "check_same_thread": False},
            future=True, **pooling,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        if not in_memory:
            write_ahead(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, future=True)


def pooled(engine: Engine) -> None:
    """Keep a few connections of an SQLite file engine made elsewhere (Rasa's SQL tracker
    store: channels/runtime.py) open, as ``make_engine`` does: SQLAlchemy 1.4 gives a file
    database a ``NullPool``, which opens a new connection for every session (and Rasa's
    tracker store opens one to load a tracker and one to save it). Same connection
    arguments, plus ``check_same_thread=False``: a pooled connection is used by one thread
    at a time, not always the one that opened it. Call it before adding ``connect``
    listeners (``write_ahead``): they belong to the pool."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams = {**cparams, "check_same_thread": False}
    engine.pool = QueuePool(lambda: engine.dialect.connect(*cargs, **cparams),
                            pool_size=4, max_overflow=8, dialect=engine.dialect)


def write_ahead(engine: Engine) -> None:
    """Every new connection of an SQLite file engine writes ahead (WAL) and syncs at
    checkpoints (synchronous=NORMAL) instead of at every commit: a commit survives a
    killed process (only a power cut may lose the last ones), and readers do not wait
    for a writer. Also for an engine made elsewhere (Rasa's SQL tracker store:
    channels/runtime.py)."""

    @event.listens_for(engine, "connect")
    def _write_ahead(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class OutdatedSchema(RuntimeError):
    """The database was made by an older version of the schema."""


class OrderStore:
    """Looks orders and buyers up; the engine is passed in explicitly."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> OrderStore:
        return cls(make_engine(url))

    def create_schema(self) -> None:
        """Create missing tables; add a missing column that may be empty (one added
        since, like feedback.chosen_intent); refuse a database otherwise older."""
        Base.metadata.create_all(self.engine)
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
            missing = [c for c in table.columns if c.name not in have]
            with self.engine.begin() as connection:
                for column in [c for c in missing if c.nullable and c.default is None]:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    connection.execute(sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))
            missing = [c.name for c in missing if not (c.nullable and c.default is None)]
            if missing:
                raise OutdatedSchema(
                    f"the shop database lacks {table.name}.{', '.join(missing)} (made by an "
                    "older version): re-create it with `python -m bot init-db --reset`"
                )

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed at the end, rolled back on any error."""
        with self.session() as s, s.begin():
            yield s

    def is_empty(self) -> bool:
        with self.session() as s:
            return s.execute(select(Order.id).limit(1)).first() is None

    # -- lookups ---------------------------------------------------------------

    def get_order(self, order_id: str) -> Optional[OrderFacts]:
        with self.session() as s:
            order = s.execute(_order_query().where(Order.id == order_id)).unique().scalar()
            return _to_facts(order) if order else None

    def order_by_tracking_number(self, tracking_number: str) -> Optional[OrderFacts]:
        with self.session() as s:
            order = s.execute(
                _order_query()
                .join(Shipment, Shipment.order_id == Order.id)
                .where(Shipment.tracking_number == tracking_number.upper())
            ).unique().scalar()
            return _to_facts(order) if order else None

    def buyer(self, account: str) -> Optional[BuyerFacts]:
        with self.session() as s:
            buyer = s.execute(select(Buyer).where(Buyer.account == account)).scalar()
            if buyer is None:
                return None
            return BuyerFacts(
                account=buyer.account,
                name=buyer.name,
                order_ids=tuple(o.id for o in buyer.orders),
            )

    def has_buyer(self, account: str) -> bool:
        """Whether the shop knows this buyer (one indexed read)."""
        with self.session() as s:
            return s.execute(select(Buyer.id).where(Buyer.account == account).limit(1)).first() is not None

    def buyers(self) -> List[BuyerFacts]:
        with self.session() as s:
            return [
                BuyerFacts(account=b.account, name=b.name)
                for b in s.execute(select(Buyer).order_by(Buyer.id)).scalars()
            ]

    def orders_of_buyer(self, account: str) -> List[OrderFacts]:
        """The buyer's orders, newest first."""
        with self.session() as s:
            orders = s.execute(
                _order_query()
                .join(Buyer, Buyer.id == Order.buyer_id)
                .where(Buyer.account == account)
                .order_by(Order.created_at.desc())
            ).unique().scalars()
            return [_to_facts(o) for o in orders]

    def recent_orders(
        self, account: str, now: datetime, days: int = 30
    ) -> List[OrderFacts]:
        since = now - timedelta(days=days)
        return [o for o in self.orders_of_buyer(account) if o.created_at >= since]

    def variants(self, product_id: int) -> List[Tuple[str, int]]:
        """A product's variants as (name, stock)."""
        with self.session() as s:
            rows = s.execute(
                select(Variant.name, Variant.stock)
                .where(Variant.product_id == product_id)
                .order_by(Variant.id)
            ).all()
            return [(name, stock) for name, stock in rows]

    def change_address(self, order_id: str, address: str, session: Optional[Session] = None) -> bool:
        """Change the delivery address; only an order not yet shipped can change.

        With ``session`` the change is part of the caller's transaction.
        """
        with (nullcontext(session) if session is not None else self.transaction()) as s:
            result = s.execute(
                update(Order)
                .where(Order.id == order_id, Order.status == OrderState.NOT_SHIPPED.value)
                .values(address=address)
            )
            return bool(result.rowcount)

    def add_note(
        self,
        order_id: str,
        kind: str,
        text: str,
        now: datetime,
        promise_id: Optional[int] = None,
        author: str = "assistant",
        session: Optional[Session] = None,
    ) -> None:
        """Write a note (插旗备注) on the order, about the case's promise ``promise_id`` if
        given (``bot.shop.cases``); in ``session``'s transaction if given."""
        with (nullcontext(session) if session is not None else self.transaction()) as s:
            s.add(OrderNote(order_id=order_id, kind=kind, text=text, promise_id=promise_id,
                            author=author, created_at=now))

    # -- phone checks of anonymous customers ------------------------------------

    def record_access_check(self, key: str, ok: bool, at: datetime) -> None:
        with self.session() as s, s.begin():
            s.add(AccessCheck(key=key, ok=ok, at=at))

    def failed_access_checks(self, key: str, since: datetime) -> int:
        with self.session() as s:
            return int(
                s.execute(
                    select(func.count(AccessCheck.id)).where(
                        AccessCheck.key == key, AccessCheck.ok.is_(False), AccessCheck.at >= since
                    )
                ).scalar_one()
            )

    def all_orders(self) -> Iterator[OrderFacts]:
        with self.session() as s:
            for order in s.execute(
                _order_query().order_by(Order.buyer_id, Order.created_at)
            ).unique().scalars():
                yield _to_facts(order)


def _order_query():
    # everything in one query (results need .unique()): an order has a few items, tracking
    # events and notes, and one round trip costs a quarter of the CPU of four (selectin:
    # 2.1 ms per order, joined: 0.56 ms, measured in docs/performance.md)
    return select(Order).options(
        joinedload(Order.buyer),
        joinedload(Order.items).joinedload(Item.product),
        joinedload(Order.shipment).joinedload(Shipment.events),
        joinedload(Order.notes).joinedload(OrderNote.promise),
    )


def _to_facts(order: Order) -> OrderFacts:
    shipment = None
    if order.shipment is not None:
        sh = order.shipment
        shipment = ShipmentFacts(
            courier=sh.courier,
            tracking_number=sh.tracking_number,
            shipped_at=sh.shipped_at,
            eta=sh.eta,
            signed_at=sh.signed_at,
            signed_by=sh.signed_by,
            events=tuple(
                EventFacts(time=e.time, place=e.place, description=e.description)
                for e in sh.events
            ),
        )
    return OrderFacts(
        order_id=order.id,
        buyer_account=order.buyer.account,
        buyer_name=order.buyer.name,
        state=OrderState(order.status),
        created_at=order.created_at,
        paid_at=order.paid_at,
        ship_by=order.ship_by,
        shipping_fee=Decimal(order.shipping_fee),
        cash_on_delivery=bool(order.cash_on_delivery),
        address=order.address,
        phone=order.phone or "",
        items=tuple(
            ItemFacts(
                product_id=i.product_id,
                name=i.product.name,
                variant=i.variant,
                quantity=i.quantity,
                price_paid=Decimal(i.price_paid),
                current_price=Decimal(i.product.current_price),
                is_gift=bool(i.is_gift),
            )
            for i in order.items
        ),
        shipment=shipment,
        refunded_at=order.refunded_at,
        refund_amount=(
            Decimal(order.refund_amount) if order.refund_amount is not None else None
        ),
        returned_at=order.returned_at,
        notes=tuple(
            NoteFacts(kind=n.kind, text=n.text, created_at=n.created_at, author=n.author,
                      due_at=n.promise.due_at if n.promise is not None and n.promise.kept_at is None else None)
            for n in order.notes
        ),
    )
