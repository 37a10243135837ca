"""Command line of the shop: ``python -m bot COMMAND``.

  init-db [--reset]      create the sample shop database (var/shop.db)
  orders                 list the orders, to pick one to ask about
  cases [close ID]       the open cases by due time, overdue promises first (--all: resolved
                         and closed too; --at: as at a time); close one; `resolve ID`: done;
                         `keep ID KIND`: a promise kept; `return-arrived ID`: start the
                         handling clock; `paid ID [--reference R]`: its 折价/退差价 paid
                         (resolve, keep, return-arrived and paid tell the customer);
                         `notify`: tell the customers the notices still pending
  release SENDER         give a conversation handed to a human back to the assistant
  suggest MESSAGE        agent assist: suggested replies for a customer message
  token ACCOUNT          a signed buyer token, to chat as that buyer over REST
  export-feedback        agents' accepted messages as Rasa NLU YAML, for review
  check-policy           validate shop.yml, case_notes.yml and playbook.yml
  secrets [NAME]         make the development secrets in var/ (0600); print one
  agents [add NAME [--supervisor]]  the workbench's agents; add one and print its token

This module is the command line's composition root: besides ``bot/`` it wires
the Rasa adapters (``rasa_adapter``) for ``release``, ``suggest``, ``export-feedback`` and
the agents' checklists of ``cases``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.access.identity import sign
from bot.playbook.casenotes import CaseNotes
from bot.playbook.complaints import checklist_for
from bot.playbook.followups import tell_case_changed, tell_pending
from bot.playbook.payouts import what_is_owed
from bot.playbook.policy import PolicyError, ShopPolicy, load_policy, policy_facts
from bot.playbook.scenarios import fmt_items, fmt_money, fmt_time
from bot.shop.casefacts import (
    CaseChange,
    FactKind,
    FactRecord,
    NoticeRecord,
    facts_of,
    mask_account,
)
from bot.shop.cases import CaseLog, DueCase, PromiseKind
from bot.shop.compensation import CompensationRecord, compensations_of_case
from bot.shop.feedback import FeedbackLog
from bot.shop.masking import mask
from bot.shop.sample_data import seed
from bot.shop.schema import Base
from bot.shop.store import OrderStore, OutdatedSchema


@dataclass
class Run:
    """What a command gets: its arguments, the shop policy, the output."""

    args: argparse.Namespace
    policy: ShopPolicy
    out: TextIO

    @property
    def url(self) -> str:
        return str(self.args.db or settings.database_url())

    def store(self) -> OrderStore:
        url = self.url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        return OrderStore.from_url(url)

    def say(self, text: str) -> None:
        print(text, file=self.out)


def fail(text: str, status: int = 1) -> int:
    print(text, file=sys.stderr)
    return status


def init_db(run: Run) -> int:
    url = run.url
    if url.startswith("sqlite:///") and run.args.reset:
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
    store = run.store()
    if run.args.reset and not url.startswith("sqlite:///"):  # a server database: drop our tables
        Base.metadata.drop_all(store.engine)
    try:
        created = seed(store, settings.utcnow())
    except OutdatedSchema as e:
        return fail(f"error: {e}", 2)
    if created:
        run.say(f"created the sample shop with {created} orders at {url}")
    else:
        run.say(f"the shop database at {url} already has orders; left as it is")
    return 0


def orders(run: Run) -> int:
    store = run.store()
    try:
        empty = store.is_empty()
    except SQLAlchemyError:
        empty = True
    if empty:
        run.say(f"no orders in {run.url} yet: run `python -m bot init-db` first")
        return 1
    run.say(f"{'order':<20} {'buyer':<12} {'state':<18} {'courier / tracking':<28} items")
    for order in store.all_orders():
        ship = order.shipment
        tracking = f"{ship.courier} {ship.tracking_number}" if ship else "-"
        run.say(
            f"{order.order_id:<20} {order.buyer_account:<12} {order.state.value:<18} "
            f"{tracking:<28} {fmt_items(order.items)} (下单 {fmt_time(order.created_at, run.policy)})"
        )
        for note in order.notes:
            due = f" (期限 {fmt_time(note.due_at, run.policy)})" if note.due_at else ""
            run.say(f"{'':<20} 备注 {fmt_time(note.created_at, run.policy)} {note.author}: {note.text}{due}")
    return 0


def cases(run: Run) -> int:
    store = run.store()
    try:
        log = CaseLog(store)
        if run.args.action == "notify":
            told = tell_pending(log.store, _sayer(run), settings.utcnow())
            run.say(f"told {len(told)} pending notice(s)"
                    + "".join(f"\n  case {n.case_id} ({n.change.value}) in {n.conversation_id}" for n in told))
            return 0
        if run.args.action and run.args.case_id is None:
            return fail(f"which case? `python -m bot cases {run.args.action} ID`", 2)
        if run.args.action == "close":
            if log.close(run.args.case_id, settings.utcnow(), handler=run.args.handler):
                run.say(f"case {run.args.case_id} closed")
                return 0
            return fail(f"no open case {run.args.case_id}")
        if run.args.action == "resolve":
            if log.resolve(run.args.case_id, "无；已告知客户", settings.utcnow(), run.args.handler) is None:
                return fail(f"no open case {run.args.case_id}")
            run.say(f"case {run.args.case_id} resolved")
            return _tell(run, log, CaseChange.RESOLVED)
        if run.args.action == "keep":
            if run.args.kind is None:
                return fail(f"which promise? one of {', '.join(k.value for k in PromiseKind)}", 2)
            if log.keep(run.args.case_id, PromiseKind(run.args.kind), settings.utcnow()):
                run.say(f"case {run.args.case_id}: {run.args.kind} kept")
                return _tell(run, log, CaseChange.PROMISE_KEPT)
            return fail(f"case {run.args.case_id} has no open {run.args.kind} promise")
        if run.args.action == "paid":
            return _paid(run, log)
        if run.args.action == "return-arrived":
            promise = log.return_arrived(run.args.case_id, settings.utcnow())
            if promise is None or promise.due_at is None:
                return fail(f"case {run.args.case_id} has no open handle_after_return promise")
            run.say(f"case {run.args.case_id}: to be handled by {fmt_time(promise.due_at, run.policy)}")
            return _tell(run, log, CaseChange.RETURN_ARRIVED)
        now = _shop_time_to_utc(run.args.at, run.policy) if run.args.at else settings.utcnow()
        listed = log.due(now, include_resolved=run.args.all, include_closed=run.args.all)
    except ValueError:
        return fail(f"--at {run.args.at!r}: give the shop's local time as 2026-11-21T14:00", 2)
    except SQLAlchemyError:
        return fail(f"no case log in {run.url} yet: run `python -m bot init-db` first")
    overdue = sum(1 for d in listed if d.overdue)
    from rasa_adapter.project_files import checklists as agent_checklists

    checklists = agent_checklists()
    kind = "case(s)" if run.args.all else "open case(s)"
    run.say(f"{len(listed)} {kind}, {overdue} overdue, at {fmt_time(now, run.policy)}; by due time")
    for due in listed:
        case = due.case
        rating = f" 评分{case.rating}" if case.rating else ""
        run.say(
            f"#{case.id:<4} {_due_label(due, now, run.policy):<36} {case.state.value:<16} "
            f"{case.intent:<22} order {case.order_id or '-':<20} conversation {case.conversation_id}"
            f" ({case.handler}, updated {fmt_time(case.updated_at, run.policy)}){rating}\n"
            f"      备注: {case.note}\n      下一步: {case.next_step}"
            + (f"\n      留言: {case.customer_message}" if case.customer_message else "")
            + "".join(f"\n      {FACT_LABELS[f.kind]}: {shown(f)}" for f in facts_of(store, case.id))
            + "".join(f"\n      {owed_line(c, run.policy)}" for c in compensations_of_case(store, case.id))
            + (f"\n      转{case.escalated_to}（{case.escalation_reason}）: "
               + "；".join(item.format_map(policy_facts(run.policy)) for item in checklist_for(case, checklists))
               if case.escalated_to else "")
        )
    return 0


FACT_LABELS = {FactKind.RETURN_WAYBILL: "退货单号", FactKind.REFUND_ACCOUNT: "运费退款支付宝",
               FactKind.PHOTO_REVIEW: "照片审核", FactKind.DISCOUNT_WISH: "客户意愿"}


def owed_line(given: CompensationRecord, policy: ShopPolicy) -> str:
    """「折价补偿 ¥8.00（外盒压扁）: granted by xiaowang」, 「…: paid by xiaowang 11月21日 14:00 (ref)」."""
    state = given.state.value
    if given.paid_by and given.paid_at:
        state += f" by {given.paid_by} {fmt_time(given.paid_at, policy)}"
        state += f" ({given.payment_ref})" if given.payment_ref else ""
    return f"{what_is_owed(given)}（{given.problem}）: {state}"


def shown(fact: FactRecord) -> str:
    """A case's fact as the listing shows it: a refund account masked (in full only in the case)."""
    return mask_account(fact.value) if fact.kind == FactKind.REFUND_ACCOUNT else fact.value


