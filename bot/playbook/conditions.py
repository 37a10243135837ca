"""The named conditions a row of ``playbook.yml`` may ask for, each written once here.

A condition is a pure predicate of the ``Situation`` (order, now, shop policy,
message and cases). The numbers they compare with come from ``shop.yml`` only.
A row writes ``when: [name]``, or ``when: [not name]`` for its negation.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional, Tuple

from bot.playbook.context import Situation
from bot.playbook.policy import (
    ShopPolicy,
    missing_item_report_open,
    price_protected,
    quality_claim_open,
    return_window,
    returned_handling_deadline,
    ship_deadline,
    shipping_deadline_passed,
    unopened_only,
)
from bot.playbook.triage import (
    NOT_QUALITY,
    PROBLEMS,
    QUALITY_REFUSALS,
    RETURN_REFUSALS,
    UNCLEAR,
    default_words,
    names_quality_problem,
    product_problem,
    quality_kind,
    quality_refusal,
    return_refusal,
)
from bot.playbook.variants import requested_variant
from bot.shop.cases import CaseRecord, CaseState
from bot.shop.compensation import TO_BE_PAID, CompensationState
from bot.shop.store import ItemFacts, NoteFacts, OrderFacts

# the note a signed-not-received reply writes on the order: the courier's answer promised
COURIER_ANSWER = "courier_answer"

# Damage done by the courier (「箱子压烂了」「快递把外包装摔破了」), not a product defect.
COURIER_DAMAGE = re.compile(r"压(?:烂|坏|扁|变形)|外箱|外包装|箱子.{0,4}(?:破|烂|坏)|快递.{0,6}(?:摔|压|弄)")


def returned_at(order: OrderFacts, now: datetime) -> datetime:
    """When a return reached the warehouse: recorded, else the parcel's last event, else now."""
    last = order.shipment.last_event if order.shipment else None
    return order.returned_at or (last.time if last else None) or now


def signed_at(order: OrderFacts) -> datetime:
    assert order.shipment is not None and order.shipment.signed_at is not None
    return order.shipment.signed_at


def unopened_goods(order: OrderFacts, policy: ShopPolicy) -> List[str]:
    """The goods that come back only unopened (``returns.unopened_only`` of shop.yml)."""
    return [i.name for i in order.goods if unopened_only(i.name, policy)]


def case_open(sit: Situation, intent: str) -> bool:
    """Whether the order has a case of ``intent`` not closed yet: its promise still holds."""
    return any(c.intent == intent and c.state != CaseState.CLOSED for c in sit.ctx.cases)


def courier_answer_given(sit: Situation) -> Optional[NoteFacts]:
    """The courier answer promised in the order's open signed-not-received case, if any."""
    given = sit.order.promise(COURIER_ANSWER) if case_open(sit, "signed_not_received") else None
    return given if given is not None and given.due_at is not None else None


def variant_wanted(sit: Situation) -> Optional[Tuple[ItemFacts, str, int, List[str]]]:
    """The first item whose other variant the message asks for (「换M码」): the item, the
    variant, its stock, and the item's other variants in stock."""
    for item in sit.order.goods:
        stock = sit.ctx.variants.get(item.product_id, ())
        wanted = requested_variant(sit.ctx.text, item.variant, stock)
        if wanted is not None:
            name, left = wanted
            others = [v for v, n in stock if n > 0 and v not in (item.variant, name)]
            return item, name, left, others
    return None


def _variant_requested(sit: Situation) -> bool:
    return variant_wanted(sit) is not None


def _requested_variant_in_stock(sit: Situation) -> bool:
    wanted = variant_wanted(sit)
    return wanted is not None and wanted[2] > 0


def _other_variants_in_stock(sit: Situation) -> bool:
    wanted = variant_wanted(sit)
    return wanted is not None and bool(wanted[3])


# refund_status: what an open case means depends on what it is about (W6)
REFUND_INTENTS = frozenset({"refund_after_shipping", "return_or_exchange", "quality_issue", "wrong_item"})
STATUS_STATES = (CaseState.WAITING_CUSTOMER, CaseState.WAITING_SHOP, CaseState.NEEDS_APPROVAL, CaseState.ESCALATED)


def status_case(sit: Situation) -> Optional[CaseRecord]:
    """The case a status question is about: the order's newest case still under way
    (not resolved or closed), other than an earlier status question."""
    return next((c for c in sit.ctx.cases if c.intent != "refund_status" and c.state in STATUS_STATES), None)


