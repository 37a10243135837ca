"""Agent assist: suggestions from an NLU ranking, and the feedback loop."""

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from bot.shop.feedback import FeedbackLog
from rasa_adapter.project_files import agent_assist, to_nlu_yaml
from tests.helpers.shop import NOW


@pytest.fixture
def assistant(policy, notes):
    return agent_assist(notes, policy)


RANKING = [("signed_not_received", 0.91), ("track_parcel", 0.05), ("wrong_item", 0.02), ("greet", 0.01)]


def test_the_top_three_hypotheses_each_get_a_filled_draft(assistant, store):
    order = store.get_order("2938475610293840001")  # signed by the door guard
    suggestions = assistant.suggest(RANKING, order, NOW, "显示签收了但我没收到")
    assert [s.intent for s in suggestions] == ["signed_not_received", "track_parcel", "wrong_item"]
    first = suggestions[0]
    assert first.confidence == 0.91 and first.response == "utter_snr_signed"
    assert "小区门卫" in first.reply and "申通快递" in first.reply and "{" not in first.reply
    assert "联系快递核实签收人" in first.checklist
    assert first.case_note["state"] == "waiting_shop" and "小区门卫" in first.case_note["note"]
    assert first.verdicts["return_window_open"] is True


def test_verdicts_name_who_pays_and_approvals(assistant, store):
    order = store.get_order("7700112233445566778")
    wrong, price = assistant.suggest([("wrong_item", 0.6), ("price_drop_refund", 0.4)], order, NOW)
    assert wrong.verdicts["return_shipping_paid_by"] == "shop"
    assert wrong.verdicts["missing_item_window_open"] is True  # signed 20 h ago
    assert price.verdicts["needs_supervisor_approval"] is True
    assert "¥40.00" in price.reply
    assert "discount_without_approval_up_to" not in wrong.verdicts


def test_a_quality_problem_shows_the_discount_an_agent_may_give_without_approval(assistant, store, policy):
    order = store.get_order("7700112233445566778")
    (quality,) = assistant.suggest([("quality_issue", 0.9)], order, NOW)
    assert quality.verdicts["discount_without_approval_up_to"] == float(policy.compensation_cap) == 12.0


def test_without_an_order_the_draft_asks_for_it(assistant):
    (suggestion,) = assistant.suggest([("track_parcel", 0.9)], None, NOW)
    assert suggestion.response == "utter_ask_order_id"
    assert suggestion.checklist[0].startswith("先问客户订单号")


def test_intents_without_order_facts_use_their_rule_response(assistant):
    greet, faq = assistant.suggest([("greet", 0.8), ("product_no_effect", 0.2)], None, NOW)
    assert greet.response == "utter_greet" and "售后助手" in greet.reply
    assert faq.response == "utter_product_no_effect"


def test_every_intent_has_a_checklist():
    checklists = yaml.safe_load((PROJECT_ROOT / "agent_checklists.yml").read_text(encoding="utf-8"))
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
    missing = {i for i in intents if i not in checklists} - {"inform", "rate", "correct_order", "greet", "thank", "goodbye", "affirm", "deny"}
    missing = {i for i in missing if not i.startswith("EXTERNAL_")}  # events said by code, never typed
    assert missing == set()


def test_feedback_export_keeps_used_and_edited_messages(store):
    log = FeedbackLog(store)
    log.record(message="快递柜里没有啊", intent="signed_not_received", verdict="used", now=NOW)
    log.record(message="衣服颜色不对", intent="wrong_item", verdict="edited", now=NOW, final_text="…")
    log.record(message="随便问问", intent="track_parcel", verdict="rejected", now=NOW)
    log.record(message="快递柜里没有啊", intent="signed_not_received", verdict="used", now=NOW)
    exported = yaml.safe_load(to_nlu_yaml(log.accepted_examples()))
    assert exported["nlu"] == [
        {"intent": "signed_not_received", "examples": "- 快递柜里没有啊\n"},
        {"intent": "wrong_item", "examples": "- 衣服颜色不对\n"},
    ]


@pytest.mark.parametrize("verdict, message", [("maybe", "x"), ("used", "  ")])
def test_bad_feedback_is_refused(store, verdict, message):
    with pytest.raises(ValueError):
        FeedbackLog(store).record(message=message, intent="greet", verdict=verdict, now=NOW)


def test_the_freight_collect_verdict_is_the_shops_rule_not_the_orders_payment(policy, store, notes):
    """W16: 到付 means a return parcel sent freight-collect; the shop refuses those."""
    import dataclasses

    from bot.assist import AgentAssist

    assist = AgentAssist({}, {}, {}, notes, policy)
    cod_order = store.get_order("8801234567890000808")
    verdicts = assist.verdicts("return_or_exchange", cod_order, NOW)
    assert verdicts["freight_collect_return_parcel_accepted"] is False
    assert verdicts["order_paid_cash_on_delivery"] is True
    lenient = AgentAssist({}, {}, {}, notes, dataclasses.replace(policy, accept_cash_on_delivery=True))
    assert lenient.verdicts("return_or_exchange", cod_order, NOW)["freight_collect_return_parcel_accepted"]
