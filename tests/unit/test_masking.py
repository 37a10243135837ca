"""Personal data out of the words kept for training (bot/shop/masking.py): phones however
written, addresses, names; and the words around them, and what is no personal data, kept."""

import pytest

from bot.shop.masking import ADDRESS, NAME, mask

PHONE = "[13812345678](phone)"


@pytest.mark.parametrize("written", [
    "13912345678", "139 1234 5678", "139-1234-5678", "+86 13912345678", "+8613912345678",
    "0086-139-1234-5678", "139****5678", "１３９１２３４５６７８", "010-88886666", "0755-1234567",
    "02188886666",
])
def test_a_phone_however_written_becomes_the_placeholder(written):
    assert mask(f"电话{written}，谢谢") == f"电话{PHONE}，谢谢"


@pytest.mark.parametrize("text", [
    "尾号5678，买了2件",  # the last four digits: how customers prove an order is theirs
    "139123456",  # too short to be anyone's phone
    "订单号123456789012345678901",  # too long for any number
    "400-820-8820",  # a company's hotline
])
def test_what_is_no_phone_stays(text):
    assert mask(text) == text


def test_numbers_keep_their_own_kinds():
    assert mask("订单3027461958301111111到哪了") == "订单[3027461958302746518](order_id)到哪了"
    assert mask("运单773000000000001") == "运单[773029384756102](tracking_number)"
    # twelve digits are a tracking number, not a landline without its dash
    assert mask("010888866661") == "[773029384756102](tracking_number)"


@pytest.mark.parametrize("text, masked", [
    ("地址改成上海市浦东新区张江路100号5栋2单元301室", f"地址改成{ADDRESS}"),
    ("寄到北京朝阳区望京花园3号楼吧", f"寄到{ADDRESS}吧"),
    ("我住在阳光小区8栋1单元，帮我改一下", f"我住在{ADDRESS}，帮我改一下"),
    ("新地址是建国路88号", f"新地址是{ADDRESS}"),
    ("浙江省杭州市西湖区文三路 5号", f"{ADDRESS}"),
    ("3号楼2单元门口没人", f"{ADDRESS}门口没人"),
    ("补充一下：3号楼2单元501", f"补充一下：{ADDRESS}"),
])
def test_an_address_becomes_the_placeholder_and_the_words_around_it_stay(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "地址填错了能改吗", "收货地址改成公司地址可以吗", "地址写成老家的了，帮我改成上海的",
    "我在超市买的", "11月3号下的单，放3楼了", "小区门口的快递柜", "南京路上的店",
    "这个区别大吗", "送到公司去吧，家里没人",
])
def test_words_about_an_address_that_name_none_stay(text):
    assert mask(text) == text


@pytest.mark.parametrize("text, masked", [
    ("收件人是王小明，电话13912345678", f"收件人是{NAME}，电话{PHONE}"),
    ("收货人李娜电话写错了", f"收货人{NAME}电话写错了"),
    ("收件人写成欧阳娜娜了", f"收件人写成{NAME}了"),
    ("我叫刘洋", f"我叫{NAME}"),
    ("支付宝就是手机号，实名王五", f"支付宝就是手机号，实名{NAME}"),
    ("我的名字是赵敏", f"我的名字是{NAME}"),
    ("姓名：陈静，地址：上海市徐汇区漕溪北路1号", f"姓名：{NAME}，地址：{ADDRESS}"),
    ("麻烦李女士帮我看下", "麻烦张女士帮我看下"),
    ("王先生说没收到", "张先生说没收到"),
])
def test_a_name_becomes_the_placeholder(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", [
    "收件人写错了", "收件人改成我老婆", "收件人是周末在家的那个", "客服小姐姐在吗", "谢谢小姐姐", "我姓王",
    "名字写错了",
    "收件人是王了",  # no given name: nothing to hide
])
def test_words_that_name_nobody_stay(text):
    assert mask(text) == text


def test_masking_twice_changes_nothing_more_for_names_and_addresses():
    once = mask("收件人是王小明，地址上海市浦东新区张江路100号")
    assert mask(once) == once


def test_an_address_takes_no_words_before_it():
    assert mask("怎么才发北京朝阳区建国路88号，应该今天到的") == f"怎么才发{ADDRESS}，应该今天到的"
    assert mask("我们是山区农村") == "我们是山区农村"
    assert mask("新地址是湖北武汉市洪山区 对") == f"新地址是{ADDRESS} 对"
