"""Custom actions for the Rasa action server (``rasa run actions``).

One thin module per topic; each action reads the tracker, asks ``bot/`` and
returns events. The rasa-sdk executor imports every submodule.

Importing this package also makes a plain ``rasa run actions`` listen on
``AFTERSALES_HOST`` (loopback unless set) instead of rasa_sdk's 0.0.0.0
(``rasa_adapter.compat.bind_action_server_to_loopback``).
"""

from rasa_adapter import compat

compat.bind_action_server_to_loopback()
