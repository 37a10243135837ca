"""Database schema of the shop: buyers, products, orders, items, shipments, events.

Times are stored as naive UTC datetimes; they are shown in the shop's timezone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base: Any = declarative_base()


class Money(TypeDecorator):
    """An amount in yuan as ``Decimal``, stored exactly as integer fen."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int((Decimal(value) * 100).to_integral_value())

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value) / 100


class Buyer(Base):
    __tablename__ = "buyers"

    id = Column(Integer, primary_key=True)
    account = Column(String(64), unique=True, nullable=False)  # shop chat account
    name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=False)
    address = Column(Text, nullable=False)

    orders = relationship("Order", back_populates="buyer", order_by="Order.created_at")


class Product(Base):
    __tablename__ = "products"

    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    current_price = Column(Money, nullable=False)

    variants = relationship("Variant", order_by="Variant.id")


class Order(Base):
    __tablename__ = "orders"

    id = Column(String(19), primary_key=True)  # Taobao-style 16-19 digits
    buyer_id = Column(Integer, ForeignKey("buyers.id"), nullable=False, index=True)
    status = Column(String(24), nullable=False)  # see bot.shop.store.OrderState
    created_at = Column(DateTime, nullable=False)
    paid_at = Column(DateTime)
    ship_by = Column(DateTime)  # promised (or campaign) shipping date
    shipping_fee = Column(Money, nullable=False, default=0)
    cash_on_delivery = Column(Boolean, nullable=False, default=False)
    refunded_at = Column(DateTime)
    refund_amount = Column(Money)
    returned_at = Column(DateTime)  # the returned goods reached the shop's warehouse
    address = Column(Text, nullable=False)
    phone = Column(String(20), nullable=False, default="")  # the receiver's phone

    buyer = relationship("Buyer", back_populates="orders")
    items = relationship("Item", back_populates="order", order_by="Item.id")
    shipment = relationship("Shipment", back_populates="order", uselist=False)
    notes = relationship("OrderNote", back_populates="order", order_by="OrderNote.id")


