"""Adapters between the shop's logic (``bot/``) and Rasa Open Source 3.6.

- ``api``: the client of Rasa's HTTP API (parse, tracker events);
- ``project_files``: reading the domain, rules and NLU files, writing NLU YAML;
- ``compat``: every workaround that depends on Rasa 3.6 internals, each with a
  test of its assumption (tests/unit/test_rasa_compat.py);
- ``lockstore``: an atomic Redis lock store for several Rasa instances.
"""
