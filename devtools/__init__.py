"""Developer tooling shared by `make run`, the tests, the bench and the scaled stack.

``stack``: start, wait for, signal and stop the servers. ``scaled``: the scaled-out
stack (two Rasa instances behind nginx, PostgreSQL, Redis). ``conversations``: the
scripted conversations of tests/conversations.yml. ``run``: `make run`.
Nothing here imports the tests.
"""
