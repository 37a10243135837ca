"""The shop's own logic: plain Python that knows nothing of Rasa.

- ``bot.shop``: the shop's database (schema, orders, cases, feedback, sample data);
- ``bot.playbook``: the after-sales rules (policy from shop.yml, scenario
  decisions, hand-over, variants, ratings, case notes);
- ``bot.access``: who may see which order (identity tokens, number formats,
  ``OrderAccess``);
- ``bot.assist``: drafts for human agents; ``bot.cli``: ``python -m bot``;
  ``bot.settings``: paths, URLs and development secrets, read in one place.

Rasa's HTTP API, its files and its internals are reached only through
``rasa_adapter``; Rasa's actions (``actions/``) and channels (``channels/``) call in here.
"""
