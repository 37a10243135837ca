"""Adapters between the shop's logic (``bot/``) and Rasa Open Source 3.6.

- ``api``: the client of Rasa's HTTP API (parse, tracker events);
- ``project_files``: reading the domain, rules and NLU files, writing NLU YAML;
- ``compat``: the workarounds that read or patch Rasa 3.6 internals;
- ``lockstore``: an atomic Redis lock store for several Rasa instances (a
  subclass of Rasa's own).
Every assumption these make about Rasa's code has a test in
tests/unit/test_rasa_compat.py that fails loudly when an upgrade breaks it.
"""