def _status_case_is(state: CaseState) -> Callable[[Situation], bool]:
    def holds(sit: Situation) -> bool:
        case = status_case(sit)
        return case is not None and case.state == state

    return holds


def _status_case_about_refund(sit: Situation) -> bool:
    case = status_case(sit)
    return case is not None and case.intent in REFUND_INTENTS


def _unpaid(sit: Situation) -> bool:
    return sit.order.paid_at is None


def _ship_deadline_passed(sit: Situation) -> bool:
    if sit.order.paid_at is None:
        return False
    return shipping_deadline_passed(ship_deadline(sit.order.paid_at, sit.order.ship_by, sit.policy), sit.now)


def _campaign_date(sit: Situation) -> bool:
    return sit.order.ship_by is not None


def _tracking_stale(sit: Situation) -> bool:
    last = sit.order.shipment.last_event if sit.order.shipment else None
    return last is not None and sit.now - last.time > timedelta(hours=sit.policy.tracking_stale_hours)


def _return_handling_overdue(sit: Situation) -> bool:
    return sit.now > returned_handling_deadline(returned_at(sit.order, sit.now), sit.policy)


def _refunded_partly(sit: Situation) -> bool:
    refund = sit.order.refund_amount
    return refund is not None and refund < sit.order.amount_paid


def _return_window_open(sit: Situation) -> bool:
    return return_window(signed_at(sit.order), sit.now, sit.policy)[0]


def _unopened_goods(sit: Situation) -> bool:
    return bool(unopened_goods(sit.order, sit.policy))


def _in_quality_case(sit: Situation) -> bool:
    """The order's newest case is a quality problem waiting for the customer's choice."""
    newest = sit.ctx.cases[0] if sit.ctx.cases else None
    return newest is not None and newest.intent == "quality_issue" and newest.state == CaseState.WAITING_CUSTOMER


def _courier_answer_held(sit: Situation) -> bool:
    return courier_answer_given(sit) is not None


def _courier_answer_overdue(sit: Situation) -> bool:
    """Past the time the customer was told (the promise rounded up, ``round_promise``):
    before it, the apology would claim a broken promise that is not broken yet."""
    from bot.playbook.facts import round_promise  # facts reads this module's conditions

    given = courier_answer_given(sit)
    return given is not None and given.due_at is not None and sit.now > round_promise(given.due_at, sit.policy)[0]


def _aspect_mentioned(sit: Situation) -> bool:
    return bool(sit.ctx.entities.get("aspect"))


def _quality_claim_open(sit: Situation) -> bool:
    return quality_claim_open(signed_at(sit.order), sit.now, sit.policy)


def _mentions_courier_damage(sit: Situation) -> bool:
    return COURIER_DAMAGE.search(sit.ctx.text) is not None


def _signer_pays_courier_damage(sit: Situation) -> bool:
    return sit.policy.courier_damage_after_signing == "buyer"


def _mentions_short_count(sit: Situation) -> bool:
    """A short count inside a bottle (「粒数不够」「少了几粒」) is a product defect, not a
    shortage in the parcel: the quality path answers it (000 产品问题 3)."""
    return product_problem(sit.ctx.text, default_words()) == "short_count"


def _problem_is(name: str) -> Callable[[Situation], bool]:
    def holds(sit: Situation) -> bool:
        return product_problem(sit.ctx.text, default_words()) == name

    return holds


def _names_quality_problem(sit: Situation) -> bool:
    return names_quality_problem(sit.ctx.text, default_words())


def _quality_kind_is(kind: str) -> Callable[[Situation], bool]:
    def holds(sit: Situation) -> bool:
        return quality_kind(sit.ctx.text, default_words()) == kind

    return holds


def _quality_refused_for(reason: str) -> Callable[[Situation], bool]:
    def holds(sit: Situation) -> bool:
        return quality_refusal(sit.order, sit.ctx.text, default_words()) == reason

    return holds


def _return_refused_for(reason: str) -> Callable[[Situation], bool]:
    def holds(sit: Situation) -> bool:
        return return_refusal(sit.order, sit.ctx.text, sit.ctx.cases, sit.policy, default_words()) == reason

    return holds


def _shortage_report_open(sit: Situation) -> bool:
    return missing_item_report_open(signed_at(sit.order), sit.now, sit.policy)


def _late_shortage_to_supervisor(sit: Situation) -> bool:
    return sit.policy.late_missing_reports == "supervisor"


def _price_dropped(sit: Situation) -> bool:
    return any(i.current_price < i.price_paid for i in sit.order.goods)


