"""Trainer checks beyond `rasa data validate`; every error names file and line.

  - every line of an ``examples: |`` block starts with ``-`` (Rasa skips any other line);
  - every intent of the NLU data, the held-out set, the rules, stories and conversation
    tests is declared in domain.yml, and every action of a rule or story is a response,
    an action or a form of the domain (reported where it is used, with the likely name);
  - every contract intent has enough training examples (and every other intent some),
    a held-out example, a rule or story that answers it, a conversation test and an
    agent checklist (agent_checklists.yml);
  - no example text appears under two intents, nor both in training and held out
    (compared normalised, 發票 is 发票; every occurrence is quoted as written);
  - every response is used (a rule or story, a Python module, a form question, Rasa itself);
  - every {variable} of a response is a slot or a fact that the code fills;
  - the playbook table (playbook.yml) answers every order state for every intent it
    lists, names only known conditions, fact sets, promises and responses, and every
    {variable} of a row's bubbles is a fact the row gives for each of its states.

  python scripts/validate.py [--root DIR] [--rasa-log reports/validate.log --rasa-exit N]

``--root`` checks the data files of another directory (a copy) against this project's
code; ``--rasa-log`` shows the errors and warnings of `rasa data validate` that matter.
Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import os
import re
import string
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml

from bot.playbook.complaints import SUPERVISOR_CHECKLIST
from bot.settings import PROJECT_ROOT as CODE_ROOT
from rasa_adapter.project_files import (
    ANNOTATION,
    CHECKLISTS,
    DOMAIN,
    ENTITIES,
    NLU,
    RULES,
    STORIES,
    TEST_STORIES,
    example_text,
    held_out_paths,
    nlu_blocks,
)

CASE_NOTES = Path("case_notes.yml")
PLAYBOOK = Path("playbook.yml")

CONTRACT_INTENTS = [  # fixed by the playbook
    "track_parcel", "urge_shipment", "signed_not_received", "wrong_item", "missing_item",
    "quality_issue", "refund_after_shipping", "return_or_exchange", "price_drop_refund",
    "change_address", "refund_status", "request_human", "complaint", "greet", "thank",
    "goodbye", "affirm", "deny", "out_of_scope",
]
MIN_CONTRACT_EXAMPLES = 60
MIN_OTHER_EXAMPLES = 30
USED_BY_RASA = {"utter_default"}
# intents a human agent needs no checklist for (agent assist answers them itself)
NO_CHECKLIST = {"inform", "rate", "correct_order", "greet", "thank", "goodbye", "affirm", "deny"}
# Rasa's prefix for the intents of external events (said by code through trigger_intent,
# never typed): no training or held-out examples, no checklist
EXTERNAL = "EXTERNAL_"
# names agent_checklists.yml may have beside the domain's intents (a supervisor's complaint)
CHECKLIST_EXTRA = {"nlu_fallback", SUPERVISOR_CHECKLIST}

Where = Tuple[str, int]


class Project:
    """The data files under ``root`` (the project, or a copy), the code under CODE_ROOT."""

    def __init__(self, root: Path = CODE_ROOT, code: Path = CODE_ROOT) -> None:
        self.root, self.code = Path(root), Path(code)

    def rel(self, path: Path) -> str:
        for base in (self.root, self.code):
            try:
                return str(Path(path).relative_to(base))
            except ValueError:
                continue
        return str(path)

    def data_or_code(self, name: str) -> Path:
        """shop.yml and the like: the copy's if it has one, else the project's."""
        return self.root / name if (self.root / name).exists() else self.code / name


def mapping_items(node: yaml.Node):
    return node.value if isinstance(node, yaml.MappingNode) else []


def scalar(node: yaml.Node, key: str):
    for k, v in mapping_items(node):
        if k.value == key:
            return v
    return None


def plain(node: yaml.Node) -> Any:
    """A composed YAML node as Python values (every scalar a string)."""
    if isinstance(node, yaml.MappingNode):
        return {k.value: plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [plain(v) for v in node.value]
    return node.value


def likely(name: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def nlu_examples(project: Project, paths: List[Path], errors: List[str]) -> Dict[str, List[Tuple[str, Where]]]:
    """intent → [(example text as written, annotations removed, (file, line))]; a line
    Rasa would skip (no leading ``-``) is an error at its own line."""
    found: Dict[str, List[Tuple[str, Where]]] = {}
    for path in paths:
        file = project.rel(path)
        for block in nlu_blocks(path):
            for line, text in block.examples:
                if text.startswith("-"):
                    if block.kind == "intent":
                        found.setdefault(block.name, []).append((example_text(text), (file, line)))
                elif text.strip():
                    errors.append(f"{file}:{line}: this line of {block.kind} {block.name}'s examples does not "
                                  f"start with \"- \", so Rasa skips it: 「{text.strip()}」")
    return found


def domain(project: Project) -> Tuple[dict, Dict[str, Where]]:
    """The domain, and where each response and intent is declared."""
    where: Dict[str, Where] = {}
    path = project.root / DOMAIN
    text = path.read_text(encoding="utf-8")
    merged = yaml.safe_load(text) or {}
    for key in ("intents", "actions"):
        merged[key] = merged.get(key) or []
    for key in ("responses", "slots", "forms"):
        merged[key] = merged.get(key) or {}
    root = yaml.compose(text)
    for k, _ in mapping_items(scalar(root, "responses")):
        where[k.value] = (project.rel(path), k.start_mark.line + 1)
    intents = scalar(root, "intents")
    for node in (intents.value if intents is not None else []):
        name = node.value if isinstance(node, yaml.ScalarNode) else node.value[0][0].value
        where[f"intent:{name}"] = (project.rel(path), node.start_mark.line + 1)
    node_key: Optional[yaml.Node] = next((k for k, _ in mapping_items(root) if k.value == "intents"), None)
    where["intents:"] = (project.rel(path), (node_key.start_mark.line if node_key is not None else 0) + 1)
    return merged, where


Step = Tuple[Dict[str, Any], int]


def dialogues(project: Project, paths: Sequence[Path]) -> List[Tuple[str, str, Where, List[Step]]]:
    """(rule or story, its name, where it starts, [(step, its line)]) of the files."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        root = yaml.compose(path.read_text(encoding="utf-8"))
        for kind in ("rules", "stories"):
            entries = scalar(root, kind)
            for entry in entries.value if isinstance(entries, yaml.SequenceNode) else []:
                label = "rule" if kind == "rules" else "story"
                name_node = scalar(entry, label)
                name = name_node.value if name_node is not None else "?"
                steps_node = scalar(entry, "steps")
                steps = []
                for s in steps_node.value if isinstance(steps_node, yaml.SequenceNode) else []:
                    # a step's line: that of its intent (below a `user:` text), else its first
                    lines = {k.value: k.start_mark.line + 1 for k, _ in mapping_items(s)}
                    steps.append((plain(s), lines.get("intent", s.start_mark.line + 1)))
                found.append((label, name, (project.rel(path), entry.start_mark.line + 1), steps))
    return found


