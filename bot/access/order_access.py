"""Finding the order a customer means, without revealing other buyers' orders.

``OrderAccess`` is the only way the customer channels read an order. It is
where ownership is enforced:

- a verified buyer (signed buyer token) sees only their own orders;
- an anonymous customer names the order and then gives the last four digits of
  its phone number; until then nothing is read or said about the order, not
  even whether it exists. Failed checks are counted per order, and after
  ``MAX_FAILED_CHECKS`` in ``CHECK_WINDOW`` the order can no longer be opened
  anonymously for a while.

Once an order is found, the action server hands the conversation a *pass*
(an HMAC over conversation, order and holder, kept in a slot). Every later
read, in any action, goes through ``OrderAccess.get`` and needs that pass, so an
order found for one person is never shown to another, even on the same
conversation id. The order form asks ``needs_phone_check`` whether to ask for
the phone digits and ``keep_or_forget`` what becomes of an order already in
the conversation; it only maps the answers to slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Iterable, List, Optional

from bot.access.identity import order_pass, pass_valid, verify
from bot.access.ids import (
    NumberProblem,
    find_order_id,
    find_phone_tail,
    find_tracking_number,
    normalise_digits,
    order_number_problem,
)
from bot.shop.cases import CaseRecord
from bot.shop.store import OrderFacts, OrderStore

ANONYMOUS = "anonymous"
MAX_FAILED_CHECKS = 5
CHECK_WINDOW = timedelta(hours=1)


# What a lookup can end in: "found"; "unknown" (no such order for this buyer);
# "malformed" (not a number); "unproven" (anonymous: the phone check comes
# next); "no_tail" (no four digits given); "mismatch" (number and phone do not
# fit); "locked" (too many failed phone checks for this order).
STATUSES = ("found", "unknown", "malformed", "unproven", "no_tail", "mismatch", "locked")


@dataclass(frozen=True)
class Lookup:
    status: str  # one of STATUSES
    given: str = ""
    order: Optional[OrderFacts] = None
    problem: Optional[NumberProblem] = None


class PassDecision(Enum):
    """What becomes of the order a conversation already names (``keep_or_forget``)."""

    KEEP = "keep"  # this customer holds the pass for it
    FORGET = "forget"  # found for someone else here: drop the order and its pass
    LOOK_UP = "look_up"  # no pass yet, or the number was typed again: check it afresh


def verified_account(store: OrderStore, token: object, secret: str, now: datetime) -> Optional[str]:
    """The buyer a valid, unexpired signed ``buyer_token`` names, if the shop knows them.

    Anything unsigned, forged or expired is anonymous (None): the channels' message
    metadata and the web service's uploads both go through here.
    """
    account = verify(token, secret, now)
    if account and store.has_buyer(account):
        return account
    return None


class OrderAccess:
    """One customer's view of the order store, in one conversation."""

    def __init__(
        self,
        store: OrderStore,
        account: Optional[str],
        conversation: str,
        secret: str,
        now: datetime,
    ) -> None:
        self.store = store
        self.account = account
        self.conversation = conversation
        self.secret = secret
        self.now = now

    @property
    def holder(self) -> str:
        return self.account or ANONYMOUS

    def issue_pass(self, order: OrderFacts) -> str:
        return order_pass(self.secret, self.conversation, order.order_id, self.holder)

    def has_pass(self, order_id: Optional[str], token: object) -> bool:
        return bool(order_id) and pass_valid(
            token, self.secret, self.conversation, str(order_id), self.holder
        )

    def needs_phone_check(self, order_id: Optional[str], token: object) -> bool:
        """Whether the customer must give the phone digits before seeing ``order_id``:
        an anonymous customer without a pass for it. A verified buyer never does
        (ownership is checked instead), nor does whoever already holds the pass."""
        return self.account is None and not self.has_pass(order_id, token)

    def keep_or_forget(self, order_id: str, token: object, typed_text: str) -> PassDecision:
        """What becomes of ``order_id``, already in the conversation, when the
        customer writes ``typed_text``.

        With this customer's pass it is kept. A pass that is not theirs was
        issued to someone else on this conversation id (a buyer who logged out,
        another who logged in): the order is forgotten unless the number (or a
        tracking number) is typed again, so whoever writes now must name the
        order themselves. Without any pass, the number is looked up.
        """
        if self.has_pass(order_id, token):
            return PassDecision.KEEP
        text = normalise_digits(typed_text)
        typed_again = order_id in text or find_tracking_number(text) is not None
        if token and not typed_again:
            return PassDecision.FORGET
        return PassDecision.LOOK_UP

    def get(self, order_id: Optional[str], token: object) -> Optional[OrderFacts]:
        """The order, if this conversation holds a pass for it and it is the
        buyer's own (``None`` otherwise: unknown, someone else's, or no pass)."""
        if not self.has_pass(order_id, token):
            return None
        order = self.store.get_order(str(order_id))
        if order is None or (self.account is not None and order.buyer_account != self.account):
            return None
        return order

    def may_add_to(self, case: CaseRecord, order_id: Optional[str], token: object) -> bool:
        """Whether this customer may add evidence (a photo) to ``case``.

        The case must be this conversation's. A case about an order also needs the
        conversation's pass for that order issued to this customer (``order_id`` and
        ``token`` are the conversation's slots), and the order must be theirs
        (``get``): a buyer's photo never lands on another buyer's order, nor an
        anonymous visitor's on a logged-in buyer's conversation.
        """
        if case.conversation_id != self.conversation:
            return False
        if case.order_id is None:
            return case.buyer_account is None or case.buyer_account == self.account
        return case.order_id == order_id and self.get(order_id, token) is not None

    def find(self, text: str) -> Lookup:
        """The order named in ``text`` (an order or tracking number)."""
        text = normalise_digits(text.strip())
        given = find_order_id(text) or find_tracking_number(text)
        if given is None:
            return Lookup("malformed", given=text, problem=order_number_problem(text))
        if self.account is None:
            return Lookup("unproven", given=given)
        order = self._by_number(given)
        if order is None or order.buyer_account != self.account:
            return Lookup("unknown", given=given)
        return Lookup("found", given=given, order=order)

    def prove(self, given: str, text: str) -> Lookup:
        """An anonymous customer's phone check: do the last four digits in
        ``text`` belong to the order ``given`` names?"""
        tail = find_phone_tail(text)
        if tail is None:
            return Lookup("no_tail", given=given)
        order = self._by_number(given)
        key = order.order_id if order is not None else given[:40]
        if self.store.failed_access_checks(key, self.now - CHECK_WINDOW) >= MAX_FAILED_CHECKS:
            return Lookup("locked", given=given)
        ok = order is not None and len(order.phone) >= 4 and order.phone[-4:] == tail
        self.store.record_access_check(key, ok, self.now)
        return Lookup("found", given=given, order=order) if ok else Lookup("mismatch", given=given)

    def recent_orders(self, days: int) -> List[OrderFacts]:
        """A verified buyer's recent orders (none for an anonymous customer)."""
        if self.account is None:
            return []
        return self.store.recent_orders(self.account, self.now, days)

    def _by_number(self, given: str) -> Optional[OrderFacts]:
        if find_order_id(given) == given:
            return self.store.get_order(given)
        return self.store.order_by_tracking_number(given)


def order_matching(
    orders: List[OrderFacts], couriers: Iterable[str] = (), products: Iterable[str] = ()
) -> Optional[OrderFacts]:
    """The one order among ``orders`` that the named couriers and products fit, if one.

    A courier fits an order shipped with it; a product word fits an order with
    an item whose name contains it (「水壶」 fits 电热水壶).
    """
    couriers, products = list(couriers), list(products)
    if not couriers and not products:
        return None

    def fits(order: OrderFacts) -> bool:
        courier_ok = not couriers or (
            order.shipment is not None and order.shipment.courier in couriers
        )
        product_ok = not products or any(p in i.name for p in products for i in order.items)
        return courier_ok and product_ok

    matches = [o for o in orders if fits(o)]
    return matches[0] if len(matches) == 1 else None
