"""Customers' personal data out of the words kept for training (the review queue, the
feedback export): every number, phone, address and name a customer typed is replaced by
one fixed placeholder.

Numbers become data/nlu.yml's placeholder examples, annotated as there (the model learns
the shape, the export carries no customer's number): order and tracking numbers, mobile
numbers (also written 138-1234-5678, +86 138 1234 5678 or 138****5678) and landlines
(010-88886666). An address (two or more of its parts in a row: 上海市 · 浦东新区 · 张江路
100号 · 5栋 · 2单元 · 301室, or a road with its number) becomes one plain placeholder
address; a name after the words that introduce one (收件人是王小明, 我叫李娜) becomes
a placeholder name, and a surname with 先生/女士/小姐 keeps the title with a placeholder
surname. Names and addresses are no entities of the domain: their placeholders are text.
"""

from __future__ import annotations

import re
from typing import Callable, List, Match, Pattern, Tuple, Union

from bot.access.ids import ORDER_ID, PHONE, TRACKING_NUMBER, normalise_digits

PLACEHOLDERS = {
    "order_id": "3027461958302746518",
    "tracking_number": "773029384756102",
    "phone": "13812345678",
}
_PREFIXED = {"SF": "SF1402938475610", "YT": "YT4827361059283", "JT": "JT5038271649302", "JD": "JDVA28374659102"}
ADDRESS = "朝阳区建国路88号"
NAME = "张伟"
SURNAME = "张"

_EDGE, _END = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
# a mobile number with spaces or dashes, a country code, or its middle digits starred;
# a landline with its area code
_MOBILE = re.compile(_EDGE + r"(?:(?:\+|00)86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}[\s-]?\d{4}|[*＊]{4}\d{4})" + _END)
_LANDLINE = re.compile(_EDGE + r"0\d{2,3}-?\d{7,8}" + _END)
# first match wins where two could: a mobile before an order or tracking number (+86...),
# a landline only where no tracking number is
_NUMBERS = re.compile("|".join(
    f"(?P<{group}>{pattern.pattern})" if not pattern.flags & re.IGNORECASE
    else f"(?P<{group}>(?i:{pattern.pattern}))"
    for group, pattern in (("mobile", _MOBILE), ("order_id", ORDER_ID), ("tracking_number", TRACKING_NUMBER),
                           ("phone", PHONE), ("landline", _LANDLINE))
))
_ENTITY = {"mobile": "phone", "landline": "phone"}

# the characters of a place's name: letters, not the words around an address
# (改成 / 寄到 / 地址是 / 我住在 ...) nor punctuation; a part's name is short (北京朝阳区,
# not 怎么才发北京朝阳区: the leftmost match wins)
_H = r"[^\W\d_A-Za-z在到是成址为寄送我的了改往去从住和跟给把请帮要想能就还]"
_PARTS = (
    _H + r"{1,4}?(?:自治区|省|市|区|县|旗|镇|乡|街道)",
    _H + r"{1,5}?(?:大道|大街|路|街|巷|弄|胡同)(?:\d+[号弄])?",
    _H + r"{1,4}?(?:小区|花园|公寓|大厦|广场|家园|新村|苑)",
    r"(?:\d+|[A-Za-z]\d*)(?:号楼|栋|幢|座|单元|层|楼|室|号|户)",
)
_PART = "(?:" + "|".join(_PARTS) + ")"
_ROAD_NUMBER = _H + r"{1,5}?(?:大道|大街|路|街|巷)\d+号"
# parts in a row, and a room's bare number after them (3号楼2单元501)
_ADDRESS = re.compile(f"{_PART}(?:[\\s-]?{_PART})+(?:\\d{{2,4}}(?!\\d))?|{_ROAD_NUMBER}")

_SURNAMES = ("欧阳|司马|诸葛|上官|王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|"
             "唐|许|韩|冯|邓|曹|彭|曾|肖|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|"
             "钟|谭|陆|汪|范|金|石|廖|贾|夏|韦|付|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|段|雷|侯|龙|史|陶|黎|"
             "贺|顾|毛|郝|龚|邵|万|钱|严|覃|武|戴|莫|孔|向|汤")
# a name after the words that introduce one, up to what ends it (punctuation, a particle,
# the phone that follows); the title form anywhere
_NAME_AFTER = re.compile(
    r"(?:我叫|名字|实名|姓名|收件人|收货人|联系人|签收人)"
    r"(?:是|叫|为|改成|改为|写成|换成|应该是|[:：])?\s?"
    rf"(?P<name>(?:{_SURNAMES})(?:(?![了吗呢啊吧的])[\u4e00-\u9fff]){{1,2}}?)"
    r"(?=$|[\s，。,.!！?？、；;:：)）]|吗|呢|啊|吧|的|了|电话|手机|号码|地址)")
_TITLED = re.compile(rf"(?P<surname>{_SURNAMES})(?=先生|女士|小姐(?!姐))")  # 小姐姐: the agent


def _replace(text: str, pattern: Pattern[str], group: Union[int, str], value: Callable[[Match[str]], str]) -> str:
    out: List[str] = []
    at = 0
    for match in pattern.finditer(text):
        start, end = match.span(group)
        out += [text[at:start], value(match)]
        at = end
    return "".join(out) + text[at:]


def _number(match: Match[str]) -> str:
    group = match.lastgroup or "order_id"
    entity = _ENTITY.get(group, group)
    value = PLACEHOLDERS[entity]
    if entity == "tracking_number":
        value = _PREFIXED.get(match.group(0)[:2].upper(), value)
    return f"[{value}]({entity})"


def mask_numbers(text: str) -> str:
    """Order, tracking and phone numbers replaced by placeholders annotated as in
    data/nlu.yml: 「订单3027461958301111111」 → 「订单[3027461958302746518](order_id)」."""
    plain = normalise_digits(text)  # one character for one: the spans are the text's
    out, at = [], 0
    for match in _NUMBERS.finditer(plain):
        out += [text[at:match.start()], _number(match)]
        at = match.end()
    return "".join(out) + text[at:]


_STEPS: Tuple[Tuple[Pattern[str], Union[int, str], Callable[[Match[str]], str]], ...] = (
    (_NAME_AFTER, "name", lambda m: NAME),
    (_TITLED, "surname", lambda m: SURNAME),
    (_ADDRESS, 0, lambda m: ADDRESS),
)


def mask(text: str) -> str:
    """``text`` with its numbers, phones, addresses and names replaced by placeholders."""
    text = mask_numbers(text)
    for pattern, group, value in _STEPS:
        text = _replace(text, pattern, group, value)
    return text
