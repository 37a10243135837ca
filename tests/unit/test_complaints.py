"""Complaints (bot/playbook/complaints.py): the signs that send one to a supervisor, read
from complaint_signs.yml, and the replies once it is recorded; the case flags in the log."""

from datetime import datetime, timedelta

import pytest
import yaml

from bot.playbook import complaints
from bot.playbook.complaints import ComplaintSigns, SignsError, escalation_signs
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseLog, CaseState, Escalation
from tests.helpers.shop import NOW

SIGNS = ComplaintSigns.load(PROJECT_ROOT / "complaint_signs.yml")
REVIEW, AUTHORITY, MONEY, OFF_PLATFORM = (s.label for s in SIGNS.signs)
REPEATED = SIGNS.repeated_label

IN_SHIFT = datetime(2026, 11, 20, 2, 0)  # 10:00 in Shanghai
OFF_SHIFT = datetime(2026, 11, 20, 15, 0)  # 23:00


@pytest.mark.parametrize("message", [
    "我要投诉", "你们服务太差了", "快递三天没动，客服也不回", "东西挺好的，给个好评", "评价一下",
    "返现活动什么时候结束", "微信支付可以吗",
])
def test_a_complaint_without_threats_stays_with_the_shift(message):
    assert escalation_signs([message], SIGNS) == ()


@pytest.mark.parametrize("message, labels", [
    ("再不处理我就给差评", (REVIEW,)),
    ("服務太差，給差評", (REVIEW,)),
    ("我要打12315", (AUTHORITY,)),
    ("我要打１２３１５", (AUTHORITY,)),  # full-width digits
    ("申请淘宝小二介入", (AUTHORITY,)),
    ("我要维权", (AUTHORITY,)),
    ("我要投 诉到工商局", (AUTHORITY,)),  # spaces do not hide a word
    ("给我返现50元我就给好评", (MONEY,)),
    ("加我 VX 也行，加QQ私聊", (OFF_PLATFORM,)),
    ("赔我200块，不然差评", (REVIEW, MONEY)),
])
def test_threats_and_the_signs_of_a_professional_bad_reviewer_are_found(message, labels):
    assert escalation_signs([message], SIGNS) == labels


def test_money_and_a_review_must_both_be_named():
    assert escalation_signs(["能不能给我返现"], SIGNS) == ()
    assert escalation_signs(["我会写评价的"], SIGNS) == ()
    assert escalation_signs(["能不能给我返现，我会写评价的"], SIGNS) == (MONEY,)


def test_threats_in_two_messages_are_repeated_threats_but_two_in_one_are_not():
    assert REPEATED not in escalation_signs(["差评，12315"], SIGNS)
    assert escalation_signs(["我要给差评", "你好", "还要打12315"], SIGNS) == (REVIEW, AUTHORITY, REPEATED)
    assert escalation_signs(["差评", "差评"], SIGNS) == (REVIEW, REPEATED)  # each label once


@pytest.mark.parametrize("message", [
    "我不会给差评的", "不是要投诉", "我没想找12315", "放心不会差评", "我是不会去给差评的",
    "放心，我不会差评", "我不是要给差评，只想问问", "我从没想过找12315",
])
def test_a_threat_said_with_a_negation_is_none(message):
    assert escalation_signs([message], SIGNS) == ()


@pytest.mark.parametrize("message, labels", [
    ("不给退款我就差评", (REVIEW,)),
    ("再不处理我就投诉到12315", (AUTHORITY,)),
    ("你们不会处理的话我就差评", (REVIEW,)),  # the negator is in the condition
    ("不会再买了，差评", (REVIEW,)),  # the negator is in another clause
    ("东西不是正品我要差评", (REVIEW,)),  # too far before the sign
    ("我不会给差评，但我会找12315", (AUTHORITY,)),  # one sign negated, the other not
    ("不会差评是不可能的，差评", (REVIEW,)),  # a second, plain occurrence counts
])
def test_conditional_threats_and_negators_out_of_reach_still_count(message, labels):
    assert escalation_signs([message], SIGNS) == labels


def test_negation_reaches_only_the_window_before_the_word_in_its_clause():
    negation = complaints.Negation(("不会",), ("就",), 3)
    text = complaints.fold("我不会给差评")
    assert complaints.negated(text, text.index("差评"), negation)
    assert not complaints.negated(text, text.index("差评"), complaints.Negation(("不会",), ("就",), 1))
    assert not complaints.negated("不会,差评", 3, negation)  # another clause
    assert not complaints.negated("不会就差评", 3, negation)  # after a conditional marker
    assert not complaints.negated("差评", 0, negation)  # nothing before
    assert not complaints.negated("我不会给差评", 4, complaints.NO_NEGATION)


def test_without_a_negation_entry_every_sign_counts():
    raw = yaml.safe_load((PROJECT_ROOT / "complaint_signs.yml").read_text(encoding="utf-8"))
    del raw["negation"]
    assert escalation_signs(["我不会给差评的"], ComplaintSigns.from_mapping(raw)) == (REVIEW,)


def test_trainers_extend_the_words_in_yaml(tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / "complaint_signs.yml").read_text(encoding="utf-8"))
    raw["signs"][0]["any"].append("黑猫投诉")
    path = tmp_path / "signs.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert escalation_signs(["我去黑猫投诉"], ComplaintSigns.load(path)) == (REVIEW,)
    assert escalation_signs(["我去黑猫投诉"], SIGNS) == ()


OK = {"signs": [{"name": "x", "label": "X", "any": ["a"]}], "repeated": {"label": "R", "min_messages": 2}}


