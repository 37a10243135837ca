"""`make run-scaled`: two Rasa instances behind nginx, PostgreSQL and Redis, until Ctrl-C.

The stack itself is devtools/scaled.py (also used by `make test-scale`).
"""

from __future__ import annotations

import sys

from devtools.scaled import main

if __name__ == "__main__":
    sys.exit(main())