def _price_protected(sit: Situation) -> bool:
    return price_protected(sit.order.created_at, sit.now, sit.policy)


def _price_difference_is(state: CompensationState) -> Callable[[Situation], bool]:
    """The order's 退差价 asked before is in ``state`` (approved: approved or granted, not paid)."""
    states = TO_BE_PAID if state == CompensationState.APPROVED else (state,)

    def holds(sit: Situation) -> bool:
        asked = sit.ctx.price_difference
        return asked is not None and asked.state in states

    return holds


Condition = Callable[[Situation], bool]

CONDITIONS: Dict[str, Condition] = {
    "unpaid": _unpaid,  # not paid yet
    "ship_deadline_passed": _ship_deadline_passed,  # paid, and the shipping deadline is past
    "campaign_date": _campaign_date,  # the order ships on a campaign's date (ship_by)
    "tracking_stale": _tracking_stale,  # no tracking event for shipping.tracking_stale_hours
    "return_handling_overdue": _return_handling_overdue,  # returned longer than the handling days
    "refunded_partly": _refunded_partly,  # refunded less than was paid
    "return_window_open": _return_window_open,  # signed within returns.window_days
    "unopened_goods": _unopened_goods,  # the order has goods that come back only unopened
    "in_quality_case": _in_quality_case,  # the newest case is a quality case waiting for the customer
    "courier_answer_held": _courier_answer_held,  # an open case already promised the courier's answer
    "courier_answer_overdue": _courier_answer_overdue,  # ... and that promise has passed
    "aspect_mentioned": _aspect_mentioned,  # the message names what is wrong (颜色, 尺码: an aspect entity)
    "quality_claim_open": _quality_claim_open,  # signed within quality.claim_within_days
    "mentions_courier_damage": _mentions_courier_damage,  # 「箱子压烂了」: the courier's damage
    "signer_pays_courier_damage": _signer_pays_courier_damage,  # courier.damage_after_signing: buyer
    "mentions_short_count": _mentions_short_count,  # 「少了几粒」: a product defect, not a shortage
    "shortage_report_open": _shortage_report_open,  # signed within missing_items.report_within_hours
    "late_shortage_to_supervisor": _late_shortage_to_supervisor,  # missing_items.late_reports: supervisor
    "price_dropped": _price_dropped,  # an item costs less now than was paid
    "price_protected": _price_protected,  # ordered within the price-protection days
    # the order's 退差价 asked before (Context.price_difference): answered from its record
    "price_difference_pending": _price_difference_is(CompensationState.PENDING),  # with a supervisor
    "price_difference_approved": _price_difference_is(CompensationState.APPROVED),  # owed, not paid
    "price_difference_paid": _price_difference_is(CompensationState.PAID),
    "price_difference_denied": _price_difference_is(CompensationState.DENIED),
    "variant_requested": _variant_requested,  # 「换M码」: another variant of an item is asked for
    "requested_variant_in_stock": _requested_variant_in_stock,  # ... and it is in stock
    "other_variants_in_stock": _other_variants_in_stock,  # ... and the item has others in stock
    # the order's newest case under way (not a status question): what it is about, its state
    "status_case_about_refund": _status_case_about_refund,  # a return, refund, quality or wrong item
    "status_case_waiting_customer": _status_case_is(CaseState.WAITING_CUSTOMER),
    "status_case_waiting_shop": _status_case_is(CaseState.WAITING_SHOP),
    "status_case_needs_approval": _status_case_is(CaseState.NEEDS_APPROVAL),
    "status_case_escalated": _status_case_is(CaseState.ESCALATED),
    # quality triage (bot/playbook/triage.py, words in quality_triage.yml)
    "names_quality_problem": _names_quality_problem,  # 「开线了想退」: a quality return, not a no-reason one
    "not_quality": _quality_kind_is(NOT_QUALITY),  # 「色差」「不合适」: not a quality problem (001)
    "quality_unclear": _quality_kind_is(UNCLEAR),  # neither kind of word, or both: asked
    # seed 000's product problem the message names: problem_no_effect, problem_short_count, ...
    **{f"problem_{name}": _problem_is(name) for name in PROBLEMS},
    # 不予办理: refused_misuse, refused_gift (a quality claim); refused_used, refused_odour,
    # refused_gifts_missing, refused_opened, refused_exchanged_once (a return without reason)
    **{f"refused_{reason}": _quality_refused_for(reason) for reason in QUALITY_REFUSALS},
    **{f"refused_{reason}": _return_refused_for(reason) for reason in RETURN_REFUSALS},
}
