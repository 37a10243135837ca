import logging

import pytest

from bot.logmask import install_record_factory, mask_pii
from bot.shop.sample_data import BUYERS


@pytest.mark.parametrize("account, name, phone, address", BUYERS)
def test_no_sample_phone_or_address_survives(account, name, phone, address):
    text = f"买家 {account} 的收货信息：{address} {name} {phone}"
    masked = mask_pii(text)
    assert phone not in masked and address not in masked
    assert account in masked  # what is not personal stays readable


@pytest.mark.parametrize(
    "text, expected",
    [
        ("电话 138-1234-5678", "电话 138****5678"),
        ("13998765432", "139****5432"),
        ("订单 3027461958302746518 已签收", "订单 3027461958302746518 已签收"),  # 19 digits: not a phone
        ("【上海市】快件已发往网点", "【上海市】快件已发往网点"),  # a city alone is not an address
        ("寄到杭州市西湖区文三路 259 号", "寄到杭州市[地址已隐藏]"),
    ],
)
def test_masking(text, expected):
    assert mask_pii(text) == expected


def test_records_are_masked_when_made_whatever_the_handler(caplog):
    previous = logging.getLogRecordFactory()
    install_record_factory()
    install_record_factory()  # idempotent
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("any.library").info("address for %s: %s", "13812345678", "上海市浦东新区张江路 88 弄")
            try:
                raise ValueError("bad phone 13700001111")
            except ValueError:
                logging.getLogger("x").exception("failed")
        text = caplog.text
        assert "13812345678" not in text and "张江路" not in text and "138****5678" in text
        assert "13700001111" not in text and "137****1111" in text
    finally:
        logging.setLogRecordFactory(previous)
