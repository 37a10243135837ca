"""发错货 and 质量问题."""

from actions.scenario import ScenarioAction


class ActionWrongItem(ScenarioAction):
    scenario = "wrong_item"


class ActionQualityIssue(ScenarioAction):
    scenario = "quality_issue"
