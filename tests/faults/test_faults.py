"""Faults, injected for real: the action server killed or frozen, the shop database
locked or failing midway, Rasa killed mid-conversation, a kill during load.

One private stack (tests/helpers/fault_stack.py) for the module; every test leaves both
servers running and unfrozen for the next.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
import socketio

from bot.access.identity import sign
from bot.settings import utcnow
from devtools.stack import MODEL
from rasa_adapter import project_files
from tests.helpers.fault_stack import TURN_DEADLINE, Chat, FaultStack, wait_for
from tests.helpers.servers import BUYER_SECRET

pytestmark = pytest.mark.e2e

QUALITY = "收到的东西坏了，有破损"  # chen_hao has one recent order: a case in one turn
CHEN_ORDER = "1829374650192837465"
# what a customer may hear when the shop database is unavailable
FAULT_REPLIES = ("utter_order_lookup_failed", "utter_service_unavailable", "utter_fallback_unanswered")


def response_text(name: str) -> str:
    """The (single) text of a domain response."""
    return project_files.response_text(name)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    stack = FaultStack(tmp_path_factory.mktemp("faults"))
    try:
        stack.start("actions", "rasa")
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def healthy(stack: FaultStack) -> Iterator[FaultStack]:
    """The stack, put back to running and unfrozen after the test."""
    try:
        yield stack
    finally:
        for name in ("actions", "rasa"):
            if stack.running(name):
                stack.signal(name, signal.SIGCONT)
            else:
                stack.start(name)


def settled(stack: FaultStack) -> bool:
    return all(t["status"] not in ("pending", "replaying") for t in stack.journal())


def test_action_server_killed_fallback_then_the_case_is_recorded_once_it_is_back(healthy):
    stack = healthy
    stack.signal("actions", signal.SIGKILL)
    chat = Chat(stack, "chen_hao")
    assert chat.says(QUALITY) == response_text("utter_fallback_unanswered")
    assert stack.cases(chat.sender) == []
    [journaled] = [t for t in stack.journal() if t["sender_id"] == chat.sender]
    assert journaled["status"] == "pending" and journaled["text"] == QUALITY

    stack.start("actions")
    wait_for(lambda: settled(stack), "the replay")
    [case] = stack.cases(chat.sender)
    assert (case.intent, case.order_id) == ("quality_issue", CHEN_ORDER)
    [(text, answers)] = stack.turns(chat.sender)  # one turn, no half turn left behind
    assert text == QUALITY and any("照片" in a for a in answers)
    assert [t["status"] for t in stack.journal() if t["sender_id"] == chat.sender] == ["done"]
    # the conversation goes on from the replayed turn
    assert "照片" not in chat.says("谢谢")


def test_a_paused_conversation_stays_silent_without_a_fallback(healthy):
    stack = healthy
    chat = Chat(stack, "wang_fang")
    assert "人工客服" in chat.says("转人工")
    assert chat.says("在吗") == ""
    assert [t for t in stack.journal() if t["sender_id"] == chat.sender] == []


def test_typed_intent_syntax_is_read_as_text(healthy):
    stack = healthy
    chat = Chat(stack, "wang_fang")
    chat.says('/request_human{"order_id": "2938475610293840001"}')
    tracker = stack.tracker(chat.sender)
    assert not tracker.is_paused()
    message = tracker.latest_message
    assert message is not None and not message.text.startswith("/")
    assert len(message.parse_data.get("intent_ranking") or []) > 1  # NLU parsed it


async def test_action_server_frozen_beyond_the_deadline_then_the_late_answer_arrives(healthy):
    stack = healthy
    client = socketio.AsyncClient()
    received: asyncio.Queue = asyncio.Queue()
    client.on("bot_uttered", lambda data: received.put_nowait(data.get("text", "")))
    session = uuid.uuid4().hex
    confirmed = asyncio.Event()
    client.on("session_confirm", lambda _data: confirmed.set())
    await client.connect(stack.rasa_url, socketio_path="/socket.io", transports=["websocket"])
    try:
        await client.emit("session_request", {"session_id": session})
        await asyncio.wait_for(confirmed.wait(), 30)
        stack.signal("actions", signal.SIGSTOP)
        token = sign("chen_hao", BUYER_SECRET, utcnow())
        await client.emit("user_uttered", {"message": QUALITY, "session_id": session,
                                           "customData": {"buyer_token": token}})
        first = await asyncio.wait_for(received.get(), TURN_DEADLINE + 30)
        assert first == response_text("utter_still_working")
        assert stack.cases(session) == []
        stack.signal("actions", signal.SIGCONT)
        texts: List[str] = []
        while not any("照片" in t for t in texts):
            texts.append(await asyncio.wait_for(received.get(), 60))
        assert any(CHEN_ORDER in t for t in texts)
    finally:
        await client.disconnect()
    [case] = stack.cases(session)
    assert case.intent == "quality_issue"
    assert [t for t in stack.journal() if t["sender_id"] == session] == []


def test_shop_database_locked_clear_reply_nothing_written_then_recorded(healthy):
    stack = healthy
    chat = Chat(stack, "chen_hao")
    lock = sqlite3.connect(stack.shop_db, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")  # nobody else can read or write the shop
        reply = chat.says(f"订单{CHEN_ORDER}收到的东西坏了，有破损")
        assert reply in {response_text(name) for name in FAULT_REPLIES}
        rows = lock.execute("SELECT COUNT(*) FROM cases WHERE conversation_id = ?", (chat.sender,))
        assert rows.fetchone()[0] == 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_for(lambda: settled(stack) and stack.cases(chat.sender), "the replay")
    assert [c.intent for c in stack.cases(chat.sender)] == ["quality_issue"]


def test_a_write_failing_midway_leaves_nothing_half_written(healthy):
    """The new address and its case are one transaction: the case write fails, so
    the address is not changed either; once the database accepts writes the turn
    is replayed and both are written."""
    stack = healthy
    order = "3027461958302751137"  # lin_xiaoyu's, not shipped
    old_address = stack.store.get_order(order).address
    new_address = "浙江省杭州市西湖区文三路100号3幢501室"
    chat = Chat(stack, "lin_xiaoyu")
    assert "新地址" in chat.says(f"订单{order}我想改一下收货地址")  # the address form asks
    [before] = stack.cases(chat.sender)
    db = sqlite3.connect(stack.shop_db, isolation_level=None)
    try:
        for op in ("INSERT", "UPDATE"):
            db.execute(f"CREATE TRIGGER fail_case_{op.lower()} BEFORE {op} ON cases "
                       "BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
        assert chat.says(new_address) == response_text("utter_service_unavailable")
        assert stack.store.get_order(order).address == old_address
        assert stack.cases(chat.sender) == [before]
    finally:
        for op in ("insert", "update"):
            db.execute(f"DROP TRIGGER IF EXISTS fail_case_{op}")
        db.close()
    wait_for(lambda: settled(stack) and stack.store.get_order(order).address == new_address,
             "the replay")
    [after] = stack.cases(chat.sender)
    assert after.id == before.id and after.intent == "change_address"
    assert after.state != before.state or after.note != before.note


def test_rasa_killed_mid_conversation_continues_where_it_was(healthy):
    stack = healthy
    chat = Chat(stack, "lin_xiaoyu")
    assert "哪一笔订单" in chat.says("我的快递到哪了")  # the order form waits for the number
    stack.signal("rasa", signal.SIGKILL)
    stack.start("rasa")
    reply = chat.says("3027461958302746518")
    assert "773029384756102" in reply and "中通快递" in reply


def kill_during_load(stack: FaultStack, server: str, prefix: str) -> Tuple[List[Chat], List[Future]]:
    """16 buyers report a quality issue at once (8 at a time); ``server`` is
    SIGKILLed after the first three answers. The chats and their finished replies."""
    chats = [Chat(stack, "chen_hao", sender=f"{prefix}-{uuid.uuid4().hex[:8]}-{i}") for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = [pool.submit(chat.says, QUALITY) for chat in chats]
        wait_for(lambda: sum(r.done() for r in replies) >= 3, "the first answers", interval=0.02)
        stack.signal(server, signal.SIGKILL)
    return chats, replies


def test_action_server_killed_during_load_loses_and_duplicates_no_case(healthy):
    stack = healthy
    chats, replies = kill_during_load(stack, "actions", "load")
    answers = [r.result() for r in replies]
    fallbacks = sum(response_text("utter_fallback_unanswered") in a for a in answers)
    assert 0 < fallbacks < len(chats)  # the kill hit the load in the middle
    stack.start("actions")
    wait_for(lambda: settled(stack), "the replays")
    for chat in chats:
        assert [c.intent for c in stack.cases(chat.sender)] == ["quality_issue"], chat.sender
        [(text, bot)] = stack.turns(chat.sender)
        assert text == QUALITY and sum("照片" in b for b in bot) == 1, chat.sender
    statuses = {t["status"] for t in stack.journal() if t["sender_id"].startswith("load-")}
    assert statuses == {"done"}


def test_rasa_killed_during_load_loses_and_duplicates_no_case(healthy):
    """Cases are committed by the action server: a Rasa killed in the middle of a
    load loses none of them, and a customer who sends again after the restart
    gets an answer and still one case."""
    stack = healthy
    chats, replies = kill_during_load(stack, "rasa", "rasa-load")
    answered = [r.exception() is None and "照片" in r.result() for r in replies]
    assert 3 <= sum(answered) < len(chats)  # the kill hit the load in the middle
    committed = {chat.sender: [c.id for c in stack.cases(chat.sender)] for chat in chats}
    for chat, ok in zip(chats, answered, strict=True):
        if ok:  # the customer was answered: the case was committed
            assert len(committed[chat.sender]) == 1, chat.sender
    stack.start("rasa")
    for chat, ok in zip(chats, answered, strict=True):
        if not ok:  # no answer before the kill: the customer sends it again
            assert "照片" in chat.says(QUALITY), chat.sender
    wait_for(lambda: settled(stack), "the replays")
    for chat in chats:
        cases = stack.cases(chat.sender)
        assert [c.intent for c in cases] == ["quality_issue"], chat.sender
        assert set(committed[chat.sender]) <= {c.id for c in cases}  # none lost


def test_the_journal_is_in_the_tracker_database(stack: FaultStack):
    assert Path(stack.tracker_db).exists()
    with sqlite3.connect(stack.tracker_db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "pending_turns"} <= tables


def test_a_case_change_made_while_rasa_is_stopped_is_told_once_when_the_customer_writes(healthy, monkeypatch,
                                                                                         capsys):
    """Rasa stopped → the case is resolved (the notice is recorded, pending) → Rasa started →
    the customer writes: the notice comes ahead of the answer, once; `cases notify` and
    the next messages never repeat it."""
    from bot.cli import main as bot_cli
    from bot.shop.casefacts import notices_of
    from tests.helpers.servers import TOKEN

    stack = healthy
    chat = Chat(stack, "chen_hao")
    chat.says(QUALITY)
    [case] = [c for c in stack.cases(chat.sender) if c.intent == "quality_issue"]
    stack.stop("rasa")
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    cli = ["--db", stack.shop.db, "cases"]
    assert bot_cli([*cli, "resolve", str(case.id), "--rasa", stack.rasa_url]) == 0
    assert "was not told now" in capsys.readouterr().err
    [notice] = notices_of(stack.store, case.id)
    assert not notice.delivered
    assert bot_cli([*cli, "notify", "--rasa", stack.rasa_url]) == 0  # still away: still pending
    assert not notices_of(stack.store, case.id)[0].delivered
    stack.start("rasa")
    resolved = response_text("utter_case_resolved").split("{")[0]
    reply = chat.says("好的")
    assert reply.startswith(resolved) and reply.count(resolved) == 1
    assert resolved not in chat.says("谢谢")
    assert bot_cli([*cli, "notify", "--rasa", stack.rasa_url]) == 0
    assert "told 0 pending notice(s)" in capsys.readouterr().out
    [notice] = notices_of(stack.store, case.id)
    assert notice.delivered and notice.delivered_at is not None
    said = [bot for _, bots in stack.turns(chat.sender) for bot in bots if bot.startswith(resolved)]
    assert len(said) == 1
