"""已发货要退款, 退差价 and 退款进度."""

from actions.scenario import ScenarioAction


class ActionRefundAfterShipping(ScenarioAction):
    scenario = "refund_after_shipping"


class ActionPriceDropRefund(ScenarioAction):
    scenario = "price_drop_refund"


class ActionRefundStatus(ScenarioAction):
    """Answers from the order's state and the cases logged for it."""

    scenario = "refund_status"
