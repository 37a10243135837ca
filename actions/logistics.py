"""查件, 签收未收到, 催发货 and 改地址."""

from typing import Any, Dict, List

from rasa_sdk.events import SlotSet

from actions.scenario import ScenarioAction
from bot.playbook.scenarios import takes_new_address
from bot.shop.store import OrderFacts


class ActionTrackParcel(ScenarioAction):
    scenario = "track_parcel"


class ActionSignedNotReceived(ScenarioAction):
    scenario = "signed_not_received"


class ActionUrgeShipment(ScenarioAction):
    scenario = "urge_shipment"


class ActionChangeAddress(ScenarioAction):
    """Before shipping, the rules go on to ask for the new address (address_form)."""

    scenario = "change_address"

    def after(self, order: OrderFacts) -> List[Dict[str, Any]]:
        return [SlotSet("address_change", "ask" if takes_new_address(order) else "done")]
