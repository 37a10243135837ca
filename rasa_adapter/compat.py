"""Speed-ups for the Rasa server that change no behaviour.

Rasa 3.6 checks every action server response with ``jsonschema.validate``,
which re-checks the (large) events schema against the JSON Schema meta-schema
and builds a new validator each time: about 60 ms of CPU per custom action
call on our machine, most of a turn's cost (see "Performance" in README.md).
``install()`` makes ``RemoteAction._validate_action_result`` check the schema
and build its validator once, and validate each response exactly as before:
same schema, same error (``jsonschema.validate`` raises the ``best_match``
error), same message.

Installed when this package is imported, which the Rasa server does when it
loads the model (config.yml names our components), so every `rasa run`,
`rasa test` and `rasa shell` of this project gets it.
``AFTERSALES_SPEEDUPS=0`` leaves Rasa as it is (to compare).
"""

from __future__ import annotations

import functools
import os
from typing import Any, Dict

_PATCHED = "_aftersales_cached_validator"


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """The validator of Rasa's action server response schema, built once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> bool:
    """Install the speed-ups (once); False when ``AFTERSALES_SPEEDUPS=0``."""
    if os.environ.get("AFTERSALES_SPEEDUPS", "1") == "0":
        return False
    from rasa.core.actions.action import RemoteAction

    if not getattr(RemoteAction._validate_action_result, _PATCHED, False):
        setattr(_validate_action_result, _PATCHED, True)
        RemoteAction._validate_action_result = _validate_action_result
    return True