@pytest.mark.parametrize("raw, message", [
    ({}, "non-empty list 'signs'"),
    ({"signs": [{"name": "x", "label": "X"}], "repeated": {"label": "R", "min_messages": 2}}, "(x) needs one of"),
    ({"signs": [{"name": "x", "label": "X", "any": ["a"], "all": [["b"]]}],
      "repeated": {"label": "R", "min_messages": 2}}, "(x) needs one of"),
    ({"signs": [{"name": "x", "label": "X", "any": ["a", " "]}],
      "repeated": {"label": "R", "min_messages": 2}}, "empty word"),
    ({"signs": [{"name": "x", "label": "X", "all": [["a"], []]}],
      "repeated": {"label": "R", "min_messages": 2}}, "list is empty"),
    ({"signs": [{"name": "x", "any": ["a"]}], "repeated": {"label": "R", "min_messages": 2}}, "name and a label"),
    ({"signs": [{"name": "x", "label": "X", "any": ["a"]}], "repeated": {"label": "R", "min_messages": 1}},
     "at least 2"),
    ({"signs": [{"name": "x", "label": "X", "any": ["a"]}]}, "'repeated' needs"),
    ({**OK, "negation": ["不会"]}, "negation needs"),
    ({**OK, "negation": {"negators": [], "conditionals": ["就"], "window": 4}}, "negators must be"),
    ({**OK, "negation": {"negators": ["不会"], "conditionals": [" "], "window": 4}}, "conditionals must be"),
    ({**OK, "negation": {"negators": ["不会"], "conditionals": ["就"], "window": 0}}, "window must be"),
    ({**OK, "negation": {"negators": ["不会"], "conditionals": ["就"], "window": True}}, "window must be"),
])
def test_a_malformed_signs_file_is_refused_naming_the_entry(raw, message):
    with pytest.raises(SignsError, match="signs.yml") as error:
        ComplaintSigns.from_mapping(raw, "signs.yml")
    assert message in str(error.value)


def test_a_recorded_complaint_goes_to_the_shift_on_duty_or_the_next_one(policy):
    assert complaints.recorded_reply(IN_SHIFT, policy).response == "utter_complaint_recorded_now"
    closed = complaints.recorded_reply(OFF_SHIFT, policy)
    assert (closed.response, closed.facts) == ("utter_complaint_recorded_closed", {"next_shift": "11月21日 09:00"})


def test_the_supervisor_reply_names_the_time_in_the_shops_clock_rounded_up_for_people(policy):
    reply = complaints.supervisor_reply(datetime(2026, 11, 21, 2, 0), policy)  # 10:00 in Shanghai
    assert reply.facts == {"answer_by": "11月21日中午12点前"}


def test_the_customers_words_keep_what_was_said_first():
    assert complaints.complaint_words("我要投诉", "面膜少了两片") == "我要投诉 / 面膜少了两片"
    assert complaints.complaint_words("我要投诉 / 面膜少了两片", "面膜少了两片") == "我要投诉 / 面膜少了两片"
    assert complaints.complaint_words(None, "面膜少了两片") == "面膜少了两片"
    assert complaints.complaint_words("我要投诉", "") == "我要投诉"


def register(log, conversation, escalation, now=NOW):
    return log.register(conversation_id=conversation, intent="complaint", state=CaseState.ESCALATED,
                        next_step="x", note="y", now=now, escalation=escalation)


def test_the_supervisors_queue_has_the_escalated_cases_most_urgent_first(store):
    log = CaseLog(store)
    plain = register(log, "c1", Escalation(kind="complaint", priority=1))
    assert (plain.kind, plain.priority, plain.escalated_to) == ("complaint", 1, None)
    first = register(log, "c2", Escalation("complaint", 2, "supervisor", "威胁给中差评"))
    second = register(log, "c3", Escalation("complaint", 2, "supervisor", "多次威胁"), now=NOW + timedelta(hours=1))
    assert [c.id for c in log.escalated_to("supervisor")] == [first.id, second.id]
    assert log.escalated_to("supervisor")[0].escalation_reason == "威胁给中差评"
    log.close(first.id, NOW)
    assert [c.id for c in log.escalated_to("supervisor")] == [second.id]


def test_a_flagged_case_is_never_lowered_by_a_later_update(store):
    log = CaseLog(store)
    case = register(log, "c1", Escalation("complaint", 2, "supervisor", "威胁给中差评"))
    again = register(log, "c1", Escalation(kind="complaint", priority=1))
    assert again.id == case.id
    assert (again.priority, again.escalated_to, again.escalation_reason) == (2, "supervisor", "威胁给中差评")
    plain = log.register(conversation_id="c9", intent="track_parcel", state=CaseState.RESOLVED,
                         next_step="x", note="y", now=NOW)
    assert (plain.kind, plain.priority, plain.escalated_to) == (None, 0, None)


def test_a_supervisors_case_has_the_supervisors_checklist_and_others_their_intents(store):
    log = CaseLog(store)
    lists = {"complaint": ["倾听"], complaints.SUPERVISOR_CHECKLIST: ["截图给小二"]}
    plain = register(log, "c1", Escalation(kind="complaint", priority=1))
    escalated = register(log, "c2", Escalation("complaint", 2, "supervisor", "威胁给中差评"))
    assert complaints.checklist_for(plain, lists) == ["倾听"]
    assert complaints.checklist_for(escalated, lists) == ["截图给小二"]


def test_the_projects_supervisor_checklist_is_seed_004s():
    from rasa_adapter.project_files import checklists

    steps = checklists()[complaints.SUPERVISOR_CHECKLIST]
    assert any("书面" in s or "写明诉求" in s for s in steps)
    assert any("截图" in s and "小二" in s for s in steps)
    assert any("平台外" in s for s in steps)
