"""Recognising order numbers, tracking numbers and phone numbers in text.

The same patterns are given to Rasa's RegexEntityExtractor in
``data/nlu/entities.yml``; a unit test keeps the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

ORDER_ID_MIN, ORDER_ID_MAX = 16, 19

ORDER_ID = re.compile(r"(?<![0-9A-Za-z])\d{16,19}(?![0-9A-Za-z])")
TRACKING_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:SF|YT|JT)\d{12,13}|JDV[A-Z]\d{11}|\d{12,15})(?![0-9A-Za-z])",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
DIGIT_RUN = re.compile(r"\d+")

# Full-width digits as typed by Chinese input methods.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def normalise_digits(text: str) -> str:
    return text.translate(_FULL_WIDTH)


def find_order_id(text: str) -> Optional[str]:
    match = ORDER_ID.search(normalise_digits(text))
    return match.group(0) if match else None


def find_tracking_number(text: str) -> Optional[str]:
    match = TRACKING_NUMBER.search(normalise_digits(text))
    return match.group(0).upper() if match else None


# a return parcel's waybill, as customers type it: a courier's letters (SF, YT, JT, JDVA ...)
# and 10-15 digits, or 12-15 digits alone (a phone number is not one)
WAYBILL = re.compile(r"(?<![0-9A-Za-z])((?:[A-Za-z]{2,4}\s?)?\d{10,15})(?![0-9A-Za-z])")


def find_waybill(text: str) -> Optional[str]:
    """The waybill number in ``text`` (upper case, no space); never a phone or order number."""
    for match in WAYBILL.finditer(normalise_digits(text)):
        number = re.sub(r"\s", "", match.group(1)).upper()
        if number.isdigit() and (len(number) < 12 or PHONE.fullmatch(number)):
            continue
        return number
    return None


PHONE_TAIL = re.compile(r"(?<!\d)\d{4}(?!\d)")


def find_phone_tail(text: str) -> Optional[str]:
    """The last four digits of a phone number in ``text``: a whole mobile
    number, or a run of exactly four digits (「尾号5678」)."""
    text = normalise_digits(text)
    phone = PHONE.search(text)
    if phone:
        return phone.group(0)[-4:]
    tails = PHONE_TAIL.findall(text)
    return tails[0] if len(tails) == 1 else None


@dataclass(frozen=True)
class NumberProblem:
    """A number the customer sent that cannot be an order number."""

    digits: str
    kind: str  # "too_short", "too_long" or "phone"


def order_number_problem(text: str) -> Optional[NumberProblem]:
    """Why the longest digit run in ``text`` is not an order number, if it is not.

    Runs of fewer than 6 digits are not taken for attempted order numbers
    (quantities, dates, prices).
    """
    runs = [r for r in DIGIT_RUN.findall(normalise_digits(text)) if len(r) >= 6]
    if not runs:
        return None
    longest = max(runs, key=len)
    if ORDER_ID_MIN <= len(longest) <= ORDER_ID_MAX:
        return None
    if PHONE.fullmatch(longest):
        return NumberProblem(longest, "phone")
    kind = "too_short" if len(longest) < ORDER_ID_MIN else "too_long"
    return NumberProblem(longest, kind)

