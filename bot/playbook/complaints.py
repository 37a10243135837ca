"""Complaints as seed 004 prescribes: the standard opening, listening, and the signs that
send a complaint to a supervisor (threats, and the 职业差评师 of seed 003).

The words of the signs are in ``complaint_signs.yml`` (trainers extend them); this
module only decides. Nothing here promises a remedy: triage comes first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.playbook.handoff import next_shift_text
from bot.playbook.policy import ShopPolicy, shift_at
from bot.playbook.scenarios import Reply, round_promise
from bot.shop.cases import CaseRecord

OPENING = Reply("utter_complaint_apology")  # 「您好，真不好意思，给您添麻烦了…」
ASK_DETAILS = "utter_complaint_ask_details"
SUPERVISOR = "supervisor"  # the escalation of a case that goes to a supervisor
SUPERVISOR_CHECKLIST = "complaint_supervisor"  # its key in agent_checklists.yml
PRIORITY_COMPLAINT = 1  # a case's priority: complaints before the other cases
PRIORITY_SUPERVISOR = 2  # ... and a supervisor's before them


class SignsError(ValueError):
    """complaint_signs.yml is malformed (the message names the file and entry)."""


# where a clause ends: a negator before it does not reach a sign after it (folded text)
CLAUSE_BREAKS = ",.!?;:~。，！？；：～…\n"


@dataclass(frozen=True)
class Negation:
    """How a sign's word is negated (「我不会给差评的」): a negator among the last ``window``
    characters before the word, within its clause and after the last conditional marker
    (「不给退款我就差评」, 「再不处理我就投诉」 are threats: the condition is not a negation)."""

    negators: Tuple[str, ...] = ()
    conditionals: Tuple[str, ...] = ()
    window: int = 0


NO_NEGATION = Negation()


def negated(text: str, start: int, negation: Negation) -> bool:
    """Whether the word at ``text[start:]`` (folded) is negated (``Negation``)."""
    before = text[:start]
    cut = max((before.rfind(c) + 1 for c in CLAUSE_BREAKS), default=0)
    cut = max([cut, *(before.rfind(m) + len(m) for m in negation.conditionals if before.rfind(m) >= cut)])
    scope = before[cut:][-negation.window:] if negation.window > 0 else ""
    return any(n in scope for n in negation.negators)


def said(word: str, text: str, negation: Negation) -> bool:
    """Whether ``word`` occurs in ``text`` (folded) at least once without a negation."""
    start = text.find(word)
    while start >= 0:
        if not negated(text, start, negation):
            return True
        start = text.find(word, start + 1)
    return False


@dataclass(frozen=True)
class Sign:
    name: str
    label: str  # what the supervisor reads on the case
    groups: Tuple[Tuple[str, ...], ...]  # a word of every group must be in the message

    def found_in(self, text: str, negation: Negation = NO_NEGATION) -> bool:
        return all(any(said(word, text, negation) for word in group) for group in self.groups)


@dataclass(frozen=True)
class ComplaintSigns:
    signs: Tuple[Sign, ...]
    repeated_label: str
    repeated_min_messages: int
    negation: Negation = NO_NEGATION

    @classmethod
    def load(cls, path: Path) -> ComplaintSigns:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_mapping(raw, str(path))

    @classmethod
    def from_mapping(cls, raw: Any, source: str = "complaint_signs.yml") -> ComplaintSigns:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("signs"), list) or not raw["signs"]:
            raise SignsError(f"{source}: needs a non-empty list 'signs'")
        signs = tuple(_sign(entry, i, source) for i, entry in enumerate(raw["signs"]))
        repeated = raw.get("repeated")
        if not isinstance(repeated, Mapping) or not isinstance(repeated.get("label"), str):
            raise SignsError(f"{source}: 'repeated' needs a label and min_messages")
        least = repeated.get("min_messages")
        if isinstance(least, bool) or not isinstance(least, int) or least < 2:
            raise SignsError(f"{source}: 'repeated.min_messages' must be a whole number of at least 2")
        return cls(signs, repeated["label"], least, _negation(raw.get("negation"), source))


def _negation(raw: Any, source: str) -> Negation:
    """The optional ``negation`` entry: negators, conditionals and the window (characters)."""
    if raw is None:
        return NO_NEGATION
    where = f"{source}: negation"
    if not isinstance(raw, Mapping):
        raise SignsError(f"{where} needs 'negators', 'conditionals' and 'window'")
    lists = {}
    for key in ("negators", "conditionals"):
        words = raw.get(key)
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise SignsError(f"{where}.{key} must be a non-empty list of words")
        lists[key] = tuple(fold(w) for w in words)
    window = raw.get("window")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise SignsError(f"{where}.window must be a whole number of characters, at least 1")
    return Negation(lists["negators"], lists["conditionals"], window)


def _sign(entry: Any, index: int, source: str) -> Sign:
    where = f"{source}: signs[{index}]"
    if not isinstance(entry, Mapping) or not entry.get("name") or not entry.get("label"):
        raise SignsError(f"{where} needs a name and a label")
    groups = [entry["any"]] if "any" in entry else entry.get("all")
    if "any" in entry and "all" in entry or not isinstance(groups, list) or not groups:
        raise SignsError(f"{where} ({entry['name']}) needs one of 'any' (a list of words) or 'all' (lists)")
    words: List[Tuple[str, ...]] = []
    for group in groups:
        if not isinstance(group, list) or not group or not all(str(w).strip() for w in group):
            raise SignsError(f"{where} ({entry['name']}): a word list is empty or holds an empty word")
        words.append(tuple(fold(str(w)) for w in group))
    return Sign(str(entry["name"]), str(entry["label"]), tuple(words))


def fold(text: str) -> str:
    """Full-width to half-width, lower case, no white space: how words and messages are compared."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def signs_in(text: str, signs: ComplaintSigns) -> Tuple[Sign, ...]:
    folded = fold(text)
    return tuple(s for s in signs.signs if s.found_in(folded, signs.negation))


