"""The agents' workbench: named agents, who holds which conversation, the inbox, the order card.

Plain Python over the shop database; the web service (web/workbench.py) and the
command line (``python -m bot agents``) use it, ``rasa_adapter`` talks to Rasa.
"""
