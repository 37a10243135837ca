"""Rasa input channels with a guard on every customer turn.

``credentials.yml`` registers ``channels.rest.GuardedRestInput`` (POST
/webhooks/rest/webhook) and ``channels.socketio.GuardedSocketIOInput`` (socket.io),
the same URLs as Rasa's own REST and socket.io channels. One job per module:

- ``guard``: each customer turn gets an answer, or a fallback and a journal entry;
- ``sanitise``: typed ``/intent{...}`` syntax is read as text;
- ``runtime``: per server, the settings, the journal, the replay worker and the
  channels' late outputs, started and stopped with the server;
- ``journal``: the pending-turn journal (SQL);
- ``replay``: replays journaled turns once the action server is healthy again;
- ``notices``: the customer's case notices still pending, said ahead of their next turn;
- ``socketio_queue``: the socket.io message queue several Rasa instances share.

The Rasa server imports this package when it loads the channels; that is when
the Rasa 3.6 speed-ups of ``rasa_adapter.compat`` are installed.
"""

from rasa_adapter import compat

compat.install_speedups()
