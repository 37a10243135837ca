"""rasa_adapter/compat.py: Rasa checks action server responses as before, faster."""

from __future__ import annotations

from typing import Any, Dict, Optional

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_adapter import compat as speedups

RESPONSES = [
    {"events": [{"event": "slot", "timestamp": None, "name": "order_id", "value": "3027461958302746518"},
                {"event": "active_loop", "name": None}],
     "responses": [{"response": "utter_greet", "text": "您好"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"events": [], "responses": ["not an object"]},
    [],
]


def rasa_verdict(response: Any) -> Optional[str]:
    """What Rasa's own check (jsonschema.validate) says: None, or the error message."""
    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as e:
        return e.message
    return None


def test_it_is_installed_with_our_components():
    assert RemoteAction._validate_action_result is speedups._validate_action_result


@pytest.mark.parametrize("response", RESPONSES)
def test_responses_are_accepted_and_rejected_as_rasa_does(response: Dict[str, Any]):
    expected = rasa_verdict(response)
    action = RemoteAction("action_x", None)
    if expected is None:
        assert action._validate_action_result(response) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            action._validate_action_result(response)
        assert raised.value.message.startswith(expected + ". Failed to validate Action server response")


def test_the_validator_is_built_once():
    assert speedups.action_response_validator() is speedups.action_response_validator()
