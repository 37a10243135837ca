"""发错货, 质量问题, 少发 and 退换货."""



from actions.scenario import ScenarioAction


class ActionWrongItem(ScenarioAction):
    scenario = "wrong_item"


class ActionQualityIssue(ScenarioAction):
    scenario = "quality_issue"


class ActionMissingItem(ScenarioAction):
    scenario = "missing_item"


class ActionReturnOrExchange(ScenarioAction):
    """Needs the message (which variant to exchange to) and the variants' stock."""

    scenario = "return_or_exchange"
