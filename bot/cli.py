"""Command line: ``python -m bot orders``, ``python -m bot init-db``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.policy import PolicyError, load_policy
from bot.replies import fmt_items, fmt_time
from bot.sample_data import seed
from bot.store import OrderStore


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
    sub.add_parser("check-policy", help="validate shop.yml")
    args = parser.parse_args(argv)

    try:
        policy = load_policy(settings.policy_path())
    except PolicyError as exc:
        print(f"shop policy error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-policy":
        print(f"{settings.policy_path()}: OK", file=out)
        return 0

    url = args.db or settings.database_url()
    if url.startswith("sqlite:///"):
        db_file = Path(url[len("sqlite:///"):])
        if args.command == "init-db" and args.reset and db_file.exists():
            db_file.unlink()
        db_file.parent.mkdir(parents=True, exist_ok=True)
    store = OrderStore.from_url(url)

    if args.command == "init-db":
        created = seed(store, settings.utcnow())
        if created:
            print(f"created the sample shop with {created} orders at {url}", file=out)
        else:
            print(f"the shop database at {url} already has orders; left as it is", file=out)
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
