"""rasa_adapter/project_files.py reads the layout Rasa's own commands expect in the root."""

import os

import yaml
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.data import get_data_files

from bot.settings import PROJECT_ROOT
from rasa_adapter import project_files as pf


def test_the_rasa_files_are_where_rasa_looks_for_them():
    for path in (pf.DOMAIN, pf.NLU, pf.RULES, pf.STORIES, pf.TEST_STORIES, "config.yml",
                 "endpoints.yml", "credentials.yml"):
        assert (PROJECT_ROOT / path).is_file(), path
    assert not (PROJECT_ROOT / "domain").exists(), "a domain/ folder beside domain.yml confuses `rasa train`"


def test_plain_rasa_test_finds_only_our_conversation_tests():
    """`rasa test` walks "." for test stories, .venv and node_modules included."""
    cwd = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        found = get_data_files(["."], YAMLStoryReader.is_test_stories_file)
    finally:
        os.chdir(cwd)
    assert sorted(os.path.normpath(f) for f in found) == [str(pf.TEST_STORIES)]


def test_stories_are_multi_turn_and_rules_answer_every_scenario():
    stories = yaml.safe_load((PROJECT_ROOT / pf.STORIES).read_text(encoding="utf-8"))["stories"]
    assert stories
    for story in stories:
        intents = [s for s in story["steps"] if "intent" in s]
        assert len(intents) >= 2, f"{story['story']}: a one-step flow belongs in data/rules.yml"
    answered = pf.rule_responses()
    assert answered["greet"] == "utter_greet"
    assert "track_parcel" not in answered  # answered by the order form and an action, not a response


def test_responses_and_nlu_examples_are_read_from_the_one_domain_and_nlu_file():
    responses = pf.responses()
    assert "utter_greet" in responses and responses["utter_greet"][0]["text"]
    examples = pf.nlu_examples([PROJECT_ROOT / pf.NLU])
    intents = {intent for intent, _ in examples}
    assert {"track_parcel", "out_of_scope", "inform"} <= intents
    assert all("](" not in text for _, text in examples), "annotations are removed"


def test_nlu_yaml_is_written_one_line_per_example_and_read_back(tmp_path):
    text = pf.to_nlu_yaml([("greet", "你好\n呀"), ("greet", "你好 呀"), ("thank", "谢谢")], "# review\n")
    assert text.startswith("# review\n")
    path = tmp_path / "nlu.yml"
    path.write_text(text, encoding="utf-8")
    assert pf.nlu_examples([path]) == [("greet", "你好 呀"), ("thank", "谢谢")]
