"""Custom Rasa NLU components, referenced by module path in config.yml.

Only graph components live here (and the text normaliser they share); the
other Rasa adapters (HTTP client, project files, lock store, the Rasa 3.6
workarounds) are in rasa_adapter/.
"""
