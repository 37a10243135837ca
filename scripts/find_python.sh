#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs 3.8-3.10):
# first from PATH, then from pyenv. Exits 1 with advice when there is none.
set -uo pipefail

is_310() {
    "$1" -c 'import sys, venv; raise SystemExit(sys.version_info[:2] != (3, 10))' 2>/dev/null
}

for name in python3.10 python3 python; do
    candidate=$(command -v "$name" 2>/dev/null) || continue
    if is_310 "$candidate"; then echo "$candidate"; exit 0; fi
done

for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10*/bin/python3.10; do
    if [ -x "$candidate" ] && is_310 "$candidate"; then echo "$candidate"; exit 0; fi
done

cat >&2 <<'MSG'
error: no Python 3.10 found (looked on PATH for python3.10/python3/python, then in ~/.pyenv/versions/3.10*).
Rasa Open Source 3.6 runs on Python 3.8-3.10 only. Install one, for example:
    pyenv install 3.10.13          (then run make again)
    apt-get install python3.10 python3.10-venv
MSG
exit 1