def step_intents(step: Dict[str, Any]) -> List[str]:
    """The intents of a step, the alternatives of an ``or:`` step included."""
    if "intent" in step:
        return [str(step["intent"])]
    return [str(s["intent"]) for s in step.get("or") or [] if isinstance(s, dict) and "intent" in s]


def dialogue_problems(project: Project, dom: dict, intents: Set[str]) -> List[str]:
    """Unknown intents, actions, forms and slots, at the step that names them."""
    from rasa.shared.core.constants import DEFAULT_ACTION_NAMES, DEFAULT_INTENTS

    forms = set(dom["forms"])
    named = [a if isinstance(a, str) else next(iter(a)) for a in dom["actions"]]  # or {name: {send_domain: ...}}
    actions = set(named) | set(dom["responses"]) | forms | set(DEFAULT_ACTION_NAMES)
    slots = set(dom["slots"]) | {"requested_slot"}
    intents = intents | set(DEFAULT_INTENTS)
    problems = []
    paths = [project.root / RULES, project.root / STORIES, project.root / TEST_STORIES]
    for label, name, (file, _), steps in dialogues(project, paths):
        for step, line in steps:
            at = f"{file}:{line}: {label} '{name}'"
            for intent in step_intents(step):
                if intent not in intents:
                    problems.append(f"{at}: intent {intent} is not declared in domain.yml{likely(intent, intents)}")
            action = step.get("action")
            if action is not None and action not in actions:
                problems.append(f"{at}: action {action} is no response, action or form of domain.yml"
                                f"{likely(action, actions)}")
            loop = step.get("active_loop")
            if loop not in (None, "null", "Null", "NULL", "~", "") and loop not in forms:
                problems.append(f"{at}: active_loop {loop} is no form of domain.yml{likely(str(loop), forms)}")
            for item in step.get("slot_was_set") or []:
                for slot in (item if isinstance(item, dict) else {item: None}):
                    if slot not in slots:
                        problems.append(f"{at}: slot {slot} is not declared in domain.yml{likely(slot, slots)}")
    return problems


