"""A ``Stack``'s servers under supervisord (PyPI ``supervisor``): `make run`'s supervision.

``Supervised(stack, run_dir)`` writes ``run_dir/supervisord.conf`` (0600) from the
stack's own knowledge (``Stack.supervisor_programs``: commands, environment, logs,
stop signals, stop order) and runs ``supervisord`` in the foreground as the one
process it starts. supervisord then:

- restarts a server that exits, whatever killed it, while the others keep serving;
  one that dies within ``startsecs`` of a start is retried with a growing back-off
  (1 s, 2 s, ... ``startretries`` times), after which it is FATAL and ``dead`` says so;
- rotates every server's log (``logfile_maxbytes``, ``logfile_backups``) and its own;
- on stop (Ctrl-C in `make run`: SIGTERM to supervisord) stops the servers in the
  stack's order (web, Rasa, action server), each with its stop signal, and waits
  ``stopwaitsecs`` for it: Rasa's Sanic and aiohttp finish the requests in flight.

supervisord has no HTTP health checks, so ``Supervised`` adds one: a server that has
been up and then fails its readiness check (``/health``, Rasa's ``/``) for
``HEALTH_GRACE`` seconds in a row (frozen, wedged) is restarted through supervisord;
one that is busy meanwhile (it uses CPU: a burst of customers) gets ``HEALTH_GRACE_BUSY``.

``python -m devtools.supervise status|pids`` (with ``AFTERSALES_VAR``) asks a
running `make run`'s supervisord; ``supervisorctl -c var/run/supervisord.conf``
works too.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from bot import settings
from devtools.load import cpu_seconds
from devtools.stack import Server, Stack, StackError

SUPERVISORD = Path(sys.executable).with_name("supervisord")
SUPERVISORCTL = Path(sys.executable).with_name("supervisorctl")

# supervisord's settings for every program: restarts (with back-off while a server dies
# within startsecs of its start), log rotation
PROGRAM_DEFAULTS: Dict[str, str | int] = {
    "startsecs": 3,
    "startretries": 8,  # back-off 1 + 2 + ... + 8 s before a server is given up (FATAL)
    "stdout_logfile_maxbytes": "10MB",
    "stdout_logfile_backups": 5,
}
LOG_MAXBYTES = "10MB"  # supervisord's own log
LOG_BACKUPS = 5
HEALTH_INTERVAL = 5.0  # s between two health checks of a server
HEALTH_GRACE = 60.0  # s of failed checks in a row before a running server is restarted
# ... unless it is busy: it used at least BUSY_CPU_SHARE of a core meanwhile. A Rasa
# server under a burst answers its check late (its event loop is full of turns), and
# restarting it would reset every customer's connection; it gets HEALTH_GRACE_BUSY.
HEALTH_GRACE_BUSY = 300.0
BUSY_CPU_SHARE = 0.05


def config_text(stack: Stack, run_dir: Path, restart: Optional[Dict[str, str | int]] = None) -> str:
    """supervisord.conf for ``stack``: its servers as programs, the control socket in ``run_dir``."""
    log_dir = stack.log_dir
    head = f"""; written by devtools/supervise.py for this stack's servers (owner-only: it holds a token)
[supervisord]
nodaemon=true
silent=true
logfile={log_dir}/supervisord.log
logfile_maxbytes={LOG_MAXBYTES}
logfile_backups={LOG_BACKUPS}
pidfile={run_dir}/supervisord.pid
childlogdir={log_dir}
umask={settings.UMASK:03o}
identifier=aftersales

[unix_http_server]
file={socket_path(run_dir)}
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket_path(run_dir)}

"""
    if "%" in str(log_dir) + str(run_dir):
        raise StackError(f"a '%' in {log_dir} or {run_dir} would be read as a supervisord expansion")
    return head + stack.supervisor_programs({**PROGRAM_DEFAULTS, **(restart or {})})


def socket_path(run_dir: Path) -> Path:
    return run_dir / "supervisor.sock"


def rpc(run_dir: Path) -> Any:
    """supervisord's XML-RPC interface over its unix socket (``.supervisor.*``)."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{socket_path(run_dir)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


