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
