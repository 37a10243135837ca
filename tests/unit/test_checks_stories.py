"""make test's conversation step names a failed story at its line in tests/test_stories.yml."""

from __future__ import annotations

import importlib.util

from bot.settings import PROJECT_ROOT


def load_checks():
    spec = importlib.util.spec_from_file_location("checks", PROJECT_ROOT / "scripts" / "checks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# what `rasa test core --e2e` writes (rasa/core/test.py, YAMLStoryWriter) for a stale label
FAILED = """version: "3.1"
stories:
- story: out of scope gets an honest answer (tests/test_stories.yml)
  steps:
  - intent: out_of_scope  # predicted: invoice_request: 能开发票吗
  - action: utter_out_of_scope  # predicted: utter_invoice_request
"""


def test_a_stale_label_is_named_at_the_story_s_sentence(tmp_path):
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text(FAILED, encoding="utf-8")
    stories = PROJECT_ROOT / "tests" / "test_stories.yml"
    lines = stories.read_text(encoding="utf-8").splitlines()
    sentence = next(n for n, line in enumerate(lines, 1) if line.strip() == "能开发票吗")
    start = next(n for n, line in enumerate(lines, 1) if "story: out of scope gets an honest answer" in line)
    messages = load_checks().story_failures(str(failed), "tests/test_stories.yml")
    assert messages == [
        f"tests/test_stories.yml:{sentence}: story 'out of scope gets an honest answer': 「能开发票吗」 "
        "is labelled out_of_scope, the model says invoice_request",
        f"tests/test_stories.yml:{start}: story 'out of scope gets an honest answer': "
        "action: utter_out_of_scope expected, the assistant chose utter_invoice_request",
    ]


def test_no_failure_no_message(tmp_path):
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text("# None of the test stories failed - all good!", encoding="utf-8")
    assert load_checks().story_failures(str(failed), "tests/test_stories.yml") == []


def test_a_turn_any_form_takes_is_not_held_to_its_label(tmp_path):
    stories = tmp_path / "test_stories.yml"
    stories.write_text("stories:\n  - story: s\n    steps:\n      - user: |\n          上海市徐汇区\n"
                       "        intent: inform  # any intent: address_form takes the text\n", encoding="utf-8")
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text("stories:\n- story: s (x/test_stories.yml)\n  steps:\n"
                      "  - intent: inform  # predicted: nlu_fallback: 上海市徐汇区\n", encoding="utf-8")
    assert load_checks().story_failures(str(failed), str(stories)) == []


def test_a_run_that_tested_no_story_fails(tmp_path, capsys):
    failed = tmp_path / "failed_test_stories.yml"
    failed.write_text("# None of the test stories failed - all good!", encoding="utf-8")
    log = tmp_path / "stories.log"
    log.write_text("INFO rasa.core.test - Evaluating 0 stories\n", encoding="utf-8")
    assert load_checks().stories(str(failed), "tests/test_stories.yml", str(log)) == 1
    assert "no conversation test ran" in capsys.readouterr().out
