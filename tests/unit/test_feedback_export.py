"""The feedback export (make export-feedback): masked, in data/nlu.yml's format, under the
intent the agent chose, saying which database it read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy
import yaml

from bot.cli import main
from bot.shop.feedback import FeedbackLog
from bot.shop.masking import mask
from bot.shop.sample_data import seed
from bot.shop.store import OrderStore
from rasa_adapter.project_files import nlu_blocks, nlu_examples

NOW = datetime(2026, 11, 20, 10, 0)


def test_numbers_become_the_annotated_placeholders_of_the_data_files():
    assert mask("订单3027461958301111111到哪了") == "订单[3027461958302746518](order_id)到哪了"
    assert mask("顺丰sf1234567890123怎么不动") == "顺丰[SF1402938475610](tracking_number)怎么不动"
    assert mask("中通７７３０２９３８４７５６１０２") == "中通[773029384756102](tracking_number)"
    assert mask("我电话13912345678") == "我电话[13812345678](phone)"
    assert mask("尾号5678，买了2件") == "尾号5678，买了2件"


def test_the_export_reads_says_masks_and_files_under_the_chosen_intent(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'shop.db'}"
    store = OrderStore.from_url(db)
    seed(store, NOW)
    log = FeedbackLog(store)
    log.record(message="订单3027461958301111111 快递柜里没有啊", intent="signed_not_received",
               verdict="used", now=NOW)
    # the agent rewrote the out_of_scope draft into an answer about invoices, and said so
    log.record(message="发票  怎么开", intent="out_of_scope", verdict="edited", now=NOW,
               final_text="亲，发票在订单页申请哦", chosen_intent="invoice_request")
    # rewritten without saying: not filed under out_of_scope, listed to be labelled
    log.record(message="能开专票吗 电话13912345678", intent="out_of_scope", verdict="edited", now=NOW,
               final_text="可以的")
    log.record(message="随便问问", intent="track_parcel", verdict="rejected", now=NOW)
    out = tmp_path / "feedback.yml"
    assert main(["--db", db, "export-feedback", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"read {db}" in said and "2 examples for review, 1 to label" in said
    text = out.read_text(encoding="utf-8")
    assert f"in {db}" in text.splitlines()[0]
    assert "13912345678" not in text and "3027461958301111111" not in text
    assert "#   - 能开专票吗 电话[13812345678](phone)" in text
    # the data files' format: `examples: |`, one `- ` line each, read back as Rasa reads them
    assert "- intent: invoice_request\n  examples: |\n    - 发票 怎么开\n" in text
    assert [b.name for b in nlu_blocks(out)] == ["invoice_request", "signed_not_received"]
    assert nlu_examples([out]) == [("invoice_request", "发票 怎么开"),
                                   ("signed_not_received", "订单3027461958302746518 快递柜里没有啊")]
    assert yaml.safe_load(text)["nlu"][1]["examples"] == "- 订单[3027461958302746518](order_id) 快递柜里没有啊\n"


def test_a_database_made_before_chosen_intent_gets_the_column(tmp_path):
    db = f"sqlite:///{tmp_path / 'old.db'}"
    store = OrderStore.from_url(db)
    seed(store, NOW)
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.text("ALTER TABLE feedback DROP COLUMN chosen_intent"))
    store.create_schema()
    FeedbackLog(store).record(message="x", intent="greet", verdict="used", now=NOW, chosen_intent="thank")
    assert FeedbackLog(store).all()[0].label == "thank"
