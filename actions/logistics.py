"""查件 and 签收未收到."""

from actions.scenario import ScenarioAction


class ActionTrackParcel(ScenarioAction):
    scenario = "track_parcel"


class ActionSignedNotReceived(ScenarioAction):
    scenario = "signed_not_received"
