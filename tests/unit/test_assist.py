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


RANKING = [("signed_not_received", 0.61), ("track_parcel", 0.2), ("wrong_item", 0.12), ("greet", 0.07)]


def test_the_top_three_hypotheses_each_get_a_filled_draft(assistant, store):
    order = store.get_order("2938475610293840001")  # signed by the door guard
    suggestions = assistant.suggest(RANKING, order, NOW, "显示签收了但我没收到")
    assert [s.intent for s in suggestions] == ["signed_not_received", "track_parcel", "wrong_item"]
    first = suggestions[0]
    assert first.confidence == 0.61 and first.response == "utter_snr_signed"
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
    thanks, faq = assistant.suggest([("thank", 0.8), ("product_no_effect", 0.2)], None, NOW)
    assert thanks.response == "utter_thank"
    assert faq.response == "utter_product_no_effect"


def test_an_agents_greeting_draft_names_the_agent_not_the_assistant(assistant):
    greet, human = assistant.suggest([("greet", 0.5), ("request_human", 0.4)], None, NOW, agent="小王")
    assert greet.response == human.response == "utter_agent_greeting"
    assert "小王" in greet.reply and "售后助手" not in greet.reply and "转接" not in human.reply


def test_hypotheses_below_the_floor_get_no_draft(assistant, store):
    from bot.assist import DRAFT_CONFIDENCE_FLOOR

    order = store.get_order("2938475610293840001")
    drafts = assistant.suggest([("signed_not_received", 0.9), ("track_parcel", DRAFT_CONFIDENCE_FLOOR - 0.01)],
                               order, NOW)
    assert [d.intent for d in drafts] == ["signed_not_received"]


def test_verdicts_read_as_words(assistant, store):
    order = store.get_order("7700112233445566778")  # signed 20 h ago
    (wrong,) = assistant.suggest([("wrong_item", 0.9)], order, NOW)
    days = wrong.verdicts["return_window_days_left"]
    assert f"退货期还剩 {days} 天" in wrong.verdict_text
    assert "退货运费由店铺承担" in wrong.verdict_text and "订单状态：已签收" in wrong.verdict_text
    assert not any("_" in line for line in wrong.verdict_text)


def test_a_draft_has_the_bots_context_cases_variants_and_entities(assistant, store, policy):
    """W7: the refund-status draft sees the pending approval the bot sees; the wrong-item
    draft names the aspect; the exchange draft checks the variant's stock."""
    from bot.playbook.render import resolved
    from bot.playbook.reply import scenario_reply

    order = store.get_order("7700112233445566778")
    (price,) = assistant.suggest([("price_drop_refund", 0.9)], order, NOW, store=store)
    from bot.playbook.casenotes import CaseNotes, log_case
    from bot.shop.cases import CaseLog

    log_case(CaseLog(store), CaseNotes.load(PROJECT_ROOT / "case_notes.yml"), conversation="c1",
             intent="price_drop_refund", reply=scenario_reply("price_drop_refund", order, NOW, policy, store),
             order=order, now=NOW)
    (status,) = assistant.suggest([("refund_status", 0.9)], order, NOW, "退差价到哪了", store=store)
    bot = scenario_reply("refund_status", order, NOW, policy, store, "退差价到哪了")
    assert status.response == bot.response and bot.response.endswith("_status_needs_approval")
    (wrong,) = assistant.suggest([("wrong_item", 0.9)], order, NOW, "颜色发错了", store=store,
                                 entities={"aspect": ["颜色"]})
    bot = scenario_reply("wrong_item", order, NOW, policy, store, "颜色发错了", {"aspect": ["颜色"]})
    bot = resolved(bot, assistant.responses)
    assert wrong.response == bot.response
    assert wrong.reply == "\n".join(assistant.fill(bubble, bot.facts) for bubble in bot.bubbles)
    assert "颜色" in wrong.reply


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
