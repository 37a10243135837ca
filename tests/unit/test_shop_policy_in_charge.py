"""shop.yml is in charge: every key is read, and replies say what the keys say."""

import dataclasses
import importlib.util

import pytest

from bot.playbook.policy import policy_from_mapping
from bot.playbook.scenarios import SCENARIOS, Context, draft
from bot.settings import PROJECT_ROOT
from rasa_adapter.project_files import responses
from tests.helpers.shop import NOW


def validate_module():
    spec = importlib.util.spec_from_file_location("validate", PROJECT_ROOT / "scripts" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shop_yml_key_is_read_and_every_policy_field_used():
    assert validate_module().shop_policy_problems() == []


def test_no_reply_hard_codes_what_shop_yml_decides():
    texts = "\n".join(v["text"] for variants in responses().values() for v in variants)
    assert "到付" not in texts, "use {cod_rule} (returns.cash_on_delivery_rule)"
    assert "包装、吊牌" not in texts, "use {must_return} (returns.must_return)"
    assert "小鹿优选" not in texts, "the shop's name is shop.name"


@pytest.mark.parametrize("scenario", ["wrong_item", "quality_issue", "return_or_exchange", "refund_after_shipping"])
def test_return_replies_carry_the_shops_own_rules(store, policy, scenario):
    changed = dataclasses.replace(policy, cod_rule="到付件请先联系客服", must_return="原包装和发票")
    for order in store.all_orders():
        reply = draft(scenario, order, NOW, changed, Context())
        if "cod_rule" in reply.facts:
            assert reply.facts["cod_rule"] == "到付件请先联系客服"
            assert reply.facts["must_return"] == "原包装和发票"
    assert scenario in SCENARIOS


def test_the_cod_rule_must_name_cod_when_cod_is_refused():
    from tests.unit.test_policy import raw_policy

    raw = raw_policy()
    raw["returns"]["accept_cash_on_delivery"] = True
    raw["returns"]["cash_on_delivery_rule"] = "运费可以到付"
    assert policy_from_mapping(raw).cod_rule == "运费可以到付"


def test_numbers_of_shop_yml_are_never_copied_into_notes_or_checklists(tmp_path):
    validate = validate_module()
    assert validate.copied_number_problems(validate.Project()) == []
    (tmp_path / "case_notes.yml").write_text("utter_x:\n  note: 签收后7天内可退\n", encoding="utf-8")
    (tmp_path / "agent_checklists.yml").write_text(
        "track_parcel: [超过48小时未更新则催件]\ninvoice: [3个工作日内寄出发票]\n", encoding="utf-8")
    problems = validate.copied_number_problems(validate.Project(tmp_path))
    assert len(problems) == 2 and "case_notes.yml:2: '7天'" in problems[0]


def test_only_the_fee_phrases_say_who_pays():
    validate = validate_module()
    dom = {"responses": {
        "utter_phrase_fee_shop": [{"text": "运费由我们承担"}],
        "utter_wrong_item_steps": [{"text": "确认发错的话，运费由我们承担"}],
    }}
    where = {"utter_phrase_fee_shop": ("domain.yml", 1), "utter_wrong_item_steps": ("domain.yml", 2)}
    (problem,) = validate.payer_wording_problems(dom, where)
    assert problem.startswith("domain.yml:2: response utter_wrong_item_steps says who pays")
    assert validate.payer_wording_problems({"responses": responses()}, {}) == []


def test_checklists_name_only_numbers_shop_yml_has(policy):
    import yaml

    from bot.playbook.policy import policy_facts

    checklists = yaml.safe_load((PROJECT_ROOT / "agent_checklists.yml").read_text(encoding="utf-8"))
    for items in checklists.values():
        for item in items:
            assert "{" not in item.format_map(policy_facts(policy))


@pytest.mark.parametrize("group", [("dislike", "size"), ("quality_issue", "wrong_item")])
def test_reasons_said_together_must_share_a_payer(group):
    from bot.playbook.policy import PolicyError
    from tests.unit.test_policy import raw_policy

    raw = raw_policy()
    first, second = group
    raw["returns"]["shipping_paid_by"][first] = "shop" if raw["returns"]["shipping_paid_by"][second] == "buyer" else "buyer"
    with pytest.raises(PolicyError, match="must name one payer"):
        policy_from_mapping(raw)
