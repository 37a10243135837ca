"""channels/guard.py and channels/runtime.py: what the customer gets and what is journaled, per turn.

The guard wraps a stand-in for Rasa's ``handle_message`` (it answers, stays
silent, raises, logs a failed custom action as Rasa 3.6 does, answers "the
database is unavailable", or is slow); the runtime is the real one, with an
agent built from our domain.yml (its NLG renders the guard's replies) and a
journal on a temporary SQLite database.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused
from rasa.shared.core.trackers import DialogueStateTracker

from bot.playbook import faults
from bot.settings import PROJECT_ROOT
from channels.guard import TurnGuard
from channels.journal import MAX_ATTEMPTS, RETRY_SECONDS
from channels.runtime import MAX_CONCURRENT_TURNS, Admission, FaultRuntime, FaultSettings
from rasa_adapter import compat
from rasa_adapter.project_files import response_text

DEADLINE = 0.5
REST_DEADLINE = 1.0  # the slow turn (3 x DEADLINE) is slower than this too
LIMIT = 2  # admission control: turns in flight
ANSWER = {"text": "收到，请上传照片", "utter_action": "utter_quality_issue"}


# -- settings --------------------------------------------------------------------

SETTINGS_ENV = ("TURN_DEADLINE_SECONDS", "PENDING_TURNS_URL", "PENDING_TURNS_MAX_ATTEMPTS",
                "PENDING_TURNS_RETRY_SECONDS", "PENDING_TURNS_POLL_SECONDS", "REST_DEADLINE_SECONDS",
                "MAX_CONCURRENT_TURNS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_fault_settings_default_to_the_journals_defaults(clean_env):
    settings = FaultSettings.from_env()
    assert settings == FaultSettings(turn_deadline=8.0, journal_url=None, max_attempts=MAX_ATTEMPTS,
                                     retry_seconds=RETRY_SECONDS, poll_seconds=2.0)
    assert (settings.max_attempts, settings.retry_seconds) == (8, 5.0)  # as docs/faults.md says
    assert (settings.rest_deadline, settings.max_concurrent_turns) == (25.0, MAX_CONCURRENT_TURNS)


def test_the_rest_deadline_and_the_concurrency_limit_from_the_environment(clean_env):
    clean_env.setenv("REST_DEADLINE_SECONDS", "12")
    clean_env.setenv("MAX_CONCURRENT_TURNS", "0")
    settings = FaultSettings.from_env()
    assert (settings.rest_deadline, settings.max_concurrent_turns) == (12.0, 0)


def test_fault_settings_from_the_environment(clean_env):
    clean_env.setenv("TURN_DEADLINE_SECONDS", "4")
    clean_env.setenv("PENDING_TURNS_URL", "postgresql://rasa@db/rasa")
    clean_env.setenv("PENDING_TURNS_MAX_ATTEMPTS", "6")
    clean_env.setenv("PENDING_TURNS_RETRY_SECONDS", "0.5")
    clean_env.setenv("PENDING_TURNS_POLL_SECONDS", "0.25")
    assert FaultSettings.from_env() == FaultSettings(4.0, "postgresql://rasa@db/rasa", 6, 0.5, 0.25)


def test_an_empty_journal_url_means_the_tracker_stores_database(clean_env):
    clean_env.setenv("PENDING_TURNS_URL", "")
    assert FaultSettings.from_env().journal_url is None


def test_a_malformed_setting_stops_the_server(clean_env):
    clean_env.setenv("PENDING_TURNS_MAX_ATTEMPTS", "eight")
    with pytest.raises(ValueError):
        FaultSettings.from_env()


# -- the guard around a turn -----------------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
async def runtime(domain: Domain, tmp_path: Path) -> AsyncIterator[FaultRuntime]:
    agent = Agent(domain=domain)
    app: Any = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
    settings = FaultSettings(turn_deadline=DEADLINE, journal_url=f"sqlite:///{tmp_path / 'journal.db'}",
                             poll_seconds=60, rest_deadline=REST_DEADLINE, max_concurrent_turns=LIMIT)
    runtime = FaultRuntime(app, settings)
    await runtime.start()
    yield runtime
    await runtime.stop()
    assert runtime.journal is not None
    runtime.journal.engine.dispose()


Rasa = Callable[[UserMessage], Awaitable[Any]]


class Customer:
    """Sends one message through a guard and reads what came back."""

    def __init__(self, guard: TurnGuard, rasa: Rasa, sender: str = "c1") -> None:
        self.handler = guard.wrap(rasa)
        self.sender = sender
        self.output = CollectingOutputChannel()

    async def says(self, text: str, message_id: str = "m1") -> List[str]:
        await self.handler(UserMessage(text, self.output, self.sender, input_channel="rest",
                                       message_id=message_id))
        return [m.get("text", "") for m in self.output.messages]


def guard_with(runtime: FaultRuntime, channel: str = "rest") -> TurnGuard:
    guard = TurnGuard(channel, late_output=lambda: None, late_delivery=channel != "rest")
    guard.runtime = runtime  # as channels.runtime.attach does when the server starts
    return guard


def journaled(runtime: FaultRuntime) -> List[Dict[str, str]]:
    assert runtime.journal is not None
    return [{"message_id": t.message_id, "text": t.text, "reason": t.reason}
            for t in runtime.journal.turns()]


async def answers(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, dict(ANSWER))


async def stays_silent(message: UserMessage) -> None:
    return None


async def raises(message: UserMessage) -> None:
    raise RuntimeError("the action server went away")


async def answers_then_an_action_fails(message: UserMessage) -> None:
    """Rasa 3.6: a reply is sent, then a custom action fails; Rasa only logs it."""
    await message.output_channel.send_response(message.sender_id, dict(ANSWER))
    logging.getLogger(compat.ACTION_FAILED_LOGGER).error(
        f"{compat.ACTION_FAILED_LOG} 'action_quality_issue'.Bot will continue, but the actions events are lost.")


async def says_the_database_is_unavailable(message: UserMessage) -> None:
    await message.output_channel.send_response(
        message.sender_id, {"text": response_text(faults.SERVICE_UNAVAILABLE),
                            "utter_action": faults.SERVICE_UNAVAILABLE})


async def answers_slowly(message: UserMessage) -> None:
    await asyncio.sleep(DEADLINE * 3)
    await answers(message)


async def test_an_answered_turn_passes_untouched(runtime):
    assert await Customer(guard_with(runtime), answers).says("收到的东西坏了") == [ANSWER["text"]]
    assert journaled(runtime) == []


@pytest.mark.parametrize("rasa, reason", [
    (stays_silent, "unanswered"),
    (raises, "action_failed"),
    (answers_then_an_action_fails, "action_failed"),
])
async def test_a_turn_without_a_full_answer_gets_the_fallback_and_is_journaled(runtime, rasa, reason):
    got = await Customer(guard_with(runtime), rasa).says("收到的东西坏了")
    assert got[-1] == response_text(faults.FALLBACK)
    assert journaled(runtime) == [{"message_id": "m1", "text": "收到的东西坏了", "reason": reason}]


async def test_the_database_reply_is_journaled_without_a_fallback(runtime):
    got = await Customer(guard_with(runtime), says_the_database_is_unavailable).says("我要改地址")
    assert got == [response_text(faults.SERVICE_UNAVAILABLE)]
    assert [t["reason"] for t in journaled(runtime)] == ["database"]


async def test_a_failed_action_counts_only_for_its_own_turn(runtime):
    async def answers_after_a_while(message: UserMessage) -> None:
        await asyncio.sleep(0.05)  # while the other customer's action fails
        await answers(message)

    guard = guard_with(runtime)
    fine, failing = Customer(guard, answers_after_a_while, "c1"), Customer(guard, answers_then_an_action_fails, "c2")
    got = await asyncio.gather(fine.says("你好", "m1"), failing.says("收到的东西坏了", "m2"))
    assert got == [[ANSWER["text"]], [ANSWER["text"], response_text(faults.FALLBACK)]]
    assert [(t["message_id"], t["reason"]) for t in journaled(runtime)] == [("m2", "action_failed")]


async def test_a_slow_socketio_turn_gets_a_still_working_reply_and_finishes_in_the_background(runtime):
    customer = Customer(guard_with(runtime, "socketio"), answers_slowly)
    assert await customer.says("我的快递到哪了") == [response_text(faults.STILL_WORKING)]
    assert len(runtime.background) == 1
    await asyncio.gather(*runtime.background)
    texts = [m["text"] for m in customer.output.messages]
    assert texts == [response_text(faults.STILL_WORKING), ANSWER["text"]]
    assert journaled(runtime) == []


async def test_a_paused_conversation_stays_silent(runtime):
    tracker = DialogueStateTracker.from_events("c1", [ConversationPaused()])
    await runtime.agent.tracker_store.save(tracker)
    assert await Customer(guard_with(runtime), stays_silent).says("在吗") == []
    assert journaled(runtime) == []


async def test_typed_intent_syntax_reaches_rasa_as_text(runtime):
    seen: List[str] = []

    async def rasa(message: UserMessage) -> None:
        seen.append(message.text or "")
        await answers(message)

    await Customer(guard_with(runtime), rasa).says('/request_human{"order_id": "1"}')
    assert seen == ['request_human{"order_id": "1"}']


async def test_before_the_server_started_turns_go_to_rasa_as_they_are():
    seen: List[str] = []

    async def rasa(message: UserMessage) -> None:
        seen.append(message.text or "")

    guard = TurnGuard("rest", late_output=lambda: None)
    assert await Customer(guard, rasa).says("／greet") == []  # no runtime: no fallback either
    assert seen == ["greet"]  # but the text is still read as text


# -- REST: no promise it cannot keep ------------------------------------------------


async def test_over_rest_a_slow_turn_is_waited_for_longer_than_the_socketio_deadline(runtime):
    async def answers_after_two_deadlines(message: UserMessage) -> None:
        await asyncio.sleep(DEADLINE * 1.5)  # past the socket.io deadline, within REST's
        await answers(message)

    assert await Customer(guard_with(runtime), answers_after_two_deadlines).says("我的快递到哪了") == [ANSWER["text"]]


async def test_over_rest_a_turn_past_the_rest_deadline_says_when_to_ask_again_never_still_working(runtime):
    customer = Customer(guard_with(runtime), answers_slowly)
    got = await customer.says("我的快递到哪了")
    assert got == [response_text(faults.ASK_AGAIN).replace("{wait_minutes}", "1")]
    assert response_text(faults.STILL_WORKING) not in got
    await asyncio.gather(*runtime.background)  # it finishes in the background (the tracker has it)
    assert journaled(runtime) == []


# -- admission control ---------------------------------------------------------------


async def test_past_the_limit_a_new_conversation_is_asked_to_come_back_one_under_way_is_served(runtime):
    guard = guard_with(runtime, "socketio")
    regular = Customer(guard, answers, "regular")
    assert await regular.says("你好", "r1") == [ANSWER["text"]]  # under way from now on

    release = asyncio.Event()

    async def answers_when_released(message: UserMessage) -> None:
        await release.wait()
        await answers(message)

    busy = [Customer(guard, answers_when_released, f"busy{i}") for i in range(LIMIT)]
    pending = [asyncio.ensure_future(c.says("我的快递到哪了", f"b{i}")) for i, c in enumerate(busy)]
    await asyncio.sleep(0.05)
    assert runtime.admission.in_flight == LIMIT

    newcomer = Customer(guard, answers, "newcomer")
    busy_text = response_text(faults.BUSY)
    assert busy_text.startswith("现在咨询的人比较多")
    [told] = await newcomer.says("在吗", "n1")
    assert told == busy_text.replace("{wait_minutes}", "1")
    assert await regular.says("我的快递到哪了", "r2") == [ANSWER["text"]] * 2  # under way: served
    assert journaled(runtime) == []  # turned away, not taken: nothing to replay

    release.set()
    await asyncio.gather(*pending, *runtime.background)
    assert runtime.admission.in_flight == 0
    assert await newcomer.says("在吗", "n2") == [told, ANSWER["text"]]  # now there is room


async def test_a_conversation_with_a_tracker_counts_as_under_way(runtime):
    runtime.admission.in_flight = LIMIT  # full
    await runtime.agent.tracker_store.save(DialogueStateTracker.from_events("old", [ConversationPaused()]))
    assert await runtime.admit("old")
    assert not await runtime.admit("brand-new")


def test_the_wait_told_grows_with_the_backlog_at_the_measured_turn_time():
    now = [0.0]
    admission = Admission(limit=10, clock=lambda: now[0])
    for _ in range(10):
        started = admission.started()
        now[0] += 6.0
        admission.finished(started)
    assert 2.0 < admission.turn_seconds < 6.0  # moving towards the measured 6 s
    admission.turn_seconds = 6.0
    admission.in_flight = 10
    assert admission.wait_minutes() == 1  # 10 in flight at 10 per 6 s: seconds
    for _ in range(190):
        admission.turn_away()
    assert admission.wait_seconds() == pytest.approx(200 * 6.0 / 10)
    assert admission.wait_minutes() == 2
    now[0] += 61  # the turned-away of the last minute only
    admission.turn_away()
    assert admission.wait_minutes() == 1
    assert Admission(limit=1).wait_minutes() >= 1 and not Admission(limit=0).full()


# -- the case notices still pending, told ahead of the customer's next turn -------

def pending_notice(store, conversation: str = "c1") -> int:
    from bot.playbook.followups import tell_case_changed
    from bot.shop.casefacts import CaseChange
    from bot.shop.cases import CaseLog, CaseState
    from tests.helpers.shop import NOW

    cases = CaseLog(store)
    case = cases.register(conversation_id=conversation, intent="quality_issue", state=CaseState.WAITING_SHOP,
                          next_step="等仓库", note="n", now=NOW)
    notice = tell_case_changed(cases, store, case.id, CaseChange.RESOLVED, lambda *_: False, NOW)
    assert notice is not None and not notice.delivered
    return case.id


def with_notices(runtime: FaultRuntime, store) -> FaultRuntime:
    from channels.notices import PendingNotices
    from tests.helpers.shop import NOW

    runtime.notices = PendingNotices(store, lambda: NOW)
    return runtime


async def tells_notices(message: UserMessage) -> None:
    """Rasa's answer to the notice command (action_case_changed) or to the customer."""
    text = message.text or ""
    if text.startswith("/EXTERNAL_case_changed"):
        await message.output_channel.send_response(message.sender_id, {"text": f"notice {text[22:]}"})
    else:
        await answers(message)


