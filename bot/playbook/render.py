"""Turning a drafted ``Reply`` into the text of its bubbles.

Reply text lives in the domain's responses; ``bot/`` gets them passed in as a
plain mapping (name → variants), never reads Rasa's files. A fact may be a
``Phrase``: a small response chosen by the order's data (「快递已揽收，物流信息稍后
更新」 when there is no tracking event yet), filled here before the reply is sent,
so a template never shows a raw ``{placeholder}`` or a stand-in like 暂无.
"""

from __future__ import annotations

import string
from typing import Any, Dict, List, Mapping, Sequence

from bot.playbook.facts import Phrase
from bot.playbook.scenarios import Reply

Responses = Mapping[str, Sequence[Mapping[str, Any]]]


def template(responses: Responses, name: str) -> str:
    """The first text of a response; ``KeyError`` names a response the domain lacks."""
    return str(responses[name][0]["text"])


def placeholders(text: str) -> List[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def fill(text: str, facts: Mapping[str, Any]) -> str:
    """``text`` with its placeholders filled; ``KeyError`` on a missing fact (never a raw brace)."""
    return text.format_map({name: facts[name] for name in placeholders(text)})


def resolve(facts: Mapping[str, Any], responses: Responses) -> Dict[str, Any]:
    """The facts with every ``Phrase`` turned into its filled text."""
    return {k: _value(v, responses) for k, v in facts.items()}


def _value(value: Any, responses: Responses) -> Any:
    if isinstance(value, Phrase):
        return fill(template(responses, value.response), resolve(value.facts, responses))
    return value


def resolved(reply: Reply, responses: Responses) -> Reply:
    """``reply`` with its phrases filled: what the actions send and the case notes read."""
    return Reply(reply.response, resolve(reply.facts, responses), reply.more, reply.promised,
                 reply.order_note, reply.case_intent)


def bubbles(reply: Reply, responses: Responses) -> List[str]:
    """The text of every bubble of ``reply``, in order."""
    facts = resolve(reply.facts, responses)
    return [fill(template(responses, name), facts) for name in reply.bubbles]
