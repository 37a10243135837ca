"""Trainer checks beyond `rasa data validate`; every error names file and line.

  - every contract intent has enough training examples (and every other intent some);
  - every intent has a rule or story that answers it with a response or an action;
  - every intent has a conversation test in tests/test_stories.yml;
  - no example text appears under two intents (nor twice under one);
  - every response is used (a rule or story, a Python module, a form question, Rasa itself);
  - every {variable} of a response is a slot or a fact that the code fills.

Exit status 1 when any check fails.
"""

from __future__ import annotations

import ast
import string
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Set, Tuple

import yaml

from bot.settings import PROJECT_ROOT as ROOT
from rasa_adapter.project_files import (
    ANNOTATION,
    DOMAIN,
    NLU,
    dialogue_steps,
    held_out_paths,
)

CONTRACT_INTENTS = [  # fixed by the playbook
    "track_parcel", "urge_shipment", "signed_not_received", "wrong_item", "missing_item",
    "quality_issue", "refund_after_shipping", "return_or_exchange", "price_drop_refund",
    "change_address", "refund_status", "request_human", "complaint", "greet", "thank",
    "goodbye", "affirm", "deny", "out_of_scope",
]
MIN_CONTRACT_EXAMPLES = 60
MIN_OTHER_EXAMPLES = 30
USED_BY_RASA = {"utter_default"}

Where = Tuple[str, int]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def mapping_items(node: yaml.Node):
    return node.value if isinstance(node, yaml.MappingNode) else []


def scalar(node: yaml.Node, key: str):
    for k, v in mapping_items(node):
        if k.value == key:
            return v
    return None


def nlu_examples(paths: List[Path]) -> Dict[str, List[Tuple[str, Where]]]:
    """intent → [(example text, (file, line))], lines from the YAML itself."""
    found: Dict[str, List[Tuple[str, Where]]] = {}
    for path in paths:
        root = yaml.compose(path.read_text(encoding="utf-8"))
        for block in (scalar(root, "nlu") or yaml.SequenceNode("", [])).value:
            intent, examples = scalar(block, "intent"), scalar(block, "examples")
            if intent is None or examples is None:
                continue
            first = examples.start_mark.line + (1 if examples.style == "|" else 0)
            for i, line in enumerate(examples.value.splitlines()):
                if line.strip().startswith("- "):
                    text = ANNOTATION.sub(r"\1", line.strip()[2:].strip())
                    found.setdefault(intent.value, []).append((text, (rel(path), first + i + 1)))
    return found


def domain() -> Tuple[dict, Dict[str, Where]]:
    """The domain, and where each response and intent is declared."""
    where: Dict[str, Where] = {}
    for path in [ROOT / DOMAIN]:
        text = path.read_text(encoding="utf-8")
        merged = yaml.safe_load(text) or {}
        for key in ("intents", "actions"):
            merged.setdefault(key, [])
        for key in ("responses", "slots", "forms"):
            merged.setdefault(key, {})
        responses = scalar(yaml.compose(text), "responses")
        for k, _ in mapping_items(responses):
            where[k.value] = (rel(path), k.start_mark.line + 1)
        intents = scalar(yaml.compose(text), "intents")
        for node in (intents.value if intents is not None else []):
            where[f"intent:{node.value}"] = (rel(path), node.start_mark.line + 1)
    return merged, where


