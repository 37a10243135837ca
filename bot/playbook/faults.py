"""The replies that say the shop cannot answer right now, named once.

Actions send ``SERVICE_UNAVAILABLE`` or ``ORDER_LOOKUP_FAILED`` when the shop's
database fails; the channel guard (channels/) journals a turn that sent one of
``JOURNALED`` and replays it later, and answers ``FALLBACK``, ``STILL_WORKING``,
``ASK_AGAIN`` and ``BUSY`` itself. Renaming one of these responses in domain.yml means
renaming it here, and tests/unit/test_faults_names.py checks the domain has them.
"""

SERVICE_UNAVAILABLE = "utter_service_unavailable"
ORDER_LOOKUP_FAILED = "utter_order_lookup_failed"
FALLBACK = "utter_fallback_unanswered"  # the turn got no answer at all
STILL_WORKING = "utter_still_working"  # the turn is slower than the deadline (socket.io: the answer follows)
ASK_AGAIN = "utter_ask_again_later"  # REST: the turn is slower than the REST deadline ({wait_minutes})
BUSY = "utter_busy_try_later"  # a new conversation past the concurrency limit ({wait_minutes})

# Replies that mean "the shop database is unavailable": the turn is journaled as well.
JOURNALED = frozenset({SERVICE_UNAVAILABLE, ORDER_LOOKUP_FAILED})
