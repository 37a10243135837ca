import subprocess
import sys
from datetime import datetime

from bot.cli import main
from bot.settings import PROJECT_ROOT
from bot.shop.cases import CaseLog, CaseState, PromiseKind, PromiseTerms
from bot.shop.sample_data import ORDERS
from bot.shop.store import OrderStore


def run(*args, db):
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", db, *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )


def test_init_db_then_orders_lists_every_order(tmp_path):
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    first = run("init-db", db=db)
    assert first.returncode == 0 and f"{len(ORDERS)} orders" in first.stdout
    again = run("init-db", db=db)
    assert "already has orders" in again.stdout
    listing = run("orders", db=db)
    assert listing.returncode == 0
    assert "3027461958302746518" in listing.stdout and "in_transit" in listing.stdout
    assert len(listing.stdout.strip().splitlines()) == 1 + len(ORDERS)
    # a note on an order (插旗备注) and a promise show under it
    store = OrderStore.from_url(db)
    case = CaseLog(store).register(
        conversation_id="c", intent="urge_shipment", state=CaseState.WAITING_SHOP, next_step="发货",
        note="催发货", now=datetime(2026, 11, 20, 6, 0), order_id="3027461958302751137",
        promises=[PromiseTerms(PromiseKind.SHIP_BY, due_at=datetime(2026, 11, 21, 10, 0))])
    store.add_note("3027461958302751137", "urgent", "客户催发货，已承诺发出", datetime(2026, 11, 20, 6, 0),
                   promise_id=CaseLog(store).open_promise(case.id).id)
    noted = run("orders", db=db).stdout
    assert "备注 11月20日 14:00 assistant: 客户催发货，已承诺发出 (期限 11月21日 18:00)" in noted
    # the due time is the case's promise: kept there, the note shows none
    assert CaseLog(store).keep(case.id, PromiseKind.SHIP_BY, datetime(2026, 11, 21, 8, 0))
    kept = run("orders", db=db).stdout
    assert "客户催发货，已承诺发出" in kept and "(期限" not in kept


def test_orders_before_init_says_what_to_do(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    # no database yet: the command explains instead of failing with a trace
    assert main(["--db", db, "orders"]) == 1
    assert "init-db" in capsys.readouterr().out


def test_a_bad_policy_stops_with_the_key_named(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "shop.yml"
    bad.write_text((PROJECT_ROOT / "shop.yml").read_text(encoding="utf-8").replace("window_days: 7", "window_days: seven"), encoding="utf-8")
    monkeypatch.setenv("SHOP_POLICY", str(bad))
    assert main(["check-policy"]) == 2
    assert "returns.window_days" in capsys.readouterr().err


def test_bad_case_notes_stop_with_the_entry_named(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "case_notes.yml"
    bad.write_text("utter_track_signed:\n  state: finished\n  next_step: x\n  note: y\n", encoding="utf-8")
    monkeypatch.setenv("SHOP_CASE_NOTES", str(bad))
    assert main(["check-policy"]) == 2
    assert "utter_track_signed.state" in capsys.readouterr().err


def test_a_bad_playbook_row_stops_with_the_row_named(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "playbook.yml"
    bad.write_text("intents:\n  track_parcel:\n    - when: [sunny]\n      reply: utter_track_signed\n",
                   encoding="utf-8")
    monkeypatch.setenv("SHOP_PLAYBOOK", str(bad))
    assert main(["check-policy"]) == 2
    assert "track_parcel[0]: unknown condition 'sunny'" in capsys.readouterr().err


def test_init_db_reset_recreates_a_database_that_is_not_a_sqlite_file(tmp_path, capsys):
    # as on PostgreSQL: no file to delete, so the tables are dropped and made again
    db = f"sqlite+pysqlite:///{tmp_path / 'shop.db'}"
    assert main(["--db", db, "init-db"]) == 0
    store = OrderStore.from_url(db)
    CaseLog(store).register(conversation_id="c1", intent="complaint", state=CaseState.ESCALATED,
                            next_step="", note="", now=datetime(2026, 11, 20))
    assert len(CaseLog(store).open_cases()) == 1
    assert main(["--db", db, "init-db", "--reset"]) == 0
    assert f"created the sample shop with {len(ORDERS)} orders" in capsys.readouterr().out
    assert CaseLog(store).open_cases() == []
    store.engine.dispose()
