"""已发货要退款, 退差价 and 退款进度."""

from dataclasses import replace

from rasa_sdk import Tracker

from actions.deps import Deps
from actions.scenario import ScenarioAction
from bot.playbook.scenarios import Context
from bot.shop.store import OrderFacts


class ActionRefundAfterShipping(ScenarioAction):
    scenario = "refund_after_shipping"


class ActionPriceDropRefund(ScenarioAction):
    scenario = "price_drop_refund"


class ActionRefundStatus(ScenarioAction):
    """Answers from the order's state and the cases logged for it."""

    scenario = "refund_status"

    def context(self, deps: Deps, tracker: Tracker, order: OrderFacts) -> Context:
        return replace(
            super().context(deps, tracker, order), cases=deps.cases.cases_for_order(order.order_id)
        )
