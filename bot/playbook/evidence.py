"""The customer's evidence arriving on their case: what the bot says, where the case goes."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from bot.playbook.casenotes import CaseNotes
from bot.playbook.scenarios import Reply
from bot.shop.cases import OPEN_FOR_EVIDENCE, CaseLog, CaseRecord, CaseState
from bot.shop.store import OrderStore
from bot.shop.uploads import latest_attachment, photo_count

PHOTO_RECEIVED = "utter_photo_received"
HOW_TO_SEND = "utter_how_to_send_photo"  # no photo on the case yet: the 📷 button
ALREADY_RECEIVED = "utter_photos_already_received"
# utter_photo_received's next step (case_notes.yml) starts so: the photos wait for an
# agent's look (the inbox's 照片待审核, bot/workbench/photo_review.py)
PHOTO_REVIEW_STEP = "照片待审核"
# the cases whose photos decide what the shop does
REVIEWED_INTENTS = ("quality_issue", "wrong_item")


def awaiting_review(case: CaseRecord) -> bool:
    """The case's photos wait for an agent's look."""
    return (case.intent in REVIEWED_INTENTS and case.state == CaseState.WAITING_SHOP
            and case.next_step.startswith(PHOTO_REVIEW_STEP))


def photos_received(cases: CaseLog, notes: CaseNotes, store: OrderStore, conversation: str,
                    per_case: int, now: datetime) -> Optional[Reply]:
    """The acknowledgement of the conversation's latest photo, on its case, or None when
    there is none or its case is closed.

    A case that was waiting for the customer moves on to the shop (state and next
    step from ``case_notes.yml``: the photo is reviewed by an agent before anything
    more is promised); its note stays. A case already further along keeps its state.
    """
    photo = latest_attachment(store, conversation)
    case: Optional[CaseRecord] = cases.get(photo.case_id) if photo is not None else None
    if case is None or case.state.value not in OPEN_FOR_EVIDENCE:
        return None
    count = photo_count(store, case.id)
    reply = Reply(PHOTO_RECEIVED, {"photo_count": count, "photos_left": max(per_case - count, 0),
                                   "order_id": case.order_id or ""})
    if case.state == CaseState.WAITING_CUSTOMER:
        note = notes.for_reply(reply)
        cases.move_on(case.id, note.state, note.next_step, now)
    return reply


def photo_said_sent(cases: CaseLog, store: OrderStore, conversation: str, order_id: Optional[str],
                    per_case: int) -> Reply:
    """「照片发你了」 typed: the photos the conversation's open case has (none arrive in
    text), or how to send one when it has none."""
    case = cases.open_case_for_evidence(conversation, order_id)
    count = photo_count(store, case.id) if case is not None else 0
    if case is None or count == 0:
        return Reply(HOW_TO_SEND)
    return Reply(ALREADY_RECEIVED, {"photo_count": count, "photos_left": max(per_case - count, 0),
                                    "order_id": case.order_id or ""})