def _paid(run: Run, log: CaseLog) -> int:
    """``cases paid ID``: the case's money (折价, 退差价) was transferred; the customer is told."""
    from bot.workbench.payouts import (
        PayoutRefused,
        clean_reference,
        pay_compensation,
        to_pay_on_case,
    )

    try:
        compensation_id = to_pay_on_case(log, run.args.case_id)
        outcome = pay_compensation(log, CaseNotes.load(settings.case_notes_path()), compensation_id,
                                   run.args.handler or "cli", settings.utcnow(),
                                   None if run.args.no_notice else _sayer(run), clean_reference(run.args.reference))
    except PayoutRefused as exc:
        return fail(f"case {run.args.case_id}: {exc}")
    given = outcome.compensation
    run.say(f"case {given.case_id}: {fmt_money(given.amount)} ({given.kind.value}) paid by {given.paid_by}"
            + (f", reference {given.payment_ref}" if given.payment_ref else "")
            + f"; case {outcome.case.state.value}")
    return _told(run, outcome.notice)


def _sayer(run: Run) -> Callable[[str, str, Dict[str, str]], bool]:
    """How the command line tells a customer (``rasa_adapter.api.notice_sayer``)."""
    from rasa_adapter.api import notice_sayer

    return notice_sayer(run.args.rasa, settings.rasa_token(), on_failure=lambda why: print(
        f"the customer was not told now ({why}); the notice is pending", file=sys.stderr))


