"""Rasa input channels with a guard on every customer turn (see ``channels.guard``).

``credentials.yml`` registers ``channels.rest.GuardedRestInput`` (POST
/webhooks/rest/webhook) and ``channels.socketio.GuardedSocketIOInput`` (socket.io),
the same URLs as Rasa's own REST and socket.io channels.
"""
