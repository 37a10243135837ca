"""Asking when unsure: what bot.playbook.clarify offers, and the action's buttons."""

import yaml

from actions.clarify import ActionClarifyIntent
from bot.playbook.clarify import NONE_OF_THEM, TOPICS, candidates, misses_in_a_row, plan_question
from bot.settings import PROJECT_ROOT
from tests.helpers.shop import responses

RANKING = [
    {"name": "nlu_fallback", "confidence": 0.45},
    {"name": "refund_status", "confidence": 0.31},
    {"name": "greet", "confidence": 0.2},
    {"name": "track_parcel", "confidence": 0.28},
    {"name": "out_of_scope", "confidence": 0.1},
    {"name": "return_or_exchange", "confidence": 0.05},
    {"name": "complaint", "confidence": 0.01},
]


def user(intent):
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


def domain():
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def test_the_three_likeliest_topics_are_offered_best_first_without_small_talk():
    assert candidates(RANKING) == ("refund_status", "track_parcel", "return_or_exchange")
    assert candidates([]) == ()


def test_only_misses_at_the_end_of_the_conversation_count():
    assert misses_in_a_row(["track_parcel", "nlu_fallback"]) == 1
    assert misses_in_a_row(["nlu_fallback", "track_parcel", "nlu_fallback", "nlu_fallback"]) == 2
    assert misses_in_a_row(["nlu_fallback", "refund_status"]) == 0


def test_the_second_miss_in_a_row_hands_over():
    assert not plan_question(RANKING, ["greet", "nlu_fallback"]).hand_over
    assert plan_question(RANKING, ["nlu_fallback", "nlu_fallback"]).hand_over


def test_every_topic_that_can_be_offered_is_an_intent_with_a_button_title():
    titles = domain()["responses"]
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain()["intents"]]
    offered = candidates([{"name": i, "confidence": 0.5} for i in intents], limit=len(intents))
    assert set(offered) == set(TOPICS) and NONE_OF_THEM[0] in intents
    assert all(TOPICS[i] in titles for i in offered) and NONE_OF_THEM[1] in titles


async def test_a_first_miss_asks_with_the_candidates_as_intent_payloads(dispatcher, make_tracker):
    tracker = make_tracker(text="那个东西的事", intent="nlu_fallback", events=[user("nlu_fallback")])
    tracker.latest_message["intent_ranking"] = RANKING
    events = await ActionClarifyIntent().run(dispatcher, tracker, domain())
    assert events == [] and responses(dispatcher) == ["utter_clarify"]
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/refund_status", "/track_parcel", "/return_or_exchange",
                                              "/request_human"]
    assert buttons[-1]["title"] == "都不是，转人工"


async def test_a_second_miss_in_a_row_goes_to_an_agent(dispatcher, make_tracker):
    tracker = make_tracker(text="还是那个", intent="nlu_fallback",
                           events=[user("nlu_fallback"), user("nlu_fallback")])
    tracker.latest_message["intent_ranking"] = RANKING
    events = await ActionClarifyIntent().run(dispatcher, tracker, domain())
    assert events == [{"event": "followup", "timestamp": None, "name": "action_handoff"}]
    assert dispatcher.messages == []


async def test_nothing_to_offer_asks_to_rephrase(dispatcher, make_tracker):
    tracker = make_tracker(text="？？", intent="nlu_fallback", events=[user("nlu_fallback")])
    tracker.latest_message["intent_ranking"] = [{"name": "greet", "confidence": 0.3}]
    await ActionClarifyIntent().run(dispatcher, tracker, domain())
    assert responses(dispatcher) == ["utter_ask_rephrase"]
