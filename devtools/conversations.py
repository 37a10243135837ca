"""The scripted conversations of tests/conversations.yml, read once for every user.

Users: the e2e REST tests (tests/e2e/test_e2e_rest.py), the load run (scripts/bench.py)
and the scaled stack's test (tests/scale/test_scale_out.py). The file's header
describes the format; ``load`` checks it and fails naming the conversation and turn.

An expectation is a substring of the reply, or the name of a domain response
(``utter_...``): then the reply must contain one of that response's texts, each
``{placeholder}`` matching any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Pattern, Tuple

import yaml

from bot.settings import PROJECT_ROOT
from rasa_adapter import project_files

CONVERSATIONS = PROJECT_ROOT / "tests" / "conversations.yml"
RESPONSE_NAME = re.compile(r"utter_[a-z0-9_]+")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


class ConversationError(ValueError):
    """conversations.yml does not say what it should; the message names where."""


@dataclass(frozen=True)
class Expect:
    """What a reply must contain: ``text``, or (a response name) one of ``patterns``."""

    text: str
    patterns: Tuple[Pattern[str], ...] = ()

    def met_by(self, reply: str) -> bool:
        if self.patterns:
            return any(p.search(reply) for p in self.patterns)
        return self.text in reply


@dataclass(frozen=True)
class Turn:
    say: str
    expect: Tuple[Expect, ...]

    def missing(self, reply: str) -> List[str]:
        """The expectations ``reply`` (all of a turn's messages, joined) does not meet."""
        return [e.text for e in self.expect if not e.met_by(reply)]

    def renamed(self, names: Mapping[str, str]) -> Turn:
        """This turn with every name in ``names`` (a number, an account) replaced."""
        return Turn(_rename(self.say, names),
                    tuple(e if e.patterns else Expect(_rename(e.text, names)) for e in self.expect))


def _rename(text: str, names: Mapping[str, str]) -> str:
    """One pass, longest name first (a new name is never renamed again)."""
    if not names:
        return text
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: names[m.group(0)], text)


@dataclass(frozen=True)
class Case:
    """A case the conversation leaves in the case log."""

    intent: str
    order: str
    rating: Optional[int] = None


@dataclass(frozen=True)
class Conversation:
    name: str
    buyer: Optional[str]  # a logged-in sample buyer; None: an anonymous visitor
    turns: Tuple[Turn, ...]
    cases: Optional[Tuple[Case, ...]] = None  # None: not declared
    repeatable: bool = True

    @property
    def anonymous(self) -> bool:
        return self.buyer is None

    def renamed(self, names: Mapping[str, str]) -> Conversation:
        """The same conversation about other orders: every order number, tracking number
        and buyer account in ``names`` replaced by its new name (for a copy of the sample
        buyer: bot.shop.sample_data.copy_names)."""
        return replace(self, buyer=None if self.buyer is None else names.get(self.buyer, self.buyer),
                       turns=tuple(t.renamed(names) for t in self.turns), cases=None)


def response_patterns(name: str, responses: Dict[str, List[Dict[str, Any]]]) -> Tuple[Pattern[str], ...]:
    """One pattern per text of a domain response, its ``{placeholders}`` matching any text."""
    patterns = []
    for variant in responses[name]:
        parts = PLACEHOLDER.split(str(variant.get("text", "")))
        patterns.append(re.compile(".+?".join(re.escape(p) for p in parts), re.S))
    return tuple(patterns)


def _expect(item: object, responses: Dict[str, List[Dict[str, Any]]], where: str) -> Expect:
    if not isinstance(item, str | int) or str(item) == "":
        raise ConversationError(f"{where}: an expectation must be a non-empty string, not {item!r}")
    text = str(item)
    if RESPONSE_NAME.fullmatch(text):
        if text not in responses:
            raise ConversationError(f"{where}: {text} is not a response of domain.yml")
        return Expect(text, response_patterns(text, responses))
    return Expect(text)


def _conversation(entry: object, responses: Dict[str, List[Dict[str, Any]]], number: int) -> Conversation:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ConversationError(f"conversation {number}: a mapping with a name")
    name = entry["name"]
    unknown = set(entry) - {"name", "buyer", "anonymous", "turns", "cases", "repeatable"}
    if unknown:
        raise ConversationError(f"{name}: unknown keys {sorted(unknown)}")
    buyer = entry.get("buyer")
    if (buyer is None) == (entry.get("anonymous") is not True) or (buyer is not None and "anonymous" in entry):
        raise ConversationError(f"{name}: say either `buyer: ACCOUNT` or `anonymous: true`")
    if not isinstance(entry.get("turns"), list) or not entry["turns"]:
        raise ConversationError(f"{name}: no turns")
    turns = []
    for i, turn in enumerate(entry["turns"], start=1):
        where = f"{name}, turn {i}"
        if not isinstance(turn, dict) or set(turn) - {"say", "expect"} or "say" not in turn:
            raise ConversationError(f"{where}: a mapping of `say` and `expect`")
        expect = turn.get("expect") or []
        if not isinstance(expect, list):
            raise ConversationError(f"{where}: `expect` is a list")
        turns.append(Turn(str(turn["say"]), tuple(_expect(e, responses, where) for e in expect)))
    cases = None
    if "cases" in entry:
        cases = []
        for case in entry["cases"] or []:
            if not isinstance(case, list) or len(case) != 3:
                raise ConversationError(f"{name}: a case is [intent, order, rating or null], not {case!r}")
            intent, order, rating = case
            cases.append(Case(str(intent), str(order), None if rating is None else int(rating)))
    repeatable = entry.get("repeatable", True)
    if not isinstance(repeatable, bool):
        raise ConversationError(f"{name}: `repeatable` is true or false")
    return Conversation(name, None if buyer is None else str(buyer), tuple(turns),
                        None if cases is None else tuple(cases), repeatable)


def parse(data: object, responses: Dict[str, List[Dict[str, Any]]]) -> Tuple[Conversation, ...]:
    """The conversations of a loaded conversations.yml, checked."""
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise ConversationError("a mapping with a `conversations` list")
    conversations = tuple(_conversation(e, responses, n) for n, e in enumerate(data["conversations"], 1))
    names = [c.name for c in conversations]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConversationError(f"names used twice: {twice}")
    return conversations


@cache
def load(path: Path = CONVERSATIONS) -> Tuple[Conversation, ...]:
    """Every conversation of ``path`` (tests/conversations.yml)."""
    return parse(yaml.safe_load(path.read_text(encoding="utf-8")), project_files.responses())


def named(name: str, path: Path = CONVERSATIONS) -> Conversation:
    for conversation in load(path):
        if conversation.name == name:
            return conversation
    raise KeyError(f"no conversation named {name!r} in {path}")