class Item(Base):
    __tablename__ = "items"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(19), ForeignKey("orders.id"), nullable=False, index=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False)
    variant = Column(String(64), nullable=False, default="")  # colour / size / pack
    quantity = Column(Integer, nullable=False, default=1)
    price_paid = Column(Money, nullable=False)  # per unit, 0 for gifts
    is_gift = Column(Boolean, nullable=False, default=False)

    order = relationship("Order", back_populates="items")
    product = relationship("Product")


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(19), ForeignKey("orders.id"), nullable=False, unique=True)
    courier = Column(String(32), nullable=False)
    tracking_number = Column(String(32), nullable=False, unique=True, index=True)
    shipped_at = Column(DateTime, nullable=False)
    eta = Column(DateTime)
    signed_at = Column(DateTime)
    signed_by = Column(String(64))  # e.g. 本人, 家人代签, 丰巢快递柜, 小区门卫

    order = relationship("Order", back_populates="shipment")
    events = relationship(
        "TrackingEvent", back_populates="shipment", order_by="TrackingEvent.time"
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id = Column(Integer, primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id"), nullable=False, index=True)
    time = Column(DateTime, nullable=False)
    place = Column(String(64), nullable=False)
    description = Column(Text, nullable=False)

    shipment = relationship("Shipment", back_populates="events")


class Variant(Base):
    """A colour / size / pack of a product, with its stock (for exchanges)."""

    __tablename__ = "variants"

    id = Column(Integer, primary_key=True)
    product_id = Column(Integer, ForeignKey("products.id"), nullable=False, index=True)
    name = Column(String(64), nullable=False)
    stock = Column(Integer, nullable=False, default=0)


class OrderNote(Base):
    """A note on the order (插旗备注). A note about a promise made to the customer refers
    to it (``promise_id``): its due time is the case's promise, the one record of it."""

    __tablename__ = "order_notes"

    id = Column(Integer, primary_key=True)
    order_id = Column(String(19), ForeignKey("orders.id"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # what it is about: urgent, courier_answer, ...
    text = Column(Text, nullable=False)
    promise_id = Column(Integer, ForeignKey("promises.id"))  # the promise the note is about
    author = Column(String(64), nullable=False, default="assistant")
    created_at = Column(DateTime, nullable=False)

    order = relationship("Order", back_populates="notes")
    promise = relationship("Promise")


class Case(Base):
    """One after-sales case of the hand-over log (交接记录)."""

    __tablename__ = "cases"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    order_id = Column(String(19), ForeignKey("orders.id"))
    buyer_account = Column(String(64))
    intent = Column(String(48), nullable=False)
    state = Column(String(24), nullable=False)  # see bot.shop.cases.CaseState
    next_step = Column(Text, nullable=False, default="")
    note = Column(Text, nullable=False, default="")  # 插旗备注
    customer_message = Column(Text)  # a message left outside shift hours
    handler = Column(String(64), nullable=False, default="assistant")
    rating = Column(Integer)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    closed_at = Column(DateTime)
    # what kind of case for the agents' inbox ("complaint"; empty: an ordinary case),
    # how urgent (higher first; empty: 0), and to whom it went beyond the shift
    # ("supervisor") and why (the signs found, agent-facing)
    kind = Column(String(24))
    priority = Column(Integer)
    escalated_to = Column(String(24))
    escalation_reason = Column(Text)


class Attachment(Base):
    """A customer's photo on a case: re-encoded, stored under the uploads folder by its id."""

    __tablename__ = "attachments"

    id = Column(String(32), primary_key=True)  # random hex; also the file's name
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False)
    order_id = Column(String(19))
    kind = Column(String(8), nullable=False)  # jpeg / png / webp: the stored file's format
    width = Column(Integer, nullable=False)
    height = Column(Integer, nullable=False)
    size = Column(Integer, nullable=False)  # bytes of the stored (re-encoded) file
    sha256 = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)


class Promise(Base):
    """Something the shop promised on a case, with its due time: data the shop can track.

    ``due_at`` is empty while the clock has not started (handle within ``days`` of the
    return arriving, before it arrives); ``kept_at`` is set when it is kept.
    """

    __tablename__ = "promises"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    kind = Column(String(24), nullable=False)  # see bot.shop.cases.PromiseKind
    due_at = Column(DateTime, index=True)
    days = Column(Integer)  # handle_after_return: days counted from the return's arrival
    made_at = Column(DateTime, nullable=False)
    kept_at = Column(DateTime)


class CaseFact(Base):
    """What the customer gave on a case in answer to the bot's question: the return
    parcel's waybill number, the account a fee is refunded to. Kept in full here only;
    shown masked everywhere else (``bot.shop.casefacts``)."""

    __tablename__ = "case_facts"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    kind = Column(String(24), nullable=False)  # see bot.shop.casefacts.FactKind
    value = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False)


class CaseNotice(Base):
    """A change of a case told to the customer in their conversation: the record that
    the notice was sent (``delivered``: the customer was told; false: still to be told,
    when they come back or ``python -m bot cases notify`` reaches them)."""

    __tablename__ = "case_notices"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    change = Column(String(24), nullable=False)  # see bot.shop.casefacts.CaseChange
    delivered = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)
    delivered_at = Column(DateTime)  # when the customer was told (claimed once: claim_notice)


class AccessCheck(Base):
    """One phone-number check of an anonymous customer asking about an order.

    Failed checks are counted per order number (or per number given, when no
    order has it) to stop guessing the last four digits.
    """

    __tablename__ = "access_checks"

    id = Column(Integer, primary_key=True)
    key = Column(String(40), nullable=False, index=True)
    ok = Column(Boolean, nullable=False)
    at = Column(DateTime, nullable=False, index=True)