def drafts(project: Project) -> List[Any]:
    """Every reply the scenarios draft over the sample shop (``_drafts``), decided by the
    project's playbook table (a copy's, with ``--root``)."""
    before = os.environ.get("SHOP_PLAYBOOK")
    os.environ["SHOP_PLAYBOOK"] = str(project.data_or_code(str(PLAYBOOK)))
    try:
        return _drafts(project)
    finally:
        if before is None:
            del os.environ["SHOP_PLAYBOOK"]
        else:
            os.environ["SHOP_PLAYBOOK"] = before


def _drafts(project: Project) -> List[Any]:
    """Every reply the scenarios draft over the sample shop (with the messages and cases
    that change them), the hand-over replies and a photo's acknowledgement."""
    from bot.playbook.casenotes import CaseNotes
    from bot.playbook.context import PriceDifferenceAsked
    from bot.playbook.evidence import photos_received
    from bot.playbook.handoff import handoff
    from bot.playbook.policy import load_policy
    from bot.playbook.scenarios import SCENARIOS, Context, draft
    from bot.shop.cases import CaseLog, CaseRecord, CaseState
    from bot.shop.compensation import CompensationState
    from bot.shop.sample_data import seed
    from bot.shop.schema import Attachment
    from bot.shop.store import NoteFacts, OrderStore

    replies = []
    policy = load_policy(project.data_or_code("shop.yml"))
    store = OrderStore.from_url("sqlite://")
    now = datetime(2026, 11, 20, 6, 0)
    seed(store, now)
    other = dataclasses.replace(  # every open business choice the other way round
        policy, exchange_shipping="split", late_missing_reports="refuse", courier_damage_after_signing="shop",
        shipping_paid_by={r: "buyer" if p == "shop" else "shop" for r, p in policy.shipping_paid_by.items()},
    )
    for base in store.all_orders():
        variants = {i.product_id: store.variants(i.product_id) for i in base.goods}
        # a courier answer promised before and passed since (asking again escalates)
        passed = NoteFacts("courier_answer", "", now - timedelta(days=2), "assistant", now - timedelta(days=1))
        # a quality case waiting for the customer's 退货 or 换货
        quality = CaseRecord(1, "c", base.order_id, base.buyer_account, "quality_issue",
                             CaseState.WAITING_CUSTOMER, "", "", None, "assistant", None, now, now)
        asked = dataclasses.replace(quality, intent="signed_not_received", state=CaseState.WAITING_SHOP)
        for order in (base, dataclasses.replace(base, notes=(passed,))):
            for at in (now, now + timedelta(days=3), now + timedelta(days=40)):  # promises passed
                for rules in (policy, other):
                    for scenario in SCENARIOS:
                        for text in ("", "换M码", "换燕麦色", "换货"):
                            for cases in ((), (quality,), (asked,)):
                                ctx = Context(text=text, variants=variants, entities={"aspect": ["颜色"]},
                                              cases=cases)
                                replies.append(draft(scenario, order, at, rules, ctx))
    log = CaseLog(store)
    order = next(o for o in store.all_orders() if o.state.value == "signed")
    for state in CaseState:
        for intent in ("wrong_item", "urge_shipment"):
            log.register(conversation_id=state.value, intent=intent, state=state,
                         next_step="", note="", now=now, order_id=order.order_id)
            ctx = Context(cases=log.cases_for_order(order.order_id))
            replies.append(draft("refund_status", order, now, policy, ctx))
    # a 退差价 asked before, in each state of its record (the answer is read from it)
    for money in CompensationState:
        before = PriceDifferenceAsked(money, Decimal("40.00"), now, pay_due=now + timedelta(days=2),
                                      paid_at=now, reference="ALI1", reason="活动价")
        replies.append(draft("price_drop_refund", order, now, policy, Context(price_difference=before)))
    for hour in (2, 15):
        replies.append(handoff(datetime(2026, 11, 20, hour), policy))
    # a photo on the case waiting for the customer (the row alone: no file is read)
    waiting = log.open_case_for_evidence(CaseState.WAITING_CUSTOMER.value)
    assert waiting is not None
    with store.transaction() as s:
        s.add(Attachment(id="0" * 32, case_id=waiting.id, conversation_id=waiting.conversation_id, kind="jpeg",
                         width=1, height=1, size=1, sha256="", created_at=now))
    notes = CaseNotes.load(project.data_or_code("case_notes.yml"))
    photo = photos_received(log, notes, store, waiting.conversation_id, policy.uploads_per_case, now)
    if photo is not None:
        replies.append(photo)
    replies += _followups(log, notes, store, policy, order.order_id, now)
    return replies