def filled_names() -> Set[str]:
    """Facts the code fills: drafted over the sample shop, plus names passed in actions/ and channels/."""
    from bot.playbook.handoff import handoff
    from bot.playbook.policy import load_policy
    from bot.playbook.scenarios import SCENARIOS, Context, draft
    from bot.shop.cases import CaseLog, CaseState
    from bot.shop.sample_data import seed
    from bot.shop.store import OrderStore

    names: Set[str] = set()
    policy = load_policy(ROOT / "shop.yml")
    store = OrderStore.from_url("sqlite://")
    now = datetime(2026, 11, 20, 6, 0)
    seed(store, now)
    for order in store.all_orders():
        variants = {i.product_id: store.variants(i.product_id) for i in order.goods}
        for scenario in SCENARIOS:
            for text in ("", "换M码", "换燕麦色"):
                ctx = Context(text=text, variants=variants, entities={"aspect": ["颜色"]})
                names |= set(draft(scenario, order, now, policy, ctx).facts)
    log = CaseLog(store)
    order = next(o for o in store.all_orders() if o.state.value == "signed")
    for state in CaseState:
        log.register(conversation_id=state.value, intent="wrong_item", state=state,
                     next_step="", note="", now=now, order_id=order.order_id)
        ctx = Context(cases=log.cases_for_order(order.order_id))
        names |= set(draft("refund_status", order, now, policy, ctx).facts)
    for hour in (2, 15):
        names |= set(handoff(datetime(2026, 11, 20, hour), policy).facts)
    for path in [*(ROOT / "actions").glob("*.py"), *(ROOT / "channels").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            if isinstance(node, ast.Dict):
                names |= {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    return names


def shop_policy_problems() -> List[str]:
    """Every shop.yml key is loaded into ShopPolicy, and every ShopPolicy field is read
    outside policy.py (by a rule, a reply's facts, agent assist or the web pages)."""
    import dataclasses

    from bot.playbook.policy import ShopPolicy

    problems = []
    policy_py = ROOT / "bot" / "playbook" / "policy.py"
    policy_source = policy_py.read_text(encoding="utf-8")
    shop_yml = ROOT / "shop.yml"
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
            problems.append(f"shop.yml:{line}: key {key} is not read by {rel(policy_py)}")
    read: Set[str] = set()
    for folder in ("bot", "actions", "web", "channels"):
        for path in (ROOT / folder).rglob("*.py"):
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
            problems.append(f"{rel(policy_py)}:1: ShopPolicy.{field.name} (shop.yml) is used by no "
                            "rule, reply, agent assist or page: use it or remove the key")
    return problems


def main() -> int:
    errors: List[str] = []
    dom, where = domain()
    intents = [i if isinstance(i, str) else next(iter(i)) for i in dom["intents"]]
    train = nlu_examples([ROOT / NLU])
    tests = nlu_examples(held_out_paths(ROOT))

    for intent in intents:
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

    # Compared as the model sees them (normalised): 發錯貨了 is 发错货了.
    from components.normalise import normalise

    seen: Dict[str, Tuple[str, Where]] = {}
    repeats = 0
    for label, examples in list(train.items()) + list(tests.items()):
        for text, (file, line) in examples:
            key = normalise(text)
            if key not in seen:
                seen[key] = (label, (file, line))
                continue
            other_intent, (other_file, other_line) = seen[key]
            held_out = file.startswith("tests/") != other_file.startswith("tests/")
            if other_intent != label or held_out:
                what = (f"under {other_intent} and {label}" if other_intent != label
                        else "in training and in the held-out test set")
                errors.append(f"{file}:{line}: example 「{text}」 appears {what} (also {other_file}:{other_line})")
            else:
                repeats += 1  # the same intent twice, e.g. in both scripts: harmless

    sequences = [steps for _, steps in dialogue_steps(ROOT)]
    answered = set()
    for steps in sequences:
        for step, following in zip(steps, steps[1:]):
            if "intent" in step and "action" in following:
                answered.add(step["intent"])
    tested = {
        step["intent"] for _, steps in dialogue_steps(ROOT, only_tests=True)
        for step in steps if "intent" in step
    }
    for intent in intents:
        file, line = where[f"intent:{intent}"]
        if intent not in answered and intent != "inform":
            errors.append(f"{file}:{line}: intent {intent} has no rule or story answering it")
        if intent not in tested:
            errors.append(f"{file}:{line}: intent {intent} has no conversation test in tests/test_stories.yml")

    used_in_data = {step.get("action") for steps in sequences for step in steps}
    source = "\n".join(p.read_text(encoding="utf-8") for d in ("bot", "actions", "channels", "rasa_adapter") for p in (ROOT / d).rglob("*.py"))
    questions = {f"utter_ask_{slot}" for form in dom["forms"].values() for slot in form.get("required_slots", [])}
    slots = set(dom["slots"])
    # slots a form validation action adds in its required_slots (order_form's phone_tail)
    questions |= {f"utter_ask_{slot}" for slot in slots if f'"{slot}"' in source}
    filled = filled_names()
    for name, variants in dom["responses"].items():
        file, line = where[name]
        if not (name in used_in_data or f'"{name}"' in source or name in questions or name in USED_BY_RASA):
            errors.append(f"{file}:{line}: response {name} is used by no rule, story, action or form")
        for variant in variants:
            for _, var, _, _ in string.Formatter().parse(variant.get("text", "")):
                if var and var not in slots and var not in filled:
                    errors.append(f"{file}:{line}: response {name} uses {{{var}}}, which no slot or action fills")

    errors += shop_policy_problems()
    for error in errors:
        print(error)
    counts = ", ".join(f"{i} {len(train.get(i, []))}" for i in intents)
    print(f"validate: {len(errors)} error(s); {sum(map(len, train.values()))} training examples "
          f"({repeats} repeat another of the same intent once normalised); {counts}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
