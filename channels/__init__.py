"""Rasa input channels with a guard on every customer turn (see ``channels.guard``).

``credentials.yml`` registers ``channels.rest.GuardedRestInput`` (POST
/webhooks/rest/webhook) and ``channels.socketio.GuardedSocketIOInput`` (socket.io),
the same URLs as Rasa's own REST and socket.io channels.

The Rasa server imports this package when it loads the channels; that is when
the Rasa 3.6 speed-ups of ``rasa_adapter.compat`` are installed.
"""

from rasa_adapter import compat

compat.install()
