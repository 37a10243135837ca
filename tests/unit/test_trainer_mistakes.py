"""The trainer's mistakes of issue 14, replayed on a copy of the data: `make validate`'s
checks (scripts/validate.py) report each at the right file and line, quoting the text
as written."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import List

import pytest

from bot.settings import PROJECT_ROOT

# the files a trainer edits (the code stays the project's)
DATA_FILES = ["domain.yml", "config.yml", "data", "tests/nlu", "tests/test_stories.yml",
              "agent_checklists.yml", "shop.yml", "playbook.yml"]


def load_validate():
    spec = importlib.util.spec_from_file_location("validate", PROJECT_ROOT / "scripts" / "validate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = load_validate()


def copy_project(to: Path) -> Path:
    for name in DATA_FILES:
        source, target = PROJECT_ROOT / name, to / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return to


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "copy")


def line_of(path: Path, text: str, after: int = 0) -> int:
    """The 1-based number of the first line after line ``after`` equal to ``text`` (stripped)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number > after and line.strip() == text:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text, encoding="utf-8")


def declare_intent(root: Path, intent: str) -> None:
    domain = root / "domain.yml"
    after = line_of(domain, "- confirm_receipt")
    lines = domain.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(after, f"  - {intent}\n")
    domain.write_text("".join(lines), encoding="utf-8")


def errors(root: Path) -> List[str]:
    found, _ = validate.check(root)
    return found


def reported(found: List[str], where: str, *words: str) -> bool:
    return any(e.startswith(where + ": ") and all(w in e for w in words) for e in found)


def test_the_copy_of_the_project_has_no_error(project):
    assert errors(project) == []


def test_an_example_line_without_its_dash(project):
    nlu = project / "data" / "nlu.yml"
    n = line_of(nlu, "- 发票怎么开")
    replace_line(nlu, n, "    发票怎么开")
    found = errors(project)
    assert reported(found, f"data/nlu.yml:{n}", "「发票怎么开」", 'does not start with "- "', "out_of_scope"), found


def test_an_intent_typo_in_a_held_out_file(project):
    held_out = project / "tests" / "nlu" / "test_service.yml"
    n = line_of(held_out, "- intent: request_human")
    replace_line(held_out, n, "- intent: request_humen")
    found = errors(project)
    assert reported(found, f"tests/nlu/test_service.yml:{n}", "request_humen",
                    "not declared in domain.yml", "did you mean request_human?"), found


def test_an_intent_in_the_data_but_not_declared(project):
    nlu = project / "data" / "nlu.yml"
    append(nlu, "- intent: invoice_request\n  examples: |\n    - 电子发票在哪下载呢\n")
    n = line_of(nlu, "- intent: invoice_request")
    found = errors(project)
    assert reported(found, f"data/nlu.yml:{n}", "intent invoice_request is not declared in domain.yml"), found


def test_a_missing_agent_checklist(project):
    checklists = project / "agent_checklists.yml"
    n = next(i for i, line in enumerate(checklists.read_text(encoding="utf-8").splitlines(), 1)
             if line.startswith("product_no_effect:"))
    replace_line(checklists, n, "")
    found = errors(project)
    assert any(e.startswith("agent_checklists.yml:") and "intent product_no_effect" in e
               and "has no checklist" in e for e in found), found
    # a typo in the checklist's name: at its line
    replace_line(checklists, n, "product_no_efect: [询问服用时长和方法]")
    found = errors(project)
    assert reported(found, f"agent_checklists.yml:{n}", "product_no_efect", "did you mean product_no_effect?"), found


def test_an_intent_or_response_typo_in_a_rule_is_reported_at_the_rule(project):
    rules = project / "data" / "rules.yml"
    rule = line_of(rules, "- rule: FAQ, the product shows no effect")
    intent = line_of(rules, "- intent: product_no_effect", after=rule)
    action = line_of(rules, "- action: utter_product_no_effect", after=rule)
    replace_line(rules, intent, "      - intent: product_no_efect")
    replace_line(rules, action, "      - action: utter_product_no_efect")
    found = errors(project)
    assert reported(found, f"data/rules.yml:{intent}", "product_no_efect", "did you mean product_no_effect?"), found
    assert reported(found, f"data/rules.yml:{action}", "utter_product_no_efect",
                    "did you mean utter_product_no_effect?"), found


def test_an_intent_typo_in_a_conversation_test_is_reported_at_its_step(project):
    stories = project / "tests" / "test_stories.yml"
    n = line_of(stories, "intent: product_no_effect")
    replace_line(stories, n, "        intent: product_no_efect")
    found = errors(project)
    assert reported(found, f"tests/test_stories.yml:{n}", "product_no_efect"), found