class Supervised:
    """``stack``'s servers run by one supervisord; a ``Servable`` for ``devtools.stack.serve``."""

    def __init__(self, stack: Stack, run_dir: Path, *, restart: Optional[Dict[str, str | int]] = None,
                 health_grace: float = HEALTH_GRACE, health_interval: float = HEALTH_INTERVAL,
                 health_grace_busy: float = HEALTH_GRACE_BUSY) -> None:
        self.stack = stack
        self.run_dir = run_dir
        self.config = run_dir / "supervisord.conf"
        self.restart = restart
        self.health_grace = health_grace
        self.health_interval = health_interval
        self.health_grace_busy = health_grace_busy
        self.restarted_by_health: List[str] = []
        self._healthy_pid: Dict[str, int] = {}
        self._watching = threading.Event()
        self._watcher: Optional[threading.Thread] = None
        # supervisord itself, in a stack of its own: started, waited for and stopped
        # like any server, with the stack's environment (so the servers inherit it)
        self.control = Stack(stack.log_dir, stack.secrets, say=stack.say, timeout=stack.timeout)
        programs = list(stack.servers.values())
        self.control.add("supervisor", [SUPERVISORD, "-n", "-c", self.config], ready=self._answers,
                         env=stack.env).stop_timeout = sum(s.stop_timeout for s in programs) + 15

    @property
    def say(self) -> Callable[[str], None]:
        return self.stack.say

    # -- Servable

    def start(self) -> None:
        """Write the config, start supervisord, wait until every server is ready."""
        settings.private_dir(self.run_dir)
        settings.private_dir(self.stack.log_dir)
        settings.private_file(self.config)
        self.config.write_text(config_text(self.stack, self.run_dir, self.restart), encoding="utf-8")
        self.control.start()
        for name, server in self.stack.servers.items():
            self.control.wait_for(name, functools.partial(self._ready_or_fail, server))
        self._healthy_pid = {name: self.pid(name) for name in self.stack.servers}  # all answered
        self._watching.set()
        self._watcher = threading.Thread(target=self._watch_health, name="health", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop supervisord, which stops the servers in order and waits for each."""
        self._watching.clear()
        self.control.stop()

    def dead(self) -> Sequence[Server]:
        """supervisord, if it exited; else the servers it gave up on (FATAL)."""
        gone = self.control.dead()
        if gone:
            return gone
        try:
            infos = self.infos()
        except OSError:
            return []
        return [self.stack.servers[i["name"]] for i in infos if i["statename"] == "FATAL"]

    # -- what supervisord knows

    def infos(self) -> List[Dict[str, Any]]:
        return list(rpc(self.run_dir).supervisor.getAllProcessInfo())

    def info(self, name: str) -> Dict[str, Any]:
        return dict(rpc(self.run_dir).supervisor.getProcessInfo(name))

    def pid(self, name: str) -> int:
        """The server's process id (0 while it is not running)."""
        return int(self.info(name)["pid"])

    def restart_program(self, name: str) -> None:
        proxy = rpc(self.run_dir).supervisor
        info = self.info(name)
        if info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
            if info["pid"]:
                try:  # a frozen server hears its stop signal only once resumed
                    os.killpg(int(info["pid"]), signal.SIGCONT)
                except (ProcessLookupError, PermissionError):
                    pass
            proxy.stopProcess(name, True)
        proxy.startProcess(name, False)

    def _ready_or_fail(self, server: Server) -> bool:
        """``server``'s readiness check; a StackError with its log once supervisord gave it up."""
        if server.ready():
            return True
        if any(s.name == server.name for s in self.dead()):
            raise StackError(f"{server.name} keeps exiting (supervisord gave up on it); "
                             f"the end of {server.log}:\n{server.tail()}")
        return False

    def _answers(self) -> bool:
        """supervisord is up: its socket answers."""
        try:
            self.infos()
            return True
        except OSError:  # the socket is not there yet
            return False

    def _watch_health(self) -> None:
        """Restart a server that answered its check since its start and then stopped
        answering for ``health_grace`` seconds (a process that runs but does not serve),
        or for ``health_grace_busy`` seconds if it used CPU meanwhile (``busy``)."""
        healthy_pid = self._healthy_pid  # the pid that answered its check
        failing_since: Dict[str, Tuple[float, float]] = {}  # name → when, its CPU seconds then
        while self._watching.is_set():
            for name, server in self.stack.servers.items():
                if not self._watching.is_set():
                    return
                try:
                    pid = self.pid(name)
                except OSError:
                    return  # supervisord is gone: serve() sees it
                if server.ready():
                    healthy_pid[name] = pid
                    failing_since.pop(name, None)
                elif pid and healthy_pid.get(name) == pid:
                    since, cpu_then = failing_since.setdefault(name, (time.monotonic(), cpu_seconds(pid)))
                    failed_for = time.monotonic() - since
                    grace = self.health_grace_busy if busy(cpu_seconds(pid) - cpu_then, failed_for) \
                        else self.health_grace
                    if failed_for >= grace:
                        self.say(f"==> {name} (pid {pid}) has failed its health check for "
                                 f"{failed_for:.0f} s: restarting it")
                        self.restarted_by_health.append(name)
                        failing_since.pop(name, None)
                        try:
                            self.restart_program(name)
                        except (OSError, xmlrpc.client.Fault) as exc:
                            self.say(f"    could not restart {name}: {exc}")
            time.sleep(self.health_interval)


def busy(cpu: float, seconds: float) -> bool:
    """Whether a process that used ``cpu`` CPU seconds in ``seconds`` is at work (a
    frozen or deadlocked one uses next to none)."""
    return seconds > 0 and cpu >= BUSY_CPU_SHARE * seconds


def main(argv: Optional[List[str]] = None) -> int:
    """``status``: each server's state and pid, of the supervisord in var/run."""
    args = argv if argv is not None else sys.argv[1:]
    run_dir = settings.var_dir() / "run"
    try:
        infos = list(rpc(run_dir).supervisor.getAllProcessInfo())
    except OSError:
        print(f"no supervisord answers on {socket_path(run_dir)} (is `make run` running?)", file=sys.stderr)
        return 1
    for info in infos:
        if args[:1] == ["pids"]:
            print(info["name"], info["pid"])
        else:
            print(f"{info['name']:<10} {info['statename']:<9} {info['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
