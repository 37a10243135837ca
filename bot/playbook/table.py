"""The playbook table (``playbook.yml``): which response answers an intent, by order state
and named conditions. Loading checks every name; matching is a pure function.

A row::

    - states: [signed]                 # order states it applies to (all when left out)
      when: [return_window_open]       # named conditions (bot.playbook.conditions), all must
                                       # hold; ``not name`` negates one
      reply: utter_refund_return_in_window   # the response answering (its case note in
      more: [utter_return_address]           # case_notes.yml), further bubbles
      facts: [return, window]          # fact sets the bubbles need (bot.playbook.facts)
      promise: ship_by                 # a promised time, given as the fact of that name
      order_note: urgent               # the note written on the order before sending
                                       # (``{kind: ..., until_promise: true}``: about the case's promise)
      case: quality_issue              # the case it belongs to, when not the intent's own

or ``use: <block or intent>`` instead of ``reply``: the first row of that block (under
``blocks:``) or intent that holds answers; when none does, matching goes on below.
The first row that holds wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Dict, FrozenSet, List, Mapping, Optional, Tuple

import yaml

from bot.shop.store import OrderState

ROW_KEYS = {"states", "when", "reply", "more", "facts", "promise", "order_note", "case", "use"}
ALL_STATES: FrozenSet[OrderState] = frozenset(OrderState)


@dataclass(frozen=True)
class Row:
    states: FrozenSet[OrderState]
    when: Tuple[Tuple[str, bool], ...] = ()  # (condition, must hold) pairs
    reply: Optional[str] = None
    more: Tuple[str, ...] = ()
    facts: Tuple[str, ...] = ()
    promise: Optional[str] = None
    order_note: Optional[str] = None
    note_until_promise: bool = False
    case: Optional[str] = None
    use: Optional[str] = None
    where: str = ""  # playbook.yml:<intent or block>[<index>], for messages

    @property
    def bubbles(self) -> Tuple[str, ...]:
        return (self.reply, *self.more) if self.reply else ()


@dataclass(frozen=True)
class Table:
    intents: Mapping[str, Tuple[Row, ...]]
    blocks: Mapping[str, Tuple[Row, ...]]

    def rows(self, name: str) -> Tuple[Row, ...]:
        """The rows of an intent or a block."""
        return self.intents[name] if name in self.intents else self.blocks[name]


Known = Mapping[str, Collection[str]]  # "conditions", "facts", "promise" → the names the code has
Holds = Callable[[str], bool]  # a condition's name → whether it holds now


def match(table: Table, name: str, state: OrderState, holds: Holds) -> Optional[Row]:
    """The first row of ``name`` (an intent or block) for ``state`` whose conditions hold,
    following ``use``; ``None`` when no row does."""
    for row in table.rows(name):
        if state not in row.states or not all(holds(c) == wanted for c, wanted in row.when):
            continue
        if row.use is None:
            return row
        found = match(table, row.use, state, holds)
        if found is not None:
            return found
    return None


def covers(table: Table, name: str, state: OrderState) -> bool:
    """Whether some row of ``name`` answers ``state`` whatever the conditions (the table
    can never run out of rows for it)."""
    for row in table.rows(name):
        if state in row.states and not row.when and (row.use is None or covers(table, row.use, state)):
            return True
    return False


def _row(raw: Any, where: str, known: Known) -> Row:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a row is a mapping")
    unknown = set(raw) - ROW_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if ("reply" in raw) == ("use" in raw):
        raise ValueError(f"{where}: a row has either reply or use")
    states = raw.get("states")
    try:
        chosen = frozenset(OrderState(s) for s in states) if states is not None else ALL_STATES
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    when = []
    for text in raw.get("when") or ():
        negated = str(text).startswith("not ")
        name = str(text)[4:].strip() if negated else str(text)
        if name not in known["conditions"]:
            raise ValueError(f"{where}: unknown condition {name!r}")
        when.append((name, not negated))
    for key in ("facts", "promise"):
        values = raw.get(key)
        for value in ([values] if isinstance(values, str) else values or ()):
            if value not in known[key]:
                raise ValueError(f"{where}: unknown {key} {value!r}")
    note: Any = raw.get("order_note")
    until = False
    if isinstance(note, dict):
        until = bool(note.get("until_promise", False))
        note = note.get("kind")
        if until and not raw.get("promise"):
            raise ValueError(f"{where}: order_note until_promise needs a promise")
    return Row(
        states=chosen, when=tuple(when), reply=raw.get("reply"), more=tuple(raw.get("more") or ()),
        facts=tuple(raw.get("facts") or ()), promise=raw.get("promise"), order_note=note,
        note_until_promise=until, case=raw.get("case"), use=raw.get("use"), where=where,
    )


def parse(raw: Mapping[str, Any], source: str, known: Known) -> Table:
    """The table of a read ``playbook.yml``; ``ValueError`` names the first wrong row.
    ``known``: the names of ``conditions``, ``facts`` and ``promise``s the code has."""
    sections: Dict[str, Dict[str, Tuple[Row, ...]]] = {}
    for section in ("intents", "blocks"):
        sections[section] = {}
        for name, rows in (raw.get(section) or {}).items():
            if not isinstance(rows, list) or not rows:
                raise ValueError(f"{source}: {section}.{name}: a list of rows")
            sections[section][name] = tuple(_row(r, f"{source}: {name}[{i}]", known) for i, r in enumerate(rows))
    table = Table(sections["intents"], sections["blocks"])
    for rows in [*table.intents.values(), *table.blocks.values()]:
        for row in rows:
            if row.use is not None and row.use not in table.intents and row.use not in table.blocks:
                raise ValueError(f"{row.where}: use: no intent or block {row.use!r}")
    _no_cycles(table)
    return table


def _no_cycles(table: Table) -> None:
    def visit(name: str, path: List[str]) -> None:
        if name in path:
            raise ValueError(f"playbook: use goes round in a circle: {' → '.join([*path, name])}")
        for row in table.rows(name):
            if row.use is not None:
                visit(row.use, [*path, name])

    for name in [*table.intents, *table.blocks]:
        visit(name, [])


def load(path: Path, known: Known) -> Table:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return parse(raw, Path(path).name, known)
