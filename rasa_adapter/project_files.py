"""The project's Rasa files, read (and NLU YAML written) in one place.

Used by agent assist, the trainer's checks (scripts/validate.py), the evaluation
and the tests, so a change of layout is made here once. Paths are those of the
layout Rasa's own commands expect in the project root: ``domain.yml``,
``data/nlu.yml`` (and ``data/entities.yml``), ``data/rules.yml``,
``data/stories.yml`` and the conversation tests ``tests/test_stories.yml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Sequence, Tuple

import yaml

from bot.assist import AgentAssist
from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import ShopPolicy
from bot.settings import PROJECT_ROOT

DOMAIN = Path("domain.yml")
NLU = Path("data/nlu.yml")
ENTITIES = Path("data/entities.yml")
RULES = Path("data/rules.yml")
STORIES = Path("data/stories.yml")
TEST_STORIES = Path("tests/test_stories.yml")
HELD_OUT_NLU = Path("tests/nlu")
CHECKLISTS = Path("agent_checklists.yml")

# ``[text](entity)`` in a training example; the text is what the customer wrote
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")

Where = Tuple[str, int]


def _load(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def domain(root: Path = PROJECT_ROOT) -> Dict[str, Any]:
    return _load(root / DOMAIN)


def responses(root: Path = PROJECT_ROOT) -> Dict[str, List[Dict[str, Any]]]:
    """Every response of the domain: name → its variants (``[{"text": ...}, ...]``)."""
    return dict(domain(root).get("responses") or {})


def response_text(name: str, root: Path = PROJECT_ROOT) -> str:
    """The first text of one domain response."""
    return str(responses(root)[name][0]["text"])


def rule_responses(root: Path = PROJECT_ROOT) -> Dict[str, str]:
    """intent → the response an unconditioned rule sends for it (chit-chat, FAQ)."""
    found: Dict[str, str] = {}
    data = _load(root / RULES)
    for rule in data.get("rules") or []:
        if rule.get("condition"):
            continue
        steps = rule.get("steps") or []
        for step, following in zip(steps, steps[1:]):
            action = following.get("action", "")
            if "intent" in step and action.startswith("utter_"):
                found.setdefault(step["intent"], action)
    return found


def example_text(line: str) -> str:
    """An example line of the NLU data (``- text``) as the customer wrote it.

    Like Rasa: the leading ``-`` is what makes a line an example (``-text`` counts too).
    """
    return ANNOTATION.sub(r"\1", line.strip()[1:].strip())


class Block(NamedTuple):
    """One entry of an NLU file's ``nlu:`` list, with the lines of its ``examples: |``."""

    kind: str  # intent, lookup, regex or synonym
    name: str
    line: int  # 1-based line of ``- intent: name``
    examples: List[Tuple[int, str]]  # (1-based line, the line as written, indentation removed)


def nlu_blocks(path: Path) -> List[Block]:
    """The blocks of one NLU YAML file, every line of their examples numbered as in the file."""
    root = yaml.compose(Path(path).read_text(encoding="utf-8"))
    if not isinstance(root, yaml.MappingNode):
        return []
    nlu = next((v for k, v in root.value if k.value == "nlu"), None)
    blocks = []
    for entry in nlu.value if isinstance(nlu, yaml.SequenceNode) else []:
        if not isinstance(entry, yaml.MappingNode):
            continue
        fields = {k.value: (k, v) for k, v in entry.value}
        kind = next((k for k in ("intent", "lookup", "regex", "synonym") if k in fields), None)
        if kind is None or "examples" not in fields:
            continue
        key, value = fields[kind]
        examples = fields["examples"][1]
        if not isinstance(examples, yaml.ScalarNode):
            continue
        # a literal block starts on the line after ``examples: |``
        first = examples.start_mark.line + (1 if examples.style in ("|", ">") else 0)
        lines = [(first + i + 1, text) for i, text in enumerate(str(examples.value).splitlines())]
        blocks.append(Block(kind, str(value.value), key.start_mark.line + 1, lines))
    return blocks


def nlu_examples(paths: Sequence[Path]) -> List[Tuple[str, str]]:
    """(intent, example text) of the NLU files, annotations removed; what Rasa reads
    (a line of an ``examples: |`` block that does not start with ``-`` is skipped)."""
    return [
        (block.name, example_text(text))
        for path in paths for block in nlu_blocks(Path(path)) if block.kind == "intent"
        for _, text in block.examples if text.startswith("-")
    ]


def nlu_examples_at(paths: Sequence[Path], root: Path = PROJECT_ROOT) -> List[Tuple[str, str, str, str]]:
    """(intent, text, the line as written with its annotations, "file:line") of the NLU files."""
    found = []
    for path in paths:
        try:
            name = str(Path(path).relative_to(root))
        except ValueError:
            name = str(path)
        for block in nlu_blocks(Path(path)):
            if block.kind == "intent":
                found += [(block.name, example_text(text), text[1:].strip(), f"{name}:{line}")
                          for line, text in block.examples if text.startswith("-")]
    return found


def held_out_paths(root: Path = PROJECT_ROOT) -> List[Path]:
    return sorted((root / HELD_OUT_NLU).glob("*.yml"))


def to_nlu_yaml(examples: Iterable[Tuple[str, str]], header: str = "") -> str:
    """(intent, text) pairs as Rasa NLU YAML in data/nlu.yml's format (``examples: |``,
    one ``- text`` line per example), one block per intent."""
    by_intent: Dict[str, List[str]] = {}
    for intent, text in examples:
        text = " ".join(text.split())
        texts = by_intent.setdefault(intent, [])
        if text and text not in texts:
            texts.append(text)
    lines = ['version: "3.1"', "nlu:"] if by_intent else ['version: "3.1"', "nlu: []"]
    for intent, texts in sorted(by_intent.items()):
        block = "".join(f"- {t}\n" for t in texts)
        if all(_LITERAL_SAFE.fullmatch(t) for t in texts):
            name = intent if re.fullmatch(r"\w+", intent) else json.dumps(intent, ensure_ascii=False)
            lines += [f"- intent: {name}", "  examples: |"] + [f"    - {t}" for t in texts]
        else:  # characters a literal block cannot hold: YAML's own quoting
            dumped = yaml.safe_dump([{"intent": intent, "examples": block}], allow_unicode=True,
                                    sort_keys=False, width=10**6)
            lines += dumped.rstrip("\n").splitlines()
    return header + "\n".join(lines) + "\n"


# a text that a literal block holds as is: printable, and not read as YAML by the intent line
_LITERAL_SAFE = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]+")


def checklists(root: Path = PROJECT_ROOT) -> Mapping[str, List[str]]:
    return _load(root / CHECKLISTS)


def agent_assist(notes: CaseNotes, policy: ShopPolicy, root: Path = PROJECT_ROOT) -> AgentAssist:
    """An ``AgentAssist`` over this project's responses, rules and agent checklists."""
    return AgentAssist(responses(root), rule_responses(root), checklists(root), notes, policy)
