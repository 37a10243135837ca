"""改地址: changing the delivery address of an order that has not shipped yet, or
noting it on an order on its way for the courier to redirect (001 售前)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Tuple

from bot.access.order_access import OrderAccess
from bot.playbook.casenotes import CaseNotes, log_case
from bot.playbook.policy import ShopPolicy
from bot.playbook.scenarios import Reply, change_address, order_facts
from bot.shop.cases import CaseLog, CaseRecord
from bot.shop.store import SHIPPED_NOT_SIGNED, OrderFacts, OrderStore

logger = logging.getLogger(__name__)

INTENT = "change_address"


def change_address_now(
    store: OrderStore,
    cases: CaseLog,
    notes: CaseNotes,
    policy: ShopPolicy,
    *,
    access: OrderAccess,
    token: object,
    order: OrderFacts,
    address: str,
) -> Tuple[Reply, CaseRecord]:
    """Change the address of ``order`` to ``address``; the reply and the case logged for it.

    ``order`` was read through ``access`` with the conversation's pass
    ``token``. The new address and its case are written in one transaction, or
    neither is. If the order shipped in the meantime nothing changes: it is
    read again (through ``access``) and the answer follows its current state.
    Raises ``SQLAlchemyError`` when the database is unavailable.
    """
    if order.state in SHIPPED_NOT_SIGNED:
        # on its way: the new address is noted on the order for the courier to redirect
        facts = {**order_facts(order, policy, access.now), "new_address": address}
        reply = Reply("utter_address_redirect_noted", facts)
        with store.transaction() as session:
            store.add_note(order.order_id, "redirect", notes.for_reply(reply).note, access.now,
                           session=session)
            case = log_case(
                cases, notes, conversation=access.conversation, intent=INTENT, reply=reply,
                order=order, now=access.now, session=session,
            )
        return reply, case
    with store.transaction() as session:
        changed = store.change_address(order.order_id, address, session=session)
        logger.info("order %s: address change to %s: %s", order.order_id, address, changed)
        if changed:
            facts = {**order_facts(replace(order, address=address), policy), "new_address": address}
            reply = Reply("utter_address_changed", facts)
            case = log_case(
                cases, notes, conversation=access.conversation, intent=INTENT, reply=reply,
                order=order, now=access.now, session=session,
            )
            return reply, case
    current = access.get(order.order_id, token)
    if current is None:  # the pass that just read it is valid: only a deleted order lands here
        raise LookupError(f"order {order.order_id} is gone")
    reply = change_address(current, access.now, policy)
    case = log_case(
        cases, notes, conversation=access.conversation, intent=INTENT, reply=reply,
        order=current, now=access.now,
    )
    return reply, case

