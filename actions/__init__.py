"""Custom actions for the Rasa action server (``rasa run actions``).

One thin module per topic; each action reads the tracker, asks ``bot/`` and
returns events. The rasa-sdk executor imports every submodule.
"""
