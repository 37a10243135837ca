"""Checks on the trainer's YAML that Rasa's own validation does not make."""

from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def domain_intents():
    return set(load(PROJECT_ROOT / "domain" / "core.yml")["intents"])


def test_every_intent_has_a_conversation_test():
    stories = load(PROJECT_ROOT / "tests" / "test_stories.yml")["stories"]
    tested = {step["intent"] for story in stories for step in story["steps"] if "intent" in step}
    assert domain_intents() - tested == set()


def test_every_intent_has_training_and_held_out_examples():
    def intents(paths):
        return {block["intent"] for p in paths for block in load(p)["nlu"] if "intent" in block}

    assert domain_intents() - intents((PROJECT_ROOT / "data" / "nlu").glob("*.yml")) == set()
    assert domain_intents() - intents([PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml"]) == set()
