"""Signed buyer tokens: the shop page says who is logged in; the assistant verifies it.

A token is ``account.expiry.signature``: HMAC-SHA256 over ``account.expiry`` with
the shop's secret (``BUYER_TOKEN_SECRET``, or ``var/buyer_secret`` made once by
``make run``), URL-safe base64. Only a verified, unexpired token names a buyer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Optional

DEFAULT_TTL = timedelta(hours=12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(payload: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def sign(account: str, secret: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> str:
    if not account or "." in account:
        raise ValueError("an account is a non-empty name without dots")
    payload = f"{account}.{int((now + ttl).timestamp())}"
    return f"{payload}.{_signature(payload, secret)}"


def verify(token: object, secret: str, now: datetime) -> Optional[str]:
    """The account a valid, unexpired token names; ``None`` for anything else."""
    if not isinstance(token, str) or not secret or token.count(".") != 2:
        return None
    account, expiry, signature = token.split(".")
    # a signature is URL-safe base64 and an expiry ASCII digits; anything else
    # (which compare_digest and int() would refuse with an exception) is forged
    if not (signature.isascii() and expiry.isascii()):
        return None
    try:
        expected = _signature(f"{account}.{expiry}", secret)
    except UnicodeEncodeError:  # a lone surrogate in the account
        return None
    if not hmac.compare_digest(expected, signature):
        return None
    if not expiry.isdigit() or int(expiry) < now.timestamp():
        return None
    return account or None



def order_pass(secret: str, conversation: str, order_id: str, holder: str) -> str:
    """A pass saying ``holder`` (an account, or ``ANONYMOUS`` after the phone
    check) may see ``order_id`` in ``conversation``; kept in a slot.

    Only the action server can make one, so a pass is proof no customer can
    forge, and it is worth nothing in another conversation or for another holder.
    """
    return _signature(f"pass|{conversation}|{order_id}|{holder}", secret)


def pass_valid(
    token: object, secret: str, conversation: str, order_id: str, holder: str
) -> bool:
    return (
        isinstance(token, str)
        and bool(secret)
        and hmac.compare_digest(order_pass(secret, conversation, order_id, holder), token)
    )
