"""The trainers' review queue: messages the model was unsure about, labelled by a trainer,
written back into data/nlu.yml as a reviewed patch.

python -m evaluation review fill --data log.tsv   (make review DATA=log.tsv)
    runs each message (the first column of a TSV line, JD masks replaced) through the
    model; those it falls back on (the assistant asks 「您是想问：」) join the queue.
python -m evaluation review feedback [--db URL]
    the agents' rejected or rewritten drafts (bot/shop/feedback.py) join the queue.
python -m evaluation review list
    the open items, grouped by predicted intent, with confidence and id.
python -m evaluation review assign ID INTENT   (INTENT "-" drops the item)
python -m evaluation review patch [--out reports/review_nlu.yml]
    the assigned items as NLU YAML, for a trainer to read before applying.
python -m evaluation review apply [--nlu data/nlu.yml]
    adds the assigned items to the end of their intent's block; then make validate, make eval.

The queue is a YAML file (var/review_queue.yml, or --queue): one item per message.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

from bot.settings import PROJECT_ROOT, var_dir
from evaluation.data import unmask
from rasa_adapter.project_files import NLU, nlu_blocks, to_nlu_yaml

DROP = "-"


@dataclass
class Item:
    id: int
    text: str
    predicted: str
    confidence: Optional[float]
    source: str  # fallback (make review) or feedback (an agent rejected or rewrote the draft)
    label: Optional[str] = None  # the trainer's intent; "-": not an example
    applied: bool = False


class ReviewQueue:
    def __init__(self, path: Path) -> None:
        self.path = path
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        self.items: List[Item] = [Item(**item) for item in raw or []]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(yaml.safe_dump([asdict(i) for i in self.items], allow_unicode=True,
                                            sort_keys=False), encoding="utf-8")

    def add(self, text: str, predicted: str, confidence: Optional[float], source: str) -> Optional[Item]:
        """A message joins the queue once (one line; a known message is not added again)."""
        text = " ".join(text.split())
        if not text or any(i.text == text for i in self.items):
            return None
        item = Item(max((i.id for i in self.items), default=0) + 1, text, predicted, confidence, source)
        self.items.append(item)
        return item

    def open_items(self) -> List[Item]:
        return [i for i in self.items if not i.applied and i.label is None]

    def grouped(self) -> Dict[str, List[Item]]:
        """Open items by predicted intent, least confident first."""
        groups: Dict[str, List[Item]] = {}
        for item in sorted(self.open_items(), key=lambda i: (i.predicted, i.confidence or 0.0)):
            groups.setdefault(item.predicted, []).append(item)
        return groups

    def assign(self, item_id: int, intent: str, intents: Iterable[str]) -> Item:
        item = next((i for i in self.items if i.id == item_id), None)
        if item is None:
            raise KeyError(f"no item {item_id} in {self.path}")
        if intent != DROP and intent not in set(intents):
            raise ValueError(f"{intent} is not an intent of domain.yml")
        item.label = intent
        return item

    def reviewed(self) -> List[Item]:
        return [i for i in self.items if i.label and i.label != DROP and not i.applied]

    def patch(self) -> str:
        return to_nlu_yaml(((i.label or "", i.text) for i in self.reviewed()),
                           header="# reviewed by a trainer from the review queue (python -m evaluation review)\n")


def add_examples(nlu: Path, examples: Sequence[Item]) -> int:
    """Each example at the end of its intent's block in ``nlu`` (a new block at the end of
    the file for an intent without one); examples already there are skipped."""
    lines = nlu.read_text(encoding="utf-8").split("\n")
    blocks = {b.name: b for b in nlu_blocks(nlu) if b.kind == "intent"}
    present = {text[2:].strip() for b in blocks.values() for _, text in b.examples}
    by_intent: Dict[str, List[str]] = {}
    for item in examples:
        if item.text not in present and item.text not in by_intent.get(item.label or "", []):
            by_intent.setdefault(item.label or "", []).append(item.text)
    added = 0
    # the last block first, so that the line numbers of the others stay right
    for intent in sorted((i for i in by_intent if i in blocks), key=lambda i: -blocks[i].line):
        last = max(n for n, _ in blocks[intent].examples)
        indent = lines[last - 1][: len(lines[last - 1]) - len(lines[last - 1].lstrip())]
        lines[last:last] = [f"{indent}- {text}" for text in by_intent[intent]]
        added += len(by_intent[intent])
    for intent in (i for i in by_intent if i not in blocks):
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in by_intent[intent]]
        added += len(by_intent[intent])
    nlu.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return added


def log_messages(path: Path) -> List[str]:
    """The first column of each line of a log (JD masks replaced)."""
    return [unmask(line.split("\t")[0]).strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.split("\t")[0].strip()]


def domain_intents(root: Path = PROJECT_ROOT) -> List[str]:
    raw = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")).get("intents") or []
    return [i if isinstance(i, str) else next(iter(i)) for i in raw]


def fill(queue: ReviewQueue, model: object, messages: Sequence[str]) -> int:
    """The messages the model falls back on join the queue, with its best guess."""
    predictions, rankings = model.answers(messages)  # type: ignore[attr-defined]
    added = 0
    for text, predicted, ranking in zip(messages, predictions, rankings):
        if predicted == "nlu_fallback":
            best, confidence = ranking[0] if ranking else ("nlu_fallback", 0.0)
            added += queue.add(text, best, round(confidence, 3), "fallback") is not None
    return added


def from_feedback(queue: ReviewQueue, feedback: Any) -> int:
    """The drafts an agent rejected or rewrote (``bot.shop.feedback.FeedbackLog``) join the
    queue under the intent the draft was for, for a trainer to label."""
    return sum(queue.add(r.message, r.intent, None, "feedback") is not None
               for r in feedback.all() if r.verdict != "used")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fill", "feedback", "list", "assign", "patch", "apply"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--queue", type=Path, default=None)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "aftersales.tar.gz")
    parser.add_argument("--limit", type=int, default=0, help="fill: at most this many messages")
    parser.add_argument("--db", default=None)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "review_nlu.yml")
    parser.add_argument("--nlu", type=Path, default=PROJECT_ROOT / NLU)
    args = parser.parse_args(argv)
    queue = ReviewQueue(args.queue or var_dir() / "review_queue.yml")

    if args.command == "fill":
        if args.data is None:
            parser.error("fill needs --data (make review DATA=file)")
        from evaluation.__main__ import RasaModel

        messages = log_messages(args.data)[: args.limit or None]
        added = fill(queue, RasaModel(args.model), messages)
        queue.save()
        print(f"==> {len(messages)} messages, {added} new in the queue ({queue.path})")
    elif args.command == "feedback":
        from bot.settings import database_url
        from bot.shop.feedback import FeedbackLog
        from bot.shop.store import OrderStore

        added = from_feedback(queue, FeedbackLog(OrderStore.from_url(args.db or database_url())))
        queue.save()
        print(f"==> {added} rejected or rewritten drafts new in the queue ({queue.path})")
    elif args.command == "list":
        for intent, items in queue.grouped().items():
            print(f"{intent} ({len(items)})")
            for i in items:
                confidence = "  -  " if i.confidence is None else f"{i.confidence:.2f}"
                print(f"  #{i.id:<5} {confidence}  {i.source:<8} {i.text}")
    elif args.command == "assign":
        if len(args.args) != 2:
            parser.error("assign ID INTENT")
        item = queue.assign(int(args.args[0]), args.args[1], domain_intents(args.nlu.parent.parent))
        queue.save()
        print(f"#{item.id} 「{item.text}」 → {item.label}")
    elif args.command == "patch":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(queue.patch(), encoding="utf-8")
        print(f"==> {len(queue.reviewed())} reviewed examples in {args.out}")
    elif args.command == "apply":
        reviewed = queue.reviewed()
        added = add_examples(args.nlu, reviewed)
        for item in reviewed:
            item.applied = True
        queue.save()
        print(f"==> {added} examples added to {args.nlu}; now make validate and make eval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
