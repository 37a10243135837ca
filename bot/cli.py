"""Command line: ``python -m bot orders``, ``python -m bot init-db``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import List, Optional, TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.assist import Assistant
from bot.casenotes import CaseNotes
from bot.cases import CaseLog
from bot.feedback import FeedbackLog
from bot.identity import buyer_secret, sign
from bot.nlu_client import NluUnavailable, parse_ranking
from bot.policy import PolicyError, ShopPolicy, load_policy
from bot.replies import fmt_items, fmt_time
from bot.sample_data import seed
from bot.schema import Base
from bot.store import OrderStore, OutdatedSchema


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--db", default=None, help="database URL (default: $SHOP_DATABASE_URL or var/shop.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init-db", help="create the shop database with sample orders")
    init.add_argument("--reset", action="store_true", help="delete and re-create it first")
    sub.add_parser("orders", help="list the orders, to pick one to ask about")
    cases = sub.add_parser("cases", help="the open cases for the shift hand-over; `cases close ID`")
    cases.add_argument("action", nargs="?", choices=["close"], help="close a case")
    cases.add_argument("case_id", nargs="?", type=int, help="the case to close")
    cases.add_argument("--handler", default=None, help="who closed it (an agent's name)")
    release = sub.add_parser(
        "release", help="give a conversation handed to a human back to the assistant"
    )
    release.add_argument("conversation", help="the conversation (sender) id")
    release.add_argument("--rasa", default=os.environ.get("RASA_URL", "http://localhost:5005"))
    suggest = sub.add_parser("suggest", help="agent assist: suggested replies for a customer message")
    suggest.add_argument("message")
    suggest.add_argument("--order", default=None, help="the order the message is about")
    suggest.add_argument("--rasa", default=os.environ.get("RASA_URL", "http://localhost:5005"))
    token = sub.add_parser("token", help="a signed buyer token, to chat as that buyer over REST")
    token.add_argument("account")
    export = sub.add_parser("export-feedback", help="agents' accepted messages as Rasa NLU YAML")
    export.add_argument("--out", default=None, help="a file (default: standard output)")
    sub.add_parser("check-policy", help="validate shop.yml and case_notes.yml")
    args = parser.parse_args(argv)

    try:
        policy = load_policy(settings.policy_path())
    except PolicyError as exc:
        print(f"shop policy error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-policy":
        try:
            CaseNotes.load(settings.case_notes_path())
        except (ValueError, KeyError, OSError) as exc:
            print(f"case notes error: {exc}", file=sys.stderr)
            return 2
        print(f"{settings.policy_path()}: OK; {settings.case_notes_path()}: OK", file=out)
        return 0

    url = args.db or settings.database_url()
    if url.startswith("sqlite:///"):
        db_file = Path(url[len("sqlite:///"):])
        if args.command == "init-db" and args.reset and db_file.exists():
            db_file.unlink()
        db_file.parent.mkdir(parents=True, exist_ok=True)
    store = OrderStore.from_url(url)

    if args.command == "init-db":
        if args.reset and not url.startswith("sqlite:///"):  # a server database: drop our tables
            Base.metadata.drop_all(store.engine)
        try:
            created = seed(store, settings.utcnow())
        except OutdatedSchema as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if created:
            print(f"created the sample shop with {created} orders at {url}", file=out)
        else:
            print(f"the shop database at {url} already has orders; left as it is", file=out)
        return 0

    if args.command == "cases":
        return _cases(args, store, policy, out)
    if args.command == "release":
        return _release(args.conversation, args.rasa, out)
    if args.command == "token":
        if store.buyer(args.account) is None:
            print(f"no buyer {args.account}", file=sys.stderr)
            return 1
        print(sign(args.account, buyer_secret(), settings.utcnow()), file=out)
        return 0
    if args.command == "suggest":
        return _suggest(args, store, policy, out)
    if args.command == "export-feedback":
        store.create_schema()
        text = FeedbackLog(store).export_nlu_yaml()
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
            print(f"wrote {args.out}", file=out)
        else:
            print(text, end="", file=out)
        return 0
    try:
        empty = store.is_empty()
    except SQLAlchemyError:
        empty = True
    if empty:
        print(f"no orders in {url} yet: run `python -m bot init-db` first", file=out)
        return 1
    print(f"{'order':<20} {'buyer':<12} {'state':<18} {'courier / tracking':<28} items", file=out)
    for order in store.all_orders():
        ship = order.shipment
        tracking = f"{ship.courier} {ship.tracking_number}" if ship else "-"
        print(
            f"{order.order_id:<20} {order.buyer_account:<12} {order.state.value:<18} "
            f"{tracking:<28} {fmt_items(order.items)} (下单 {fmt_time(order.created_at, policy)})",
            file=out,
        )
    return 0


def _cases(args: argparse.Namespace, store: OrderStore, policy: ShopPolicy, out: TextIO) -> int:
    log = CaseLog(store)
    store.create_schema()
    if args.action == "close":
        if args.case_id is None:
            print("which case? `python -m bot cases close ID`", file=sys.stderr)
            return 2
        if log.close(args.case_id, settings.utcnow(), handler=args.handler):
            print(f"case {args.case_id} closed", file=out)
            return 0
        print(f"no open case {args.case_id}", file=sys.stderr)
        return 1
    cases = log.open_cases()
    print(f"{len(cases)} open case(s)", file=out)
    for case in cases:
        rating = f" 评分{case.rating}" if case.rating else ""
        print(
            f"#{case.id:<4} {fmt_time(case.updated_at, policy)}  {case.state.value:<16} "
            f"{case.intent:<22} order {case.order_id or '-':<20} conversation {case.conversation_id}"
            f" ({case.handler}){rating}\n"
            f"      备注: {case.note}\n      下一步: {case.next_step}"
            + (f"\n      留言: {case.customer_message}" if case.customer_message else ""),
            file=out,
        )
    return 0


def rasa_token() -> str:
    token_file = settings.PROJECT_ROOT / "var" / "rasa_token"
    return os.environ.get("RASA_TOKEN") or (
        token_file.read_text().strip() if token_file.exists() else ""
    )


def _suggest(args: argparse.Namespace, store: OrderStore, policy: ShopPolicy, out: TextIO) -> int:
    order = store.get_order(args.order) if args.order else None
    if args.order and order is None:
        print(f"no order {args.order}", file=sys.stderr)
        return 1
    try:
        ranking = parse_ranking(args.rasa, args.message, rasa_token())
    except NluUnavailable as exc:
        print(f"{exc}\nstart the assistant first (make run)", file=sys.stderr)
        return 1
    assistant = Assistant.from_project(
        settings.PROJECT_ROOT, CaseNotes.load(settings.case_notes_path()), policy
    )
    for n, s in enumerate(assistant.suggest(ranking, order, settings.utcnow(), args.message), 1):
        print(f"[{n}] {s.intent} ({s.confidence:.2f})  {s.response}", file=out)
        print("    " + s.reply.replace("\n", "\n    "), file=out)
        for step in s.checklist:
            print(f"    ☐ {step}", file=out)
        if s.verdicts:
            print(f"    verdicts: {json.dumps(s.verdicts, ensure_ascii=False)}", file=out)
        if s.case_note:
            print(f"    case note: {s.case_note['note']} → {s.case_note['next_step']}", file=out)
    return 0


def _release(conversation: str, rasa_url: str, out: TextIO) -> int:
    """Give a paused conversation back to the assistant through Rasa's HTTP API.

    Besides ``resume``, an ``action_listen`` is appended: the messages the customer
    sent to the human were never answered by the assistant, and its next message
    must start a fresh turn.
    """
    token = rasa_token()
    url = f"{rasa_url}/conversations/{urllib.parse.quote(conversation, safe='')}/tracker/events"
    if token:
        url += f"?token={urllib.parse.quote(token)}"
    request = urllib.request.Request(
        url,
        data=json.dumps([
            {"event": "resume"},
            {"event": "slot", "name": "handoff", "value": None},
            {"event": "action", "name": "action_listen"},
        ]).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            pass
    except (urllib.error.URLError, OSError) as exc:
        print(f"could not reach Rasa at {rasa_url}: {exc}", file=sys.stderr)
        return 1
    print(f"conversation {conversation} is back with the assistant", file=out)
    return 0