def escalation_signs(messages: Sequence[str], signs: ComplaintSigns) -> Tuple[str, ...]:
    """The labels of the signs in a customer's messages of one conversation (the latest
    last) that send their complaint to a supervisor; empty: none. A sign counts once;
    signs in ``repeated_min_messages`` messages or more add the "repeated" label."""
    labels: List[str] = []
    with_signs = 0
    for message in messages:
        found = signs_in(message, signs)
        with_signs += bool(found)
        labels += [s.label for s in found if s.label not in labels]
    if with_signs >= signs.repeated_min_messages:
        labels.append(signs.repeated_label)
    return tuple(labels)


def supervisor_reply(answer_by: datetime, policy: ShopPolicy) -> Reply:
    """Told to a customer whose complaint went to a supervisor: who handles it, and by when."""
    return Reply("utter_complaint_supervisor", {"answer_by": round_promise(answer_by, policy)[1]})


def recorded_reply(now: datetime, policy: ShopPolicy) -> Reply:
    """Told once a complaint is recorded: within shift hours a human takes over now,
    outside them the next shift answers (the complaint stays a complaint)."""
    shift = shift_at(now, policy)
    if shift is None:
        return Reply("utter_complaint_recorded_closed", {"next_shift": next_shift_text(now, policy)})
    return Reply("utter_complaint_recorded_now", {"shift": shift.name})


def checklist_for(case: CaseRecord, checklists: Mapping[str, List[str]]) -> List[str]:
    """What the agent who takes ``case`` must do (agent_checklists.yml): a supervisor's
    complaint has the supervisor's checklist, any other case its intent's."""
    if case.escalated_to == SUPERVISOR:
        return list(checklists.get(SUPERVISOR_CHECKLIST, []))
    return list(checklists.get(case.intent, []))


def complaint_words(first: Optional[str], details: Optional[str]) -> str:
    """The customer's own words, as recorded on the case: what they said first, then what
    they added (not twice when it is already there)."""
    first, details = (first or "").strip(), (details or "").strip()
    if not first:
        return details
    if not details or details in first.split(" / "):
        return first
    return f"{first} / {details}"
