#!/usr/bin/env bash
# `make run`: the action server (:5055), Rasa (:5005) and the web service (:8080);
# Ctrl-C stops all three. devtools/run.py does the work, with the same stack helper
# (devtools/stack.py) as the tests, the bench and the scaled stack.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m devtools.run "$@"
