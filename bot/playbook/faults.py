"""The replies that say the shop cannot answer right now, named once.

Actions send ``SERVICE_UNAVAILABLE`` or ``ORDER_LOOKUP_FAILED`` when the shop's
database fails; the channel guard (channels/) journals a turn that sent one of
``JOURNALED`` and replays it later, and answers ``FALLBACK`` or
``STILL_WORKING`` itself. Renaming one of these responses in domain.yml means
renaming it here, and tests/unit/test_faults_names.py checks the domain has them.
"""

SERVICE_UNAVAILABLE = "utter_service_unavailable"
ORDER_LOOKUP_FAILED = "utter_order_lookup_failed"
FALLBACK = "utter_fallback_unanswered"  # the turn got no answer at all
STILL_WORKING = "utter_still_working"  # the turn is slower than the deadline

# Replies that mean "the shop database is unavailable": the turn is journaled as well.
JOURNALED = frozenset({SERVICE_UNAVAILABLE, ORDER_LOOKUP_FAILED})
