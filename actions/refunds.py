"""已发货要退款."""

from actions.scenario import ScenarioAction


class ActionRefundAfterShipping(ScenarioAction):
    scenario = "refund_after_shipping"