class Feedback(Base):
    """What an agent did with a suggestion: used, edited or rejected."""

    __tablename__ = "feedback"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False)
    message = Column(Text, nullable=False)  # the customer's message
    intent = Column(String(48), nullable=False)  # the suggestion's intent
    # what the agent says the message is about, when it is not the suggestion's intent
    # (an out_of_scope draft rewritten into an answer about invoices: invoice_request)
    chosen_intent = Column(String(48))
    order_id = Column(String(19))
    verdict = Column(String(16), nullable=False)  # used / edited / rejected / own
    final_text = Column(Text)  # what the agent sent
    agent = Column(String(64))


class Agent(Base):
    """A human agent of the workbench (bot/workbench/agents.py); the token is stored hashed."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False, unique=True)  # sha256 hex of the token
    supervisor = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False)


class ConversationHold(Base):
    """Which agent holds a conversation (the bot is paused meanwhile): one row per held one."""

    __tablename__ = "conversation_holds"

    conversation_id = Column(String(128), primary_key=True)
    agent = Column(String(64), nullable=False)
    since = Column(DateTime, nullable=False)


class AgentAction(Base):
    """Every action of an agent on the workbench, with the agent's name."""

    __tablename__ = "agent_actions"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    agent = Column(String(64), nullable=False, index=True)
    action = Column(String(32), nullable=False)  # takeover, release, send, ...
    conversation_id = Column(String(128))
    detail = Column(Text, nullable=False, default="")


class ReviewItem(Base):
    """A customer message waiting for a trainer's intent (bot/shop/review.py): one row per
    message, whatever brought it (``key``: the sha256 of its text, so it joins once)."""

    __tablename__ = "review_items"

    id = Column(Integer, primary_key=True)
    key = Column(String(64), nullable=False, unique=True)
    text = Column(Text, nullable=False)  # numbers replaced by data/nlu.yml's placeholders
    predicted = Column(String(48), nullable=False)  # the model's (or the draft's) intent
    confidence = Column(Float)  # empty: a draft's intent, no model score
    candidates = Column(Text, nullable=False, default="[]")  # JSON [[intent, confidence], ...]
    source = Column(String(16), nullable=False)  # see bot.shop.review.SOURCES
    created_at = Column(DateTime, nullable=False)
    label = Column(String(48))  # the trainer's intent; "-": not an example
    labelled_by = Column(String(64))
    applied_at = Column(DateTime)  # written into data/nlu.yml


class ReviewCursor(Base):
    """How far the review queue has read a source of live traffic (the tracker store's
    events, the agents' feedback): the id of the last row taken."""

    __tablename__ = "review_cursors"

    source = Column(String(24), primary_key=True)
    last_id = Column(Integer, nullable=False)
class Compensation(Base):
    """Money the shop owes a customer on a case: a 折价 (a partial refund for a minor quality
    problem, 001) or a 退差价 (a price difference, 000). What, how much, who offered it and
    when; a 折价 up to compensation.max_without_approval of shop.yml is granted at once, above
    it (and every 退差价) it waits for a supervisor, who is recorded with the decision's time.
    Once paid: who marked it paid, when, and the payment's reference (打款记录) if given. When
    it is due is the case's ``payout`` promise (one record of it)."""

    __tablename__ = "compensations"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    order_id = Column(String(32), index=True)
    problem = Column(String(200), nullable=False)  # what the compensation is for
    amount = Column(Money, nullable=False)
    state = Column(String(16), nullable=False)  # see bot.shop.compensation.CompensationState
    offered_by = Column(String(64), nullable=False)
    offered_at = Column(DateTime, nullable=False)
    decided_by = Column(String(64))  # the supervisor, above the cap
    decided_at = Column(DateTime)
    kind = Column(String(24))  # see bot.shop.compensation.CompensationKind (empty: a 折价)
    paid_by = Column(String(64))  # the agent who marked it paid
    paid_at = Column(DateTime)
    payment_ref = Column(String(64))  # the transfer's reference (打款记录), if the agent gave one