def _followups(log: Any, notes: Any, store: Any, policy: Any, order_id: str, now: datetime) -> List[Any]:
    """The answers on an open case (bot.playbook.followups), with and without the case,
    and the notices of each change of a case."""
    from bot.playbook import followups
    from bot.shop.casefacts import CaseChange
    from bot.shop.cases import CaseState

    replies: List[Any] = []
    for conversation in ("no-case", "followups"):
        if conversation == "followups":
            for intent in ("signed_not_received", "return_or_exchange"):
                log.register(conversation_id=conversation, intent=intent, state=CaseState.WAITING_CUSTOMER,
                             next_step="", note="", now=now, order_id=order_id)
        replies.append(followups.still_not_found(log, notes, store, policy, conversation, order_id, now))
        for text in ("单号 SF1234567890", "寄回了"):
            replies.append(followups.return_waybill(log, notes, store, policy, conversation, order_id, text, now))
        for text in ("支付宝 13812345678", "支付宝"):
            replies.append(followups.refund_account(log, notes, store, conversation, order_id, text, now))
    case = followups.case_for(log.open_cases_of("followups"), followups.RETURN_CASES, order_id)
    assert case is not None, "the return case registered above"
    log.return_arrived(case.id, now)
    replies += [followups.case_changed(log, policy, case.id, change) for change in CaseChange]
    return [r for r in replies if r is not None]


def _phrases(facts: Dict[str, Any]) -> List[Any]:
    from bot.playbook.facts import Phrase

    found = [v for v in facts.values() if isinstance(v, Phrase)]
    return found + [p for f in found for p in _phrases(dict(f.facts))]


def drafted_responses(project: Project) -> Set[str]:
    """The responses drafted replies send: their bubbles and the phrases put into them."""
    names: Set[str] = set()
    for reply in drafts(project):
        names |= set(getattr(reply, "bubbles", (reply.response,)))
        names |= {p.response for p in _phrases(reply.facts)}
    return names