def test_a_traditional_duplicate_is_quoted_as_written_even_when_its_simplified_twin_repeats(project):
    """out_of_scope has 能开发票吗 and 能開發票嗎; a new intent takes 能开发票吗 only."""
    nlu = project / "data" / "nlu.yml"
    simplified, traditional = line_of(nlu, "- 能开发票吗"), line_of(nlu, "- 能開發票嗎")
    declare_intent(project, "invoice_request")
    append(nlu, "- intent: invoice_request\n  examples: |\n    - 能开发票吗\n")
    new = line_of(nlu, "- 能开发票吗", after=simplified)
    found = errors(project)
    assert reported(found, f"data/nlu.yml:{traditional}", "「能開發票嗎」", "out_of_scope",
                    f"under invoice_request at data/nlu.yml:{new}"), found
    assert reported(found, f"data/nlu.yml:{simplified}", "「能开发票吗」"), found
    assert reported(found, f"data/nlu.yml:{new}", "「能开发票吗」", "under out_of_scope"), found


def test_rasa_s_warnings_are_shown_and_its_false_unused_warnings_answered(project):
    log = (
        "\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_track_signed' is not used "
        "in any story or rule.\n\x1b[0m"
        "\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The utterance 'utter_nobody_sends' is not used "
        "in any story or rule.\n\x1b[0m"
        "\x1b[93m/x/io.py:100: UserWarning: The action 'utter_invoice_requst' is used in the stories, but is "
        "not a valid utterance action.\n  More info at https://rasa.com/docs/rasa/actions\n\x1b[0m"
    )
    shown, hidden = validate.rasa_messages(log, validate.Project(project))
    assert hidden == 1  # utter_track_signed is sent by actions/
    assert shown == [
        "The utterance 'utter_nobody_sends' is not used in any story or rule.",
        "The action 'utter_invoice_requst' is used in the stories, but is not a valid utterance action.",
    ]


def test_a_conversation_test_labelled_against_the_training_data(project):
    """能开发票吗 taught as invoice_request while a story still says out_of_scope."""
    nlu, stories = project / "data" / "nlu.yml", project / "tests" / "test_stories.yml"
    replace_line(nlu, line_of(nlu, "- 能开发票吗"), "    - 讲个笑话吧")
    declare_intent(project, "invoice_request")
    append(nlu, "- intent: invoice_request\n  examples: |\n    - 能开发票吗\n")
    story = line_of(stories, "能开发票吗")
    label = line_of(stories, "intent: out_of_scope", after=story)
    found = errors(project)
    assert reported(found, f"tests/test_stories.yml:{label}", "「能开发票吗」 is labelled out_of_scope",
                    "teaches it as invoice_request"), found


def test_rasa_s_own_run_on_a_mistake_is_shown_on_screen(project):
    """`rasa data validate` exits 0 on an undeclared intent in a rule; make validate shows
    its warning, and not its 70-odd false "utterance not used" ones."""
    import os
    import subprocess

    rules = project / "data" / "rules.yml"
    rule = line_of(rules, "- rule: FAQ, the product shows no effect")
    replace_line(rules, line_of(rules, "- intent: product_no_effect", after=rule),
                 "      - intent: product_no_efect")
    done = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "rasa"), "data", "validate"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"})
    shown, hidden = validate.rasa_messages(done.stdout + done.stderr, validate.Project(project))
    assert any("product_no_efect" in m and "not part of the domain" in m for m in shown), shown
    assert not any(m.startswith("The utterance") for m in shown), shown
    assert hidden > 50


def test_a_yaml_mistake_is_named_at_its_line_before_anything_else(project):
    rules = project / "data" / "rules.yml"
    n = line_of(rules, "- action: utter_product_no_effect")
    replace_line(rules, n, "      - action: utter_product_no_effect: [")
    found = errors(project)
    assert len(found) == 1 and found[0].startswith("data/rules.yml:"), found
    assert "not valid YAML" in found[0]


def test_rasa_s_error_is_shown_with_its_place(project):
    log = ("\x1b[91mYamlSyntaxException: Failed to read 'data/rules.yml'. mapping values are not allowed here\n"
           '  in "data/rules.yml", line 449, column 40:\n\nYou can use https://yamlchecker.com/\x1b[0m\n')
    shown, _ = validate.rasa_messages(log, validate.Project(project))
    assert shown == ["YamlSyntaxException: Failed to read 'data/rules.yml'. mapping values are not allowed "
                     'here in "data/rules.yml", line 449, column 40:']
