"""The trainers' review queue from the command line: messages the model was unsure about,
labelled by a trainer, written back into data/nlu.yml as a reviewed patch. The queue itself
is bot/shop/review.py (in the shop database); the trainers' page (/review, web/review.py)
calls the same functions as these commands.

python -m evaluation review fill --data log.tsv   (make review DATA=log.tsv)
    runs each message (the first column of a TSV line, JD masks replaced) through the
    model; those it falls back on (the assistant asks 「您是想问：」) join the queue.
python -m evaluation review live
    live traffic joins the queue: the customer messages of the tracker store (endpoints.yml)
    NLU fell back on or read as out of scope, and the drafts agents rejected or rewrote
    (bot/shop/feedback.py); the trainers' page does this whenever it loads the queue.
python -m evaluation review mask
    the items queued before today's masking (names, addresses, phones however written)
    masked as new ones are; those it makes the same as another join that one.
python -m evaluation review list
    the open items, grouped by predicted intent, with confidence and id.
python -m evaluation review assign ID INTENT   (INTENT "-" drops the item)
python -m evaluation review patch [--out reports/review_nlu.yml]
    the assigned items as NLU YAML, for a trainer to read before applying.
python -m evaluation review apply [--nlu data/nlu.yml]
    adds the assigned items to the end of their intent's block; then make validate, make eval.

Every command takes --db URL (default: the shop database, SHOP_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import yaml

from bot.settings import PROJECT_ROOT, database_url, utcnow
from bot.shop.feedback import FeedbackLog
from bot.shop.review import QueueItem, ReviewQueue
from bot.shop.store import OrderStore
from evaluation.data import unmask
from rasa_adapter.project_files import NLU, nlu_blocks, to_nlu_yaml

__all__ = ["add_examples", "apply_reviewed", "domain_intents", "fill", "patch"]
NEXT_STEPS = "make validate, then make eval (or make train)"


def patch(queue: ReviewQueue) -> str:
    """The reviewed items as NLU YAML in data/nlu.yml's format."""
    return to_nlu_yaml(((i.label or "", i.text) for i in queue.reviewed()),
                       header="# reviewed by a trainer from the review queue (python -m evaluation review)\n")


def apply_reviewed(queue: ReviewQueue, nlu: Path, now: datetime) -> int:
    """The reviewed items written into ``nlu`` and marked applied: the examples added."""
    reviewed = queue.reviewed()
    added = add_examples(nlu, reviewed)
    queue.mark_applied((i.id for i in reviewed), now)
    return added


def add_examples(nlu: Path, examples: Sequence[QueueItem]) -> int:
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
    """The intents a trainer can give a message (not the ones only the system says)."""
    raw = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")).get("intents") or []
    names = [i if isinstance(i, str) else next(iter(i)) for i in raw]
    return [n for n in names if not n.startswith("EXTERNAL_")]


def fill(queue: ReviewQueue, model: object, messages: Sequence[str], now: datetime) -> int:
    """The messages the model falls back on join the queue, with its best guesses."""
    predictions, rankings = model.answers(messages)  # type: ignore[attr-defined]
    added = 0
    for text, predicted, ranking in zip(messages, predictions, rankings):
        if predicted == "nlu_fallback":
            real = [(name, round(conf, 3)) for name, conf in ranking if name != "nlu_fallback"]
            best, confidence = real[0] if real else ("out_of_scope", 0.0)
            added += queue.add(text, best, confidence, "log", now, real[:3]) is not None
    return added


def take_live(queue: ReviewQueue, now: datetime) -> Dict[str, int]:
    """Live traffic into the queue: the tracker store's unsure messages (when it is SQL)
    and the agents' feedback. The counts of new items."""
    from sqlalchemy import create_engine

    from bot.settings import rasa_endpoints_path
    from rasa_adapter.conversations import TrackerIndex, tracker_store_url

    url = tracker_store_url(rasa_endpoints_path(), PROJECT_ROOT)
    traffic = 0
    if url:
        engine = create_engine(url, future=True)
        index = TrackerIndex(engine)
        traffic = queue.take_traffic(index.unsure_messages, now, index.latest_id)
        engine.dispose()
    return {"traffic": traffic, "feedback": queue.take_feedback(FeedbackLog(queue.store), now)}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fill", "live", "mask", "list", "assign", "patch", "apply"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--db", default=None, help="the shop database (default: SHOP_DATABASE_URL)")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "aftersales.tar.gz")
    parser.add_argument("--limit", type=int, default=0, help="fill: at most this many messages")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "review_nlu.yml")
    parser.add_argument("--nlu", type=Path, default=PROJECT_ROOT / NLU)
    args = parser.parse_args(argv)
    store = OrderStore.from_url(args.db or database_url())
    store.create_schema()  # the queue's tables in a shop made before them
    queue = ReviewQueue(store)
    try:
        return _run(parser, args, queue)
    finally:
        store.engine.dispose()


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace, queue: ReviewQueue) -> int:
    if args.command == "fill":
        if args.data is None:
            parser.error("fill needs --data (make review DATA=file)")
        from evaluation.__main__ import RasaModel

        messages = log_messages(args.data)[: args.limit or None]
        added = fill(queue, RasaModel(args.model), messages, utcnow())
        print(f"==> {len(messages)} messages, {added} new in the review queue")
    elif args.command == "live":
        counts = take_live(queue, utcnow())
        print(f"==> new in the review queue: {counts['traffic']} from conversations, "
              f"{counts['feedback']} from the agents' feedback")
    elif args.command == "mask":
        rewritten, merged = queue.remask()
        print(f"==> {rewritten} queued messages masked, {merged} merged into one of the same words")
    elif args.command == "list":
        for intent, items in queue.grouped().items():
            print(f"{intent} ({len(items)})")
            for i in items:
                confidence = "  -  " if i.confidence is None else f"{i.confidence:.2f}"
                print(f"  #{i.id:<5} {confidence}  {i.source:<12} {i.text}")
    elif args.command == "assign":
        if len(args.args) != 2:
            parser.error("assign ID INTENT")
        item = queue.assign(int(args.args[0]), args.args[1], domain_intents(args.nlu.parent.parent))
        print(f"#{item.id} 「{item.text}」 → {item.label}")
    elif args.command == "patch":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(patch(queue), encoding="utf-8")
        print(f"==> {len(queue.reviewed())} reviewed examples in {args.out}")
    elif args.command == "apply":
        added = apply_reviewed(queue, args.nlu, utcnow())
        print(f"==> {added} examples added to {args.nlu}; now {NEXT_STEPS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
