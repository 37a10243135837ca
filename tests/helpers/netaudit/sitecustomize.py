"""Loaded by every Python process started with this folder on PYTHONPATH
(tests/e2e/test_rasa_commands.py): records each attempt to reach a host that
is not this machine in the file named by $NETAUDIT_LOG, one line per attempt.

Python's audit events see every socket connect and name lookup, whatever
library makes them (Rasa's telemetry, Sentry, pip, TensorFlow).
"""

import ipaddress
import os
import sys

_LOG = os.environ.get("NETAUDIT_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "", None}


def _is_local(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _hook(event, args):
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):  # a Unix socket
            return
        host = address[0]
    else:
        return
    if not _is_local(host):
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {event} {host!r} {' '.join(sys.argv[:3])}\n")


if _LOG:
    sys.addaudithook(_hook)