async def test_a_pending_notice_is_told_once_ahead_of_the_next_answer(runtime, store):
    from bot.shop.casefacts import notices_of, pending_notices

    case_id = pending_notice(store)
    customer = Customer(guard_with(with_notices(runtime, store)), tells_notices)
    got = await customer.says("在吗")
    assert got == [f'notice {{"case_id": "{case_id}", "change": "resolved"}}', ANSWER["text"]]
    assert pending_notices(store) == [] and notices_of(store, case_id)[0].delivered
    assert (await customer.says("好的", message_id="m2"))[2:] == [ANSWER["text"]]  # never twice
    assert journaled(runtime) == []


async def test_a_notice_waits_while_an_agent_holds_the_conversation_or_nothing_said_it(runtime, store):
    from bot.shop.casefacts import pending_notices

    pending_notice(store)
    tracker = DialogueStateTracker.from_events("c1", [ConversationPaused()])
    await runtime.agent.tracker_store.save(tracker)
    assert await Customer(guard_with(with_notices(runtime, store)), stays_silent).says("在吗") == []
    assert len(pending_notices(store, "c1")) == 1
    await runtime.agent.tracker_store.save(DialogueStateTracker.from_events("c1", []))
    # Rasa said nothing for the notice: it is pending again; the customer's own turn is answered
    assert await Customer(guard_with(runtime), answers_only_the_customer).says("在吗") == [ANSWER["text"]]
    assert len(pending_notices(store, "c1")) == 1 and journaled(runtime) == []


async def answers_only_the_customer(message: UserMessage) -> None:
    if not (message.text or "").startswith("/"):
        await answers(message)


async def test_an_unreadable_shop_database_leaves_the_turn_as_it_was(runtime, tmp_path):
    from bot.shop.store import OrderStore

    broken = OrderStore.from_url(f"sqlite:///{tmp_path / 'no-tables.db'}")
    assert await Customer(guard_with(with_notices(runtime, broken)), tells_notices).says("在吗") == [ANSWER["text"]]
