"""Masking personal data in logs: phone numbers and delivery addresses.

Both servers start with ``--logging-config-file logging.yml``, whose filter
factory (``masking_filter``) installs a log-record factory: every record, from
any library and to any handler, has its message (and traceback) masked when
it is created, before a handler can write it.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, Callable

# mainland mobile numbers, also written 138-1234-5678 or 138 1234 5678
PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# an address: a province or city name, then everything up to punctuation
ADDRESS = re.compile(
    r"([\u4e00-\u9fff]{2,6}?(?:省|市|自治区|特别行政区))"
    r"[\u4e00-\u9fffA-Za-z0-9#\- ]{2,}"
)
# ... or a street and number without the city (张江路 88 弄, 文三路259号)
STREET = re.compile(
    r"[\u4e00-\u9fff]{1,10}(?:路|街|大道|巷|胡同)\s*\d+\s*(?:号|弄)[\u4e00-\u9fffA-Za-z0-9#\- ]*"
)
MASKED_ADDRESS = "[地址已隐藏]"
# an e-mail address (an Alipay account may be one): the first letter and the domain stay
EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def mask_email(text: str) -> str:
    """``text`` with e-mail addresses shown as z***@qq.com."""
    return EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_pii(text: str) -> str:
    """``text`` with phone numbers shown as 138****5678, addresses hidden after their
    city (上海市[地址已隐藏]) and e-mail addresses as z***@qq.com."""
    text = PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = ADDRESS.sub(lambda m: m.group(1) + MASKED_ADDRESS, text)
    return mask_email(STREET.sub(MASKED_ADDRESS, text))


class MaskingFilter(logging.Filter):
    """Masks a record passing through a handler (for handlers configured by hand)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "pii_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler to report
        return
    record.msg, record.args = mask_pii(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = mask_pii(record.exc_text)
    record.pii_masked = True


def install_record_factory() -> None:
    """Mask every log record of this process when it is created (idempotent)."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "masks_pii", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        mask_record(record)
        return record

    factory.masks_pii = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def masking_filter() -> MaskingFilter:
    """The filter factory named in logging.yml; it also installs the record factory."""
    install_record_factory()
    return MaskingFilter()
