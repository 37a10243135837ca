"""Quality triage's pure decisions (bot/playbook/triage.py) at their edges: the six
product problems of seed 000, quality or not, and the 不予办理 reasons."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from bot.playbook.triage import (
    NOT_QUALITY,
    PROBLEMS,
    QUALITY,
    UNCLEAR,
    default_words,
    exchanged_before,
    parse_words,
    product_problem,
    quality_kind,
    quality_refusal,
    return_refusal,
)
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.store import NoteFacts, OrderState
from tests.helpers.shop import NOW

WORDS = default_words()


def case(intent: str, state: CaseState) -> CaseRecord:
    return CaseRecord(1, "c", None, None, intent, state, "", "", None, "assistant", None, NOW, NOW)


def signed(store, *names):
    return next(o for o in store.all_orders() if o.state == OrderState.SIGNED
                and sorted(i.name for i in o.goods) == sorted(names))


@pytest.mark.parametrize("text, problem", [
    ("吃了一个月没什么效果", "no_effect"),
    ("瓶子里粒数不对，少了几粒", "short_count"),  # a product fault, not a missing parcel item
    ("打开发现没有锡箔纸", "foil_seal"),
    ("鋁箔封口破了", "foil_seal"),  # traditional script
    ("胶囊破了好几粒", "capsules_broken"),
    ("收到的产品被拆封过", "opened"),
    ("面膜收到时封口被拆开了", "opened"),  # opened, though it names the seal
    ("瓶子里的胶囊数量比标签少", "short_count"),
    ("胶囊裂开了好几颗", "capsules_broken"),
    ("外包装被压扁了", "box_crushed"),
    ("盒子压扁了", "box_crushed"),
    ("箱子压烂了", None),  # the courier's carton: courier damage, not problem 4
    ("衣服开线了", None),
    ("", None),
])
def test_the_six_product_problems(text, problem):
    assert product_problem(text, WORDS) == problem


def test_every_problem_has_words_and_the_file_names_exactly_the_six():
    assert [name for name, _ in WORDS.problems] and {n for n, _ in WORDS.problems} == set(PROBLEMS)
    raw = yaml.safe_load((PROJECT_ROOT / "quality_triage.yml").read_text(encoding="utf-8"))
    del raw["problems"]["opened"]
    with pytest.raises(ValueError, match="problems must be exactly"):
        parse_words(raw)
    raw = yaml.safe_load((PROJECT_ROOT / "quality_triage.yml").read_text(encoding="utf-8"))
    raw["quality"] = []
    with pytest.raises(ValueError, match="quality: a list of words"):
        parse_words(raw)


@pytest.mark.parametrize("text, kind", [
    ("", QUALITY),  # a button or a chosen topic: the intent's word stands
    ("冰箱不制冷", QUALITY),  # no list needed for what the intent already says
    ("衣服开线了", QUALITY),
    ("色差太大，不喜欢", NOT_QUALITY),
    ("尺码不合适", NOT_QUALITY),
    ("快递太慢了", NOT_QUALITY),  # 001: slow delivery is not a quality problem
    ("颜色和图片不一样，还开线了", UNCLEAR),  # both kinds: asked
    ("不喜欢，而且锡箔纸没封好", UNCLEAR),
])
def test_quality_or_not(text, kind):
    assert quality_kind(text, WORDS) == kind


def test_a_trainer_adds_a_word_and_it_counts():
    raw = yaml.safe_load((PROJECT_ROOT / "quality_triage.yml").read_text(encoding="utf-8"))
    assert product_problem("瓶子里的胶丸少三个", WORDS) is None
    raw["problems"]["short_count"].append("胶丸少")
    assert product_problem("瓶子里的胶丸少三个", parse_words(raw)) == "short_count"


def test_misuse_and_a_gift_are_refused_for_a_quality_claim(store):
    with_gift = next(o for o in store.all_orders() if o.gifts and o.goods and o.state == OrderState.SIGNED)
    assert quality_refusal(with_gift, "用刀划破了", WORDS) == "misuse"
    assert quality_refusal(with_gift, "放在暖气旁边变形了", WORDS) == "misuse"
    assert quality_refusal(with_gift, "赠品坏了", WORDS) == "gift"
    assert quality_refusal(with_gift, f"{with_gift.gifts[0].name}破了", WORDS) == "gift"
    # the goods named too: the goods' problem is taken
    assert quality_refusal(with_gift, f"赠品和{with_gift.goods[0].name}都坏了", WORDS) is None
    assert quality_refusal(with_gift, "收到就是坏的", WORDS) is None
    no_gift = dataclasses.replace(with_gift, items=with_gift.goods)
    assert quality_refusal(no_gift, "赠品坏了", WORDS) is None


def test_the_refusals_of_a_return_without_reason(store, policy):
    cup = signed(store, "316 不锈钢保温杯")
    aloe = next(o for o in store.all_orders() if o.state == OrderState.SIGNED
                and any(i.name == "芦荟胶" for i in o.goods))
    assert return_refusal(cup, "想退货", (), policy, WORDS) is None
    assert return_refusal(cup, "用过几次了想退", (), policy, WORDS) == "used"
    assert return_refusal(cup, "沾了香水味", (), policy, WORDS) == "odour"
    assert return_refusal(cup, "拆开了想退", (), policy, WORDS) is None  # a cup is not a consumable
    assert return_refusal(aloe, "拆开了想退", (), policy, WORDS) == "opened"
    assert return_refusal(aloe, "赠品丢了，想退货", (), policy, WORDS) == "gifts_missing"
    # shop.yml decides which goods come back only unopened
    rules = dataclasses.replace(policy, unopened_only=())
    assert return_refusal(aloe, "拆开了想退", (), rules, WORDS) is None


def test_exchanged_once_reads_the_order_note_and_the_case(store):
    cup = signed(store, "316 不锈钢保温杯")
    once = dataclasses.replace(cup, notes=(NoteFacts("exchange", "换货", NOW, "assistant", None),))
    assert not exchanged_before(cup, ())
    assert exchanged_before(once, ())
    assert exchanged_before(once, (case("return_or_exchange", CaseState.CLOSED),))
    assert exchanged_before(once, (case("return_or_exchange", CaseState.RESOLVED),))
    assert not exchanged_before(once, (case("return_or_exchange", CaseState.WAITING_CUSTOMER),))
