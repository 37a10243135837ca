"""Quality triage as the manuals prescribe (000 产品问题 1-6, 001 质量/非质量, 不予办理).

Pure functions of the customer's words (``quality_triage.yml``, trainer-editable), the
order and its cases: which of seed 000's product problems a message is about, whether it
is a quality problem at all, and the reason a request cannot be taken (不予办理), if any.
The playbook's conditions (bot/playbook/conditions.py) ask them; the reply text is in
domain.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Tuple

import yaml

from bot import settings
from bot.playbook.policy import ShopPolicy, unopened_only
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.store import OrderFacts

# seed 000's six product problems (the rows of playbook.yml name them: problem_<key>)
PROBLEMS = ("no_effect", "short_count", "foil_seal", "capsules_broken", "opened", "box_crushed")
# why a request is not taken (不予办理); the first two for a quality claim, the rest for a
# return or exchange without reason. Each has its own kind reply: utter_refuse_<reason>.
QUALITY_REFUSALS = ("misuse", "gift")
RETURN_REFUSALS = ("used", "odour", "gifts_missing", "opened", "exchanged_once")
REFUSALS = QUALITY_REFUSALS + RETURN_REFUSALS
# the refusals that come from the customer's words (the others from the order's data)
WORD_REFUSALS = ("misuse", "used", "odour", "gifts_missing", "opened")

QUALITY, NOT_QUALITY, UNCLEAR = "quality", "not_quality", "unclear"
# the order note an exchange without reason writes (playbook.yml): one has been arranged
EXCHANGE_NOTE = "exchange"


@dataclass(frozen=True)
class TriageWords:
    problems: Tuple[Tuple[str, Tuple[str, ...]], ...]  # in the order of the file
    quality: Tuple[str, ...]
    not_quality: Tuple[str, ...]
    refusals: Mapping[str, Tuple[str, ...]]


def _words(raw: Any, where: str) -> Tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(w, str) and w.strip() for w in raw):
        raise ValueError(f"{where}: a list of words")
    return tuple(w.strip() for w in raw)


def parse_words(raw: Mapping[str, Any], source: str = "quality_triage.yml") -> TriageWords:
    """The triage words of a read file; ``ValueError`` names the first wrong entry."""
    problems = raw.get("problems") or {}
    refusals = raw.get("refusals") or {}
    for section, names, given in (("problems", PROBLEMS, problems), ("refusals", WORD_REFUSALS, refusals)):
        if set(given) != set(names):
            raise ValueError(f"{source}: {section} must be exactly {', '.join(names)}")
    return TriageWords(
        problems=tuple((name, _words(words, f"{source}: problems.{name}")) for name, words in problems.items()),
        quality=_words(raw.get("quality"), f"{source}: quality"),
        not_quality=_words(raw.get("not_quality"), f"{source}: not_quality"),
        refusals={name: _words(words, f"{source}: refusals.{name}") for name, words in refusals.items()},
    )


@cache
def load_words(path: Path) -> TriageWords:
    return parse_words(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}, Path(path).name)


def default_words() -> TriageWords:
    return load_words(settings.triage_path())


@lru_cache(maxsize=256)  # one message is checked against every word list; bounded: keyed on customers' text
def simplified(text: str) -> str:
    """The message in simplified script (the words are written so)."""
    from components.normalise import to_simplified

    return to_simplified(text)


def _says(text: str, words: Sequence[str]) -> bool:
    plain = simplified(text)
    return any(w in plain for w in words)


def product_problem(text: str, words: TriageWords) -> Optional[str]:
    """Which of seed 000's product problems the message is about, if any."""
    return next((name for name, found in words.problems if _says(text, found)), None)


def names_quality_problem(text: str, words: TriageWords) -> bool:
    """The message names a quality problem (a product problem, or 001's words for one):
    a return or refund asked so is a quality return, answered as one."""
    return product_problem(text, words) is not None or _says(text, words.quality)


def quality_kind(text: str, words: TriageWords) -> str:
    """Quality or not (001), for a message already understood as a quality problem:
    not one when it names only what 001 calls non-quality (dislike, fit, colour as
    imagined, slow delivery); unclear when it names both kinds (asked); else quality
    (the understood intent stands: 「冰箱不制冷」 needs no word list to be a defect)."""
    quality = names_quality_problem(text, words)
    other = _says(text, words.not_quality)
    if other:
        return UNCLEAR if quality else NOT_QUALITY
    return QUALITY


def exchanged_before(order: OrderFacts, cases: Sequence[CaseRecord]) -> bool:
    """An exchange without reason was arranged on this order before (its order note) and
    its case is over: a second one is not taken (简索: 进行过一次换货且非质量问题的)."""
    return order.noted(EXCHANGE_NOTE) and not any(
        c.intent == "return_or_exchange" and c.state not in (CaseState.CLOSED, CaseState.RESOLVED) for c in cases)


def names_only_gifts(order: OrderFacts, text: str) -> bool:
    """The message is about a gift of the order and none of its goods (赠品不列入破损赔偿)."""
    plain = simplified(text)
    gift = "赠品" in plain or any(_item_named(i.name, plain) for i in order.gifts)
    return gift and not any(_item_named(i.name, plain) for i in order.goods)


def _item_named(name: str, text: str) -> bool:
    return bool(name) and (name in text or name.replace(" ", "") in text.replace(" ", ""))


def quality_refusal(order: OrderFacts, text: str, words: TriageWords) -> Optional[str]:
    """Why a quality claim is not taken, if it is not: misuse or bad storage (001 不予办理 3),
    or only a gift is damaged (001 不予办理 6)."""
    if _says(text, words.refusals["misuse"]):
        return "misuse"
    if order.gifts and names_only_gifts(order, text):
        return "gift"
    return None


def return_refusal(order: OrderFacts, text: str, cases: Sequence[CaseRecord], policy: ShopPolicy,
                   words: TriageWords) -> Optional[str]:
    """Why a return or exchange without reason is not taken, if it is not (001, 简索): used,
    washed or altered; taken on a smell; its gifts not all there; a consumable opened
    (``returns.unopened_only`` of shop.yml); exchanged once already."""
    if any(unopened_only(i.name, policy) for i in order.goods) and _says(text, words.refusals["opened"]):
        return "opened"
    for reason in ("used", "odour", "gifts_missing"):
        if reason == "gifts_missing" and not order.gifts:
            continue
        if _says(text, words.refusals[reason]):
            return reason
    if exchanged_before(order, cases):
        return "exchanged_once"
    return None
