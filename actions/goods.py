"""发错货, 质量问题, 少发 and 退换货."""

from dataclasses import replace

from rasa_sdk import Tracker

from actions.deps import Deps
from actions.scenario import ScenarioAction
from bot.playbook.scenarios import Context
from bot.shop.store import OrderFacts


class ActionWrongItem(ScenarioAction):
    scenario = "wrong_item"


class ActionQualityIssue(ScenarioAction):
    scenario = "quality_issue"


class ActionMissingItem(ScenarioAction):
    scenario = "missing_item"


class ActionReturnOrExchange(ScenarioAction):
    """Needs the message (which variant to exchange to) and the variants' stock."""

    scenario = "return_or_exchange"

    def context(self, deps: Deps, tracker: Tracker, order: OrderFacts) -> Context:
        return replace(
            super().context(deps, tracker, order),
            variants={i.product_id: deps.store.variants(i.product_id) for i in order.goods},
        )