def _tell(run: Run, log: CaseLog, change: CaseChange) -> int:
    """Tell the customer in their conversation; the notice is recorded either way
    (``--no-notice``: neither, the customer is never told of this change)."""
    if run.args.no_notice:
        return 0
    return _told(run, tell_case_changed(log, log.store, run.args.case_id, change, _sayer(run), settings.utcnow()))


def _told(run: Run, notice: Optional[NoticeRecord]) -> int:
    """Whether the customer was told now, or will be when they come back."""
    if notice is not None and notice.delivered:
        run.say(f"told the customer in conversation {notice.conversation_id}")
    elif notice is not None:
        run.say(f"the customer in conversation {notice.conversation_id} is told when they write again"
                " (a widget conversation: by the next retry, `cases notify` or the web service)")
    return 0


def _shop_time_to_utc(text: str, policy: ShopPolicy) -> datetime:
    local = datetime.fromisoformat(text)
    if local.tzinfo is None:
        local = local.replace(tzinfo=policy.timezone)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _due_label(due: DueCase, now: datetime, policy: ShopPolicy) -> str:
    """OVERDUE 5h answer_by 11月21日 14:00 · due ship_by 11月22日 · handle_after_return ..."""
    promise = due.promise
    if promise is None:
        return "-"
    kind = promise.kind.value
    if promise.due_at is None:
        return f"{kind} {promise.days}d after return" if promise.days else f"{kind} pending"
    when = fmt_time(promise.due_at, policy)
    if due.overdue:
        hours = int((now - promise.due_at).total_seconds() // 3600)
        return f"OVERDUE {hours}h {kind} {when}"
    return f"due {kind} {when}"


def release(run: Run) -> int:
    from rasa_adapter.api import RasaUnavailable, release_conversation

    try:
        release_conversation(run.args.rasa, run.args.conversation, settings.rasa_token())
    except RasaUnavailable as exc:
        return fail(str(exc))
    run.say(f"conversation {run.args.conversation} is back with the assistant")
    return 0


def suggest(run: Run) -> int:
    from rasa_adapter.api import RasaUnavailable, parse_ranking
    from rasa_adapter.project_files import agent_assist

    store = run.store()
    order = store.get_order(run.args.order) if run.args.order else None
    if run.args.order and order is None:
        return fail(f"no order {run.args.order}")
    try:
        ranking = parse_ranking(run.args.rasa, run.args.message, settings.rasa_token())
    except RasaUnavailable as exc:
        return fail(f"{exc}\nstart the assistant first (make run)")
    assistant = agent_assist(CaseNotes.load(settings.case_notes_path()), run.policy)
    for n, s in enumerate(assistant.suggest(ranking, order, settings.utcnow(), run.args.message), 1):
        run.say(f"[{n}] {s.intent} ({s.confidence:.2f})  {s.response}")
        run.say("    " + s.reply.replace("\n", "\n    "))
        for step in s.checklist:
            run.say(f"    ☐ {step}")
        if s.verdicts:
            run.say(f"    verdicts: {json.dumps(s.verdicts, ensure_ascii=False)}")
        if s.case_note:
            run.say(f"    case note: {s.case_note['note']} → {s.case_note['next_step']}")
    return 0


def token(run: Run) -> int:
    if run.store().buyer(run.args.account) is None:
        return fail(f"no buyer {run.args.account}")
    run.say(sign(run.args.account, settings.buyer_secret(), settings.utcnow()))
    return 0


def export_feedback(run: Run) -> int:
    from sqlalchemy.engine import make_url

    from rasa_adapter.project_files import to_nlu_yaml

    source = make_url(run.url).render_as_string(hide_password=True)
    try:
        examples, unlabelled = FeedbackLog(run.store()).training_examples()
    except SQLAlchemyError:
        return fail(f"no feedback log in {source} yet: run `python -m bot init-db` first")
    header = (
        f"# Exported from agents' feedback in {source} (python -m bot export-feedback):\n"
        f"# {len(examples)} messages an agent answered with a suggestion (used or edited), under\n"
        "# the intent the agent chose; order, tracking and phone numbers replaced by placeholders.\n"
        "# Review before moving examples into data/nlu.yml; then make validate && make train.\n"
    )
    if unlabelled:
        header += ("# Rewritten by an agent, no intent chosen (the suggestion was out_of_scope): label\n"
                   "# them, or leave them out:\n")
        header += "".join(f"#   - {mask(' '.join(r.message.split()))}\n" for r in unlabelled)
    text = to_nlu_yaml(examples, header)
    if run.args.out:
        Path(run.args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(run.args.out).write_text(text, encoding="utf-8")
        run.say(f"read {source}: {len(examples)} examples for review, {len(unlabelled)} to label; "
                f"wrote {run.args.out}")
    else:
        print(text, end="", file=run.out)
    return 0


def check_policy(run: Run) -> int:
    from bot.playbook.scenarios import load_table

    try:
        CaseNotes.load(settings.case_notes_path())
    except (ValueError, KeyError, OSError) as exc:
        return fail(f"case notes error: {exc}", 2)
    try:
        load_table(settings.playbook_path())
    except (ValueError, OSError) as exc:
        return fail(f"playbook error: {exc}", 2)
    run.say(f"{settings.policy_path()}: OK; {settings.case_notes_path()}: OK; {settings.playbook_path()}: OK")
    return 0


def make_secrets(run: Run) -> int:
    for name in settings.SECRETS:
        value = settings.dev_secret(name)
        if run.args.name == name:
            run.say(value)
    return 0


def agents(run: Run) -> int:
    from bot.workbench.agents import AgentDirectory

    store = run.store()
    store.create_schema()
    directory = AgentDirectory(store)
    if run.args.action == "add":
        if not run.args.name:
            return fail("agents add NAME: the agent's name is missing", 2)
        try:
            token = directory.add(run.args.name, settings.utcnow(), supervisor=run.args.supervisor)
        except ValueError as exc:
            return fail(str(exc))
        run.say(token)  # shown once: only its hash is stored
        return 0
    for agent in directory.all():
        run.say(f"{agent.name}{'  (主管)' if agent.supervisor else ''}")
    return 0


Command = Callable[[Run], int]
COMMANDS: Dict[str, Command] = {
    "init-db": init_db,
    "orders": orders,
    "cases": cases,
    "release": release,
    "suggest": suggest,
    "token": token,
    "export-feedback": export_feedback,
    "check-policy": check_policy,
    "secrets": make_secrets,
    "agents": agents,
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m bot", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--db", default=None, help="database URL (default: $SHOP_DATABASE_URL or var/shop.db)")
    sub = top.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        p = sub.add_parser(name)
        if name == "init-db":
            p.add_argument("--reset", action="store_true", help="delete and re-create it first")
        elif name == "cases":
            p.add_argument("action", nargs="?",
                           choices=["close", "resolve", "keep", "return-arrived", "paid", "notify"],
                           help="close a case; resolve it; mark its promise kept; its return parcel "
                                "arrived; its 折价 or 退差价 paid (resolve, keep, return-arrived and paid "
                                "tell the customer); notify: tell the customers the notices still pending")
            p.add_argument("case_id", nargs="?", type=int, help="the case")
            p.add_argument("kind", nargs="?", choices=[k.value for k in PromiseKind],
                           help="keep: the promise kept")
            p.add_argument("--handler", default=None, help="who closed it or paid it (an agent's name)")
            p.add_argument("--reference", default=None, help="paid: the transfer's reference (打款记录)")
            p.add_argument("--all", action="store_true", help="resolved and closed cases too")
            p.add_argument("--rasa", default=settings.rasa_url(), help="the Rasa server that tells the customer")
            p.add_argument("--no-notice", action="store_true", help="change the case without telling the customer")
            p.add_argument("--at", default=None,
                           help="list as at this shop-local time (2026-11-21T14:00), e.g. tomorrow morning")
        elif name in ("release", "suggest"):
            p.add_argument("conversation" if name == "release" else "message")
            if name == "suggest":
                p.add_argument("--order", default=None, help="the order the message is about")
            p.add_argument("--rasa", default=settings.rasa_url(), help="the Rasa server ($RASA_URL)")
        elif name == "token":
            p.add_argument("account")
        elif name == "export-feedback":
            p.add_argument("--out", default=None, help="a file (default: standard output)")
        elif name == "agents":
            p.add_argument("action", nargs="?", choices=["add"], help="add an agent (prints its token)")
            p.add_argument("name", nargs="?", help="the agent's name")
            p.add_argument("--supervisor", action="store_true", help="a supervisor (approvals)")
        elif name == "secrets":
            p.add_argument("name", nargs="?", choices=sorted(settings.SECRETS), help="print this one")
    return top


def main(argv: Optional[List[str]] = None, out: Optional[TextIO] = None) -> int:
    args = parser().parse_args(argv)
    try:
        policy = load_policy(settings.policy_path())
    except PolicyError as exc:
        return fail(f"shop policy error: {exc}", 2)
    return COMMANDS[args.command](Run(args, policy, out or sys.stdout))