def filled_names(project: Project) -> Set[str]:
    """Facts the code fills: drafted over the sample shop (phrases' facts included), plus
    names passed in actions/ and channels/."""
    names: Set[str] = set()
    for reply in drafts(project):
        names |= set(reply.facts)
        for phrase in _phrases(reply.facts):
            names |= set(phrase.facts)
    # and the drafts and messages of the agents' workbench (bot/assist.py, web/workbench.py)
    for path in [*(project.code / "actions").glob("*.py"), *(project.code / "channels").glob("*.py"),
                 project.code / "bot" / "assist.py", project.code / "web" / "workbench.py",
                 *(project.code / "bot" / "workbench").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            if isinstance(node, ast.Dict):
                names |= {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return names


# A number of days or hours written into an agent-facing file instead of read from shop.yml.
COPIED_NUMBER = re.compile(r"(\d+(?:\s*-\s*\d+)?)\s*(?:天|小时|个?工作日)")
# Who pays the shipping: said only by the phrases shop.yml's keys choose.
PAYER_PHRASES = ("utter_phrase_fee_", "utter_phrase_exchange_fee_")


def copied_number_problems(project: Project) -> List[str]:
    """Numbers that belong to shop.yml copied into case notes or checklists (fill them instead):
    a number of days or hours that is the value of a shop.yml key (7天, 24小时, 1-2天)."""
    def values(node: Any) -> Set[str]:
        if isinstance(node, dict):
            return {v for child in node.values() for v in values(child)}
        if isinstance(node, int | str) and not isinstance(node, bool) and re.fullmatch(r"\d+(-\d+)?", str(node)):
            return {str(node)}
        return set()

    shop = values(yaml.safe_load(project.data_or_code("shop.yml").read_text(encoding="utf-8")))
    problems = []
    for name in (CASE_NOTES, CHECKLISTS, PLAYBOOK):
        path = project.data_or_code(str(name))
        if not path.exists():
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for found in COPIED_NUMBER.finditer(code):
                if re.sub(r"\s", "", found.group(1)) in shop:
                    problems.append(f"{name}:{n}: {found.group(0)!r} is a number of shop.yml: use its placeholder")
    return problems


def payer_wording_problems(dom: dict, where: Dict[str, Where]) -> List[str]:
    """A response that says who pays itself could contradict returns.shipping_paid_by."""
    problems = []
    for name, variants in dom["responses"].items():
        if name.startswith(PAYER_PHRASES):
            continue
        for variant in variants:
            if "承担" in variant.get("text", ""):
                file, line = where[name]
                problems.append(f"{file}:{line}: response {name} says who pays (承担): use a fee phrase "
                                "({fee_...}), which shop.yml's keys choose")
    return problems


def shop_policy_problems(project: Optional[Project] = None) -> List[str]:
    """Every shop.yml key is loaded into ShopPolicy, and every ShopPolicy field is read
    outside policy.py (by a rule, a reply's facts, agent assist or the web pages)."""
    project = project or Project()
    from bot.playbook.policy import ShopPolicy

    problems = []
    policy_py = project.code / "bot" / "playbook" / "policy.py"
    policy_source = policy_py.read_text(encoding="utf-8")
    shop_yml = project.data_or_code("shop.yml")
    root = yaml.compose(shop_yml.read_text(encoding="utf-8"))

    def leaves(node: yaml.Node, prefix: str) -> List[Tuple[str, int]]:
        if isinstance(node, yaml.MappingNode):
            return [leaf for k, v in node.value for leaf in leaves(v, f"{prefix}{k.value}.")]
        return [(prefix.rstrip("."), node.start_mark.line + 1)]

    for key, line in leaves(root, ""):
        parts = key.split(".")
        prefixes = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
        # get("a.b", ...) reads a.b and everything under it; get(f"a.b.{x}", ...) the keys under a.b
        loaded = any(f'"{p}"' in policy_source or f'"{p}.{{' in policy_source for p in prefixes)
        if not loaded:
            problems.append(f"shop.yml:{line}: key {key} is not read by {project.rel(policy_py)}")
    read: Set[str] = set()
    for folder in ("bot", "actions", "web", "channels"):
        for path in (project.code / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if path == policy_py:  # its rule functions count, its loaders do not
                tree = ast.Module(body=[f for f in tree.body if isinstance(f, ast.FunctionDef)
                                        and f.name not in ("load_policy", "policy_from_mapping")],
                                  type_ignores=[])
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute):
                    read.add(node.attr)
    for field in dataclasses.fields(ShopPolicy):
        if field.name not in read:
            problems.append(f"{project.rel(policy_py)}:1: ShopPolicy.{field.name} (shop.yml) is used by no "
                            "rule, reply, agent assist or page: use it or remove the key")
    return problems


def duplicate_problems(train: Dict[str, List[Tuple[str, Where]]],
                       tests: Dict[str, List[Tuple[str, Where]]]) -> Tuple[List[str], int]:
    """Examples that are one message once normalised (as the model sees them: 發錯貨了 is
    发错货了) under two intents, or in training and held out. Every occurrence of such a
    message is reported at its own line, quoted as written. Also: how many harmless
    repeats (the same intent twice, e.g. in both scripts)."""
    from components.normalise import normalise

    groups: Dict[str, List[Tuple[str, str, Where]]] = {}
    for label, examples in list(train.items()) + list(tests.items()):
        for text, where in examples:
            groups.setdefault(normalise(text), []).append((label, text, where))
    problems, repeats = [], 0
    for group in groups.values():
        if len(group) < 2:
            continue
        kinds = {(label, where[0].startswith("tests/")) for label, _, where in group}
        if len(kinds) == 1:
            repeats += len(group) - 1
            continue
        for label, text, (file, line) in group:
            held = file.startswith("tests/")
            others = []
            for o_label, o_text, (o_file, o_line) in group:
                if o_label != label:
                    what = f"under {o_label}"
                elif o_file.startswith("tests/") != held:
                    what = "held out" if not held else "in training"
                else:
                    continue
                others.append(f"{what} at {o_file}:{o_line}" + (f" as 「{o_text}」" if o_text != text else ""))
            if others:
                problems.append(f"{file}:{line}: example 「{text}」 is under {label} here and "
                                f"{'; '.join(others)}")
    return problems, repeats


def stale_labels(project: Project, train: Dict[str, List[Tuple[str, Where]]]) -> List[str]:
    """A conversation test's sentence that the training data teaches as another intent
    (an intent widened over it): the story's label is stale. What the model makes of the
    other sentences, make test's conversation step (rasa test --e2e) says."""
    from components.normalise import normalise

    taught: Dict[str, List[Tuple[str, Where]]] = {}
    for label, examples in train.items():
        for text, where in examples:
            taught.setdefault(normalise(text), []).append((label, where))
    problems = []
    for label, name, (file, _), steps in dialogues(project, [project.root / TEST_STORIES]):
        for step, line in steps:
            user, intent = step.get("user"), step.get("intent")
            if not isinstance(user, str) or not intent:
                continue
            text = ANNOTATION.sub(r"\1", user.strip())
            for other, (o_file, o_line) in taught.get(normalise(text), []):
                if other != intent:
                    problems.append(f"{file}:{line}: {label} '{name}': 「{text}」 is labelled {intent}, but "
                                    f"the training data teaches it as {other} ({o_file}:{o_line})")
                    break
    return problems


def checklist_problems(project: Project, intents: List[str], where: Dict[str, Where]) -> List[str]:
    path = project.root / CHECKLISTS
    if not path.exists():
        return [f"{CHECKLISTS}:1: missing: agent assist reads each intent's checklist from it"]
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    keys = {k.value: k.start_mark.line + 1 for k, _ in mapping_items(root)}
    end = len(text.splitlines()) + 1
    problems = []
    for intent in intents:
        if intent not in keys and intent not in NO_CHECKLIST and not intent.startswith(EXTERNAL):
            file, line = where[f"intent:{intent}"]
            problems.append(f"{CHECKLISTS}:{end}: intent {intent} ({file}:{line}) has no checklist: add "
                            f"`{intent}: [what a human agent must do]`")
    for key, line in keys.items():
        if key not in intents and key not in CHECKLIST_EXTRA:
            problems.append(f"{CHECKLISTS}:{line}: {key} is not an intent of domain.yml{likely(key, intents)}")
    return problems


def _row_lines(text: str) -> Dict[str, int]:
    """The line of each row of playbook.yml, by its place (``track_parcel[2]``)."""
    lines = {}
    for _, section in mapping_items(yaml.compose(text)):
        for key, rows in mapping_items(section):
            for i, row in enumerate(rows.value if isinstance(rows, yaml.SequenceNode) else []):
                lines[f"{key.value}[{i}]"] = row.start_mark.line + 1
    return lines


def state_facts(project: Project) -> Dict[Any, Set[str]]:
    """The facts every order of a state has (``order_facts``), over the sample shop."""
    from bot.playbook.facts import order_facts
    from bot.playbook.policy import load_policy
    from bot.shop.sample_data import seed
    from bot.shop.store import OrderState, OrderStore

    policy = load_policy(project.data_or_code("shop.yml"))
    store = OrderStore.from_url("sqlite://")
    now = datetime(2026, 11, 20, 6, 0)
    seed(store, now)
    found: Dict[Any, Set[str]] = {}
    for order in store.all_orders():
        keys = set(order_facts(order, policy, now))
        found[order.state] = found[order.state] & keys if order.state in found else keys
    return {state: found.get(state, set()) for state in OrderState}


def read_playbook(project: Project) -> Tuple[Any, Dict[str, int], List[str]]:
    """The playbook table, the line of each row, and why it does not load (at its row)."""
    from bot.playbook import table as playbook
    from bot.playbook.scenarios import KNOWN

    text = project.data_or_code(str(PLAYBOOK)).read_text(encoding="utf-8")
    lines = _row_lines(text)
    try:
        return playbook.parse(yaml.safe_load(text) or {}, str(PLAYBOOK), KNOWN), lines, []
    except ValueError as exc:
        place = str(exc).split(": ")[1] if ": " in str(exc) else ""
        return None, lines, [f"{PLAYBOOK}:{lines.get(place, 1)}: {str(exc).split(': ', 1)[-1]}"]


def playbook_problems(project: Project, dom: dict, intents: List[str]) -> List[str]:
    """The playbook table: loads (known names), answers every state of every intent it
    lists, its responses exist (the answering one with a case note), and each bubble's
    {variables} are facts the row gives."""
    from bot.playbook import table as playbook
    from bot.playbook.facts import FACT_SETS, PROMISES
    from bot.playbook.scenarios import SCENARIOS
    from bot.shop.store import OrderState

    table, lines, problems = read_playbook(project)
    if table is None:
        return problems

    def at(row: Any) -> str:
        place = row.where.split(": ", 1)[-1]
        return f"{PLAYBOOK}:{lines.get(place, 1)}: {place}"

    given = state_facts(project)
    notes_path = project.data_or_code(str(CASE_NOTES))
    noted = set(yaml.safe_load(notes_path.read_text(encoding="utf-8")) or {})
    for intent in table.intents:
        if intent not in SCENARIOS or intent not in intents:
            problems.append(f"{PLAYBOOK}:{lines.get(f'{intent}[0]', 1)}: {intent} is not a scenario intent "
                            f"of domain.yml{likely(intent, [i for i in SCENARIOS if i in intents])}")
            continue
        for state in OrderState:
            if not playbook.covers(table, intent, state):
                problems.append(f"{PLAYBOOK}:{lines.get(f'{intent}[0]', 1)}: {intent} has no row that answers "
                                f"every {state.value} order: add one without `when` (a fallback)")
    for rows in [*table.intents.values(), *table.blocks.values()]:
        for row in rows:
            if row.reply is not None and row.reply not in noted:
                problems.append(f"{at(row)}: {row.reply} has no entry in {CASE_NOTES} (the case's state, "
                                "next step and note)")
            for name in row.bubbles:
                if name not in dom["responses"]:
                    problems.append(f"{at(row)}: response {name} is not in domain.yml"
                                    f"{likely(name, dom['responses'])}")
                    continue
                extra = {k for f in row.facts for k in FACT_SETS[f].keys}
                extra |= {PROMISES[row.promise].fact} if row.promise else set()
                for state in sorted(row.states, key=list(OrderState).index):
                    for variant in dom["responses"][name]:
                        for _, var, _, _ in string.Formatter().parse(variant.get("text", "")):
                            if var and var not in given[state] | extra:
                                problems.append(f"{at(row)}: {name} uses {{{var}}}, which a {state.value} "
                                                f"order does not give (add a fact set to the row)")
    return problems


def used_in_code(project: Project) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for d in ("bot", "actions", "channels", "rasa_adapter")
                     for p in (project.code / d).rglob("*.py"))


def yaml_problems(project: Project) -> List[str]:
    """A file that is not YAML, at the line and column where the reading stopped."""
    paths = [project.root / p for p in (DOMAIN, NLU, ENTITIES, RULES, STORIES, TEST_STORIES, CHECKLISTS, PLAYBOOK)]
    problems = []
    for path in paths + held_out_paths(project.root):
        if not path.exists():
            continue
        try:
            yaml.compose(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problems.append(f"{project.rel(path)}:{line}:{column}: not valid YAML: {exc.problem or exc.context}"
                            + (f" ({exc.context})" if exc.context and exc.problem else ""))
        except yaml.YAMLError as exc:
            problems.append(f"{project.rel(path)}:1: not valid YAML: {exc}")
    return problems


def used_responses(project: Project, dom: dict) -> Set[str]:
    """The responses sent by a rule or story, by Python code, by a row of playbook.yml, as a
    form's question or by Rasa."""
    used = {str(step.get("action")) for *_, steps in
            dialogues(project, [project.root / RULES, project.root / STORIES]) for step, _ in steps}
    source = used_in_code(project)
    used |= {name for name in dom["responses"] if f'"{name}"' in source}
    used |= drafted_responses(project)
    table = read_playbook(project)[0]  # every row's bubbles, reached by the sample shop or not
    if table is not None:
        used |= {name for rows in [*table.intents.values(), *table.blocks.values()]
                 for row in rows for name in row.bubbles}
    used |= {f"utter_ask_{slot}" for form in dom["forms"].values() for slot in form.get("required_slots", [])}
    # slots a form validation action adds in its required_slots (order_form's phone_tail)
    used |= {f"utter_ask_{slot}" for slot in dom["slots"] if f'"{slot}"' in source}
    return used | USED_BY_RASA


def check(root: Path = CODE_ROOT, code: Path = CODE_ROOT) -> Tuple[List[str], str]:
    """Every problem of the data files under ``root`` (file:line: message), and a summary."""
    project = Project(root, code)
    errors = yaml_problems(project)
    if errors:  # the other checks need the files read
        return errors, f"validate: {len(errors)} error(s); fix the YAML first"
    errors = read_playbook(project)[2]
    if errors:  # the replies are drafted by the table
        return errors, f"validate: {len(errors)} error(s); fix playbook.yml first"
    dom, where = domain(project)
    intents = [i if isinstance(i, str) else next(iter(i)) for i in dom["intents"]]
    train = nlu_examples(project, [project.root / NLU], errors)
    nlu_examples(project, [project.root / ENTITIES], errors)
    tests = nlu_examples(project, held_out_paths(project.root), errors)

    # intents named in the NLU data but not declared: where they are named
    for path in [project.root / NLU] + held_out_paths(project.root):
        for block in nlu_blocks(path):
            if block.kind == "intent" and block.name not in intents:
                errors.append(f"{project.rel(path)}:{block.line}: intent {block.name} is not declared in "
                              f"domain.yml under intents: ({where['intents:'][0]}:{where['intents:'][1]})"
                              f"{likely(block.name, intents)}")
    errors += dialogue_problems(project, dom, set(intents))

    for intent in [i for i in intents if not i.startswith(EXTERNAL)]:
        file, line = where[f"intent:{intent}"]
        minimum = MIN_CONTRACT_EXAMPLES if intent in CONTRACT_INTENTS else MIN_OTHER_EXAMPLES
        count = len(train.get(intent, []))
        if count < minimum:
            errors.append(f"{file}:{line}: intent {intent} has {count} training examples, needs {minimum}")
        if not tests.get(intent):
            errors.append(f"{file}:{line}: intent {intent} has no held-out example in tests/nlu/")
    for intent in CONTRACT_INTENTS:
        if intent not in intents:
            errors.append(f"{DOMAIN}:1: contract intent {intent} is missing from the domain")

    duplicates, repeats = duplicate_problems(train, tests)
    errors += duplicates

    sequences = [[s for s, _ in steps] for *_, steps in
                 dialogues(project, [project.root / RULES, project.root / STORIES])]
    answered = set()
    for steps in sequences:
        for step, following in zip(steps, steps[1:]):
            if "action" in following:
                answered.update(step_intents(step))
    tested = {i for *_, steps in dialogues(project, [project.root / TEST_STORIES])
              for step, _ in steps for i in step_intents(step)}
    errors += stale_labels(project, train)
    for intent in intents:
        file, line = where[f"intent:{intent}"]
        if intent not in answered and intent != "inform":
            errors.append(f"{file}:{line}: intent {intent} has no rule or story answering it")
        if intent not in tested:
            errors.append(f"{file}:{line}: intent {intent} has no conversation test in {TEST_STORIES}")
    errors += checklist_problems(project, intents, where)

    used = used_responses(project, dom)
    slots = set(dom["slots"])
    filled = filled_names(project)
    for name, variants in dom["responses"].items():
        file, line = where[name]
        if name not in used:
            errors.append(f"{file}:{line}: response {name} is used by no rule, story, action or form")
        for variant in variants:
            for _, var, _, _ in string.Formatter().parse(variant.get("text", "")):
                if var and var not in slots and var not in filled:
                    errors.append(f"{file}:{line}: response {name} uses {{{var}}}, which no slot or action fills")

    errors += playbook_problems(project, dom, intents)
    errors += shop_policy_problems(project)
    errors += copied_number_problems(project)
    errors += payer_wording_problems(dom, where)
    counts = ", ".join(f"{i} {len(train.get(i, []))}" for i in intents)
    summary = (f"validate: {len(errors)} error(s); {sum(map(len, train.values()))} training examples "
               f"({repeats} repeat another of the same intent once normalised); {counts}")
    return errors, summary


# -- the log of `rasa data validate` ----------------------------------------------------------

WARNING = re.compile(r"UserWarning: (.*?)(?:\n\s*More info at [^\n]*)?(?:\x1b\[0m|\Z)", re.S)
NOT_USED = re.compile(r"The utterance '(\w+)' is not used in any story or rule\.")
RASA_ERROR = re.compile(r"^.*\b(ERROR|CRITICAL)\b.*$|^\w*(Exception|Error): .*(?:\n[ \t]+\S.*){0,3}", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXTERNAL_NOT_IN_NLU = re.compile(rf"The intent '{EXTERNAL}\w+' is listed in the domain file, but is not found in the NLU")


def rasa_messages(log: str, project: Project) -> Tuple[List[str], int]:
    """The warnings and errors of `rasa data validate` worth reading, and how many
    "utterance not used in any story or rule" warnings were dropped because the
    response is sent by Python code (actions/, bot/) or as a form's question, which
    Rasa's check does not see."""
    try:
        used: Optional[Set[str]] = used_responses(project, domain(project)[0])
    except yaml.YAMLError:
        used = None  # a file is not YAML (reported below): no use of a response is known
    shown: List[str] = []
    hidden = 0
    for match in WARNING.finditer(log):
        message = " ".join(re.sub(r"More info at \S+", "", match.group(1)).split())
        if EXTERNAL_NOT_IN_NLU.search(message):
            continue  # an external event's intent has no examples by design (EXTERNAL)
        unused = NOT_USED.search(message)
        if unused and (used is None or unused.group(1) in used):
            hidden += 1
            continue
        if message not in shown:
            shown.append(message)
    for match in RASA_ERROR.finditer(ANSI.sub("", log)):
        line = " ".join(match.group(0).split())
        if line not in shown:
            shown.append(line)
    return shown, hidden


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/validate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=CODE_ROOT, help="the data files' directory (a copy)")
    parser.add_argument("--rasa-log", type=Path, help="the output of `rasa data validate`")
    parser.add_argument("--rasa-exit", type=int, default=0, help="its exit status")
    args = parser.parse_args(argv)
    failed = False
    if args.rasa_log:
        shown, hidden = rasa_messages(args.rasa_log.read_text(encoding="utf-8", errors="replace"),
                                      Project(args.root))
        state = "failed" if args.rasa_exit else ("ok" if not shown else f"{len(shown)} warning(s)")
        print(f"    rasa data validate: {state} (full log: {args.rasa_log})")
        for message in shown:
            print(f"    rasa: {message}")
        if hidden:
            print(f"    rasa: {hidden} \"utterance not used in any story or rule\" warnings left out: "
                  "Rasa reads only rules and stories; these are sent by actions/, playbook.yml or ask a form's slot")
        failed = bool(args.rasa_exit or shown)
    errors, summary = check(args.root)
    for error in errors:
        print(error)
    print(summary)
    return 1 if errors or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
