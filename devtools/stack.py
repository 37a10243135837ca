"""Start and stop the assistant's servers: one helper for `make run`, the tests, the bench
and the scaled stack.

A ``Stack`` is a set of named servers, each a command with its environment, log file
and readiness check. ``start`` spawns them and waits until each is ready, failing with
the end of the log of any server that exits meanwhile; ``signal`` freezes, resumes or
kills one, ``start`` brings it back; ``stop`` stops them in order: the highest tier
first, the servers of one tier together, SIGKILL for one that is still running after
``STOP_TIMEOUT``. Servers run in their own session, so a Ctrl-C reaches only the
caller, which then stops them in that order.

An ``Assistant`` is the stack of the assistant itself: the action server, the Rasa
server (REST and socket.io channels, the HTTP API behind a token) and the web service
(shop page, agent console). Every server binds ``settings.host()`` (loopback unless
AFTERSALES_HOST says otherwise) and gets the development secrets (``Secrets``) through
its environment, as ``bot.settings`` reads them.

Plain Python, no pytest: used by devtools/run.py (`make run`), devtools/scaled.py,
scripts/bench.py and the tests' fixtures (tests/helpers/).
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Union

import requests
import yaml

from bot import settings

PROJECT_ROOT = settings.PROJECT_ROOT
MODEL = Path(os.environ.get("AFTERSALES_MODEL", PROJECT_ROOT / "models" / "aftersales.tar.gz"))
RASA = Path(sys.executable).with_name("rasa")
START_TIMEOUT = 300.0  # loading the model on a busy 2-core machine
STOP_TIMEOUT = 30.0  # Rasa may wait for open socket.io sessions

Say = Callable[[str], None]
Ready = Callable[[], bool]


class StackError(RuntimeError):
    """A server did not start, or exited, or something it needs is missing; the message says what."""


# -- ports and URLs -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(n: int) -> List[int]:
    """``n`` distinct free ports."""
    ports: List[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def connect_host() -> str:
    """Where a client on this machine reaches the servers: the host they bind, or
    loopback when they bind every interface."""
    host = settings.host()
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def local_url(port: int) -> str:
    host = connect_host()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((connect_host(), port)) == 0


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def answers(url: str) -> Ready:
    """A readiness check: ``url`` answers 2xx."""
    return lambda: http_ok(url)


# -- what every server is given ---------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """The development secrets every server of a stack shares."""

    rasa_token: str
    agent_token: str
    buyer_secret: str

    @classmethod
    def from_settings(cls) -> Secrets:
        """This checkout's: the environment, else var/<name> (made 0600 on first use)."""
        return cls(settings.rasa_token(), settings.agent_token(), settings.buyer_secret())

    def env(self) -> Dict[str, str]:
        """As the environment variables ``bot.settings`` reads first."""
        names = settings.SECRETS
        return {names["rasa_token"]: self.rasa_token, names["agent_token"]: self.agent_token,
                names["buyer_secret"]: self.buyer_secret}


def server_env(secrets: Secrets, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment of the servers: this one, the project on PYTHONPATH, no telemetry,
    the interface to bind (AFTERSALES_HOST for ours, SANIC_HOST for rasa_sdk's action
    server), Rasa's listen backlog (SANIC_BACKLOG), the secrets, and ``extra``."""
    host = settings.host()
    env = {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "AFTERSALES_HOST": host,
        "SANIC_HOST": host,
        "SANIC_BACKLOG": os.environ.get("SANIC_BACKLOG", str(settings.LISTEN_BACKLOG)),
        **secrets.env(),
    }
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Shop:
    """A sample shop of its own: the database URL, the policy file and the customers' photos
    folder the servers use."""

    db: str
    policy: Path
    uploads: Optional[Path] = None

    def env(self) -> Dict[str, str]:
        env = {"SHOP_DATABASE_URL": self.db, "SHOP_POLICY": str(self.policy)}
        if self.uploads is not None:
            env["AFTERSALES_UPLOADS"] = str(self.uploads)
        return env


def make_shop(directory: Path) -> Shop:
    """A shop in ``directory``: an SQLite database (created by ``python -m bot init-db``)
    and the project's shop.yml with one shift that lasts all day, so that a hand-over
    to a human agent goes the same way at any hour."""
    policy = yaml.safe_load((PROJECT_ROOT / "shop.yml").read_text(encoding="utf-8"))
    policy["shifts"] = [{"name": "全天班", "start": "00:00", "end": "24:00"}]
    path = directory / "shop.yml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return Shop(db=f"sqlite:///{directory / 'shop.db'}", policy=path, uploads=directory / "uploads")


# -- a stack of servers ---------------------------------------------------------------------


@dataclass
class Server:
    name: str
    command: List[str]
    ready: Ready
    env: Dict[str, str]
    log: Path
    tier: int
    stop_signal: int
    user: Optional[str] = None
    stop_timeout: float = STOP_TIMEOUT  # after its stop signal, SIGKILL
    proc: Optional[subprocess.Popen] = None
    wanted: bool = False  # started and not deliberately stopped or killed since

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Stack:
    """Named servers, started and waited for, signalled, stopped in order; logs in ``log_dir``."""

    def __init__(self, log_dir: Path, secrets: Secrets, *, env: Optional[Mapping[str, str]] = None,
                 say: Optional[Say] = None, timeout: float = START_TIMEOUT) -> None:
        self.log_dir = log_dir
        self.secrets = secrets
        self.env = server_env(secrets, env)
        self.say: Say = say or (lambda _line: None)
        self.timeout = timeout
        self.servers: Dict[str, Server] = {}

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def add(self, name: str, command: Sequence[Union[str, Path]], *, ready: Union[str, Ready],
            extra_env: Optional[Mapping[str, str]] = None, env: Optional[Mapping[str, str]] = None,
            tier: int = 1, stop_signal: int = signal.SIGTERM, user: Optional[str] = None) -> Server:
        """A server, not started. ``ready``: a URL that answers 2xx once it is up, or a check.
        ``env``: its whole environment (default: the stack's, with ``extra_env``).
        ``tier``: servers of a higher tier are stopped first. ``user``: run as this user."""
        if name in self.servers:
            raise StackError(f"two servers named {name!r}")
        check = answers(ready) if isinstance(ready, str) else ready
        server = Server(name, [str(c) for c in command], check,
                        dict(env) if env is not None else {**self.env, **(extra_env or {})},
                        self.log_dir / f"{name}.log", tier, stop_signal, user)
        self.servers[name] = server
        return server

    def start(self, *names: str) -> None:
        """Start the named servers (every one when none is named) that are not running,
        in the order they were added, then wait until each is ready."""
        chosen = [self.servers[n] for n in names] if names else list(self.servers.values())
        for server in chosen:
            if not server.running:
                self.spawn(server)
        for server in chosen:
            self.wait_for(server.name, server.ready)

    def spawn(self, server: Server) -> None:
        settings.private_dir(self.log_dir)
        # a fresh log on the first start, appended to on a restart; owner-only (0600)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if server.proc is not None else os.O_TRUNC)
        with os.fdopen(os.open(server.log, flags, settings.PRIVATE_FILE), "wb") as log:
            settings.private_file(server.log)
            server.proc = subprocess.Popen(
                server.command, cwd=PROJECT_ROOT, env=server.env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches the caller only, who stops them in order
                user=server.user, group=server.user, extra_groups=[] if server.user else None,
                umask=settings.UMASK,  # what a server creates (databases, logs) is owner-only
            )
        server.wanted = True

    def wait_for(self, what: str, ready: Ready, timeout: Optional[float] = None) -> None:
        """Poll ``ready`` until true; fail if a server exits meanwhile or after ``timeout``."""
        limit = self.timeout if timeout is None else timeout
        started = time.monotonic()
        while time.monotonic() - started < limit:
            for server in self.dead():
                assert server.proc is not None
                raise StackError(
                    f"{server.name} exited ({server.proc.returncode}) while waiting for {what}; "
                    f"the end of {server.log}:\n{server.tail()}")
            if ready():
                self.say(f"    {what} is up ({time.monotonic() - started:.0f} s)")
                return
            time.sleep(0.5)
        raise StackError(f"{what} did not come up in {limit:.0f} s; logs in {self.log_dir}")

    def dead(self) -> List[Server]:
        """The servers that were started and have exited, though nobody stopped them."""
        return [s for s in self.servers.values() if s.wanted and not s.running]

    def running(self, name: str) -> bool:
        return self.servers[name].running

    def procs(self) -> Dict[str, subprocess.Popen]:
        """The running servers' processes, by name."""
        return {name: s.proc for name, s in self.servers.items() if s.proc is not None and s.running}

    def signal(self, name: str, sig: int) -> None:
        """Send ``sig`` to one server (SIGSTOP freezes it, SIGCONT resumes it); after
        SIGKILL, wait until it is gone. ``start(name)`` brings a stopped one back."""
        server = self.servers[name]
        if server.proc is None:
            raise StackError(f"{name} was never started")
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            server.wanted = False
        server.proc.send_signal(sig)
        if sig == signal.SIGKILL:
            server.proc.wait(timeout=STOP_TIMEOUT)

    def stop(self, *names: str) -> None:
        """Stop the named servers (every one when none is named): the highest tier first,
        each tier's servers together (a frozen one is resumed first), SIGKILL for one
        still running after ``STOP_TIMEOUT``."""
        chosen = [self.servers[n] for n in names] if names else list(self.servers.values())
        for tier in sorted({s.tier for s in chosen}, reverse=True):
            group = [s for s in chosen if s.tier == tier and s.proc is not None]
            for server in group:
                server.wanted = False
                if server.running:
                    assert server.proc is not None
                    try:
                        os.kill(server.proc.pid, signal.SIGCONT)
                        os.kill(server.proc.pid, server.stop_signal)
                    except ProcessLookupError:
                        pass
            for server in group:
                assert server.proc is not None
                try:
                    server.proc.wait(timeout=server.stop_timeout)
                except subprocess.TimeoutExpired:
                    server.proc.kill()
                    server.proc.wait()

    def supervisor_programs(self, restart: Optional[Mapping[str, Union[str, int]]] = None) -> str:
        """The servers as supervisord ``[program:NAME]`` sections (devtools/supervise.py):
        the same command, working directory, log file, stop signal and user; priorities
        in the stack's stop order (supervisord stops the highest priority first: the
        highest tier, then the later added), the umask 077. The environment holds only
        what a server has beyond the stack's own environment, which supervisord itself
        is started with (so the secrets are not written to the file). ``restart``:
        supervisord's settings for restarts, stops and log rotation
        (``supervise.PROGRAM_DEFAULTS``)."""
        sections = []
        order = sorted(self.servers.values(), key=lambda s: s.tier)  # stable: add order within a tier
        for priority, server in enumerate(order, start=1):
            extra = {k: v for k, v in server.env.items() if self.env.get(k) != v}
            lines = [
                f"[program:{server.name}]",
                f"command={_supervisor_value(' '.join(shlex.quote(c) for c in server.command))}",
                f"directory={_supervisor_value(str(PROJECT_ROOT))}",
                f"priority={priority * 100}",
                "autostart=true",
                "autorestart=true",
                f"stopsignal={signal.Signals(server.stop_signal).name[3:]}",
                f"stopwaitsecs={int(server.stop_timeout)}",
                "stopasgroup=true",
                "killasgroup=true",
                f"umask={settings.UMASK:03o}",
                f"stdout_logfile={_supervisor_value(str(server.log))}",
                "redirect_stderr=true",
                *(f"{key}={value}" for key, value in (restart or {}).items()),
            ]
            if extra:
                lines.append("environment=" + ",".join(
                    f'{key}="{_supervisor_value(value, quoted=True)}"' for key, value in sorted(extra.items())))
            if server.user:
                lines.append(f"user={server.user}")
            sections.append("\n".join(lines))
        return "\n\n".join(sections) + "\n"

    def run(self, command: Sequence[str]) -> str:
        """A one-off command (``python -m bot init-db``) with the servers' environment: its output."""
        result = subprocess.run(list(command), cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"{' '.join(command[:4])} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
        return result.stdout


def _supervisor_value(value: str, quoted: bool = False) -> str:
    """A value as supervisord's config reads it: ``%`` doubled (its expansions), on one
    line; ``quoted`` (an environment value in double quotes): no quote or backslash."""
    if "\n" in value or (quoted and any(c in value for c in '"\\')):
        raise StackError(f"cannot hand {value!r} to supervisord")
    return value.replace("%", "%%")


# -- the assistant's servers -------------------------------------------------------------------


def project_endpoints(directory: Optional[Path] = None) -> Dict[str, Any]:
    """The project's endpoints.yml (as `make run` uses it); with ``directory``, an SQLite
    tracker or lock store moved to a fresh file there."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    for key in ("tracker_store", "lock_store"):
        store = endpoints.get(key)
        if (directory is not None and isinstance(store, dict)
                and str(store.get("dialect", "")).startswith("sqlite") and store.get("db")):
            store["db"] = str(directory / Path(os.path.expandvars(str(store["db"]))).name)
    return endpoints


def write_endpoints(path: Path, endpoints: Mapping[str, Any], action_url: str) -> Path:
    """``endpoints`` with the action endpoint's URL set to ``action_url`` (its other options
    kept), written to ``path``."""
    settings.private_dir(path.parent)
    action = {**(endpoints.get("action_endpoint") or {}), "url": f"{action_url}/webhook"}
    text = yaml.safe_dump({**endpoints, "action_endpoint": action},
                          allow_unicode=True, sort_keys=False)
    settings.private_file(path)  # it may hold a database password
    path.write_text(f"# written by devtools/stack.py for this stack's servers\n{text}", encoding="utf-8")
    return path


def add_action_server(stack: Stack, port: int, name: str = "actions") -> Server:
    """``rasa run actions``: rasa_sdk binds SANIC_HOST (the stack's environment) and keeps
    a silent connection open SANIC_KEEP_ALIVE_TIMEOUT seconds (``ACTION_SERVER_KEEP_ALIVE``)."""
    keep_alive = os.environ.get("SANIC_KEEP_ALIVE_TIMEOUT", str(settings.ACTION_SERVER_KEEP_ALIVE))
    return stack.add(name, [RASA, "run", "actions", "--actions", "actions", "--port", str(port),
                            "--logging-config-file", "logging.yml"],
                     ready=f"{local_url(port)}/health", extra_env={"SANIC_KEEP_ALIVE_TIMEOUT": keep_alive})


def add_rasa(stack: Stack, port: int, endpoints: Path, name: str = "rasa", model: Path = MODEL,
             credentials: Union[str, Path] = "credentials.yml",
             extra_env: Optional[Mapping[str, str]] = None) -> Server:
    """``rasa run`` with the project's channels (or ``credentials``), the HTTP API behind
    the stack's token; ``extra_env`` added to the stack's environment."""
    if not model.exists():
        raise StackError(f"no trained model at {model}: run `make train` first")
    return stack.add(name, [
        RASA, "run", "--model", model, "--port", str(port), "--interface", settings.host(),
        "--credentials", credentials, "--endpoints", endpoints, "--cors", "*",
        "--enable-api", "--auth-token", stack.secrets.rasa_token, "--logging-config-file", "logging.yml",
    ], ready=f"{local_url(port)}/", extra_env=extra_env)


def add_web(stack: Stack, port: int, rasa_url: str, public_rasa_url: Optional[str] = None,
            demo_login: bool = True, endpoints: Optional[Path] = None) -> Server:
    """``python -m web``: the shop page and the agent console (it binds AFTERSALES_HOST);
    ``endpoints``: Rasa's, whose tracker store lists the conversations for the workbench."""
    extra = {"WEB_PORT": str(port), "RASA_URL": rasa_url, "DEMO_LOGIN": "1" if demo_login else "0"}
    if endpoints is not None:
        extra["RASA_ENDPOINTS"] = str(endpoints)
    if public_rasa_url:
        extra["RASA_PUBLIC_URL"] = public_rasa_url  # where the widget in the browser reaches Rasa
    return stack.add("web", [sys.executable, "-m", "web"], ready=f"{local_url(port)}/health", extra_env=extra)


@dataclass(frozen=True)
class Ports:
    actions: int
    rasa: int
    web: int

    @classmethod
    def defaults(cls) -> Ports:
        """`make run`'s: $ACTION_PORT, $RASA_PORT, $WEB_PORT, else 5055, 5005, 8080."""
        return cls(int(os.environ.get("ACTION_PORT", settings.ACTION_PORT)),
                   int(os.environ.get("RASA_PORT", settings.RASA_PORT)), settings.web_port())

    @classmethod
    def free(cls) -> Ports:
        actions, rasa, web = free_ports(3)
        return cls(actions, rasa, web)

    def all(self) -> List[int]:
        return [self.actions, self.rasa, self.web]


class Assistant(Stack):
    """The assistant's servers, added in start order, not started: ``actions``, ``rasa``
    (with ``endpoints``, its action endpoint pointed at ``actions``) and, with ``web``,
    the web service. Its endpoints file is written to ``workdir``; logs go to ``log_dir``
    (default ``workdir``)."""

    def __init__(self, workdir: Path, ports: Ports, secrets: Secrets, *, endpoints: Mapping[str, Any],
                 env: Optional[Mapping[str, str]] = None, web: bool = True, demo_login: bool = True,
                 log_dir: Optional[Path] = None, say: Optional[Say] = None) -> None:
        super().__init__(log_dir or workdir, secrets, env=env, say=say)
        self.ports = ports
        endpoints_file = write_endpoints(workdir / "endpoints.yml", endpoints, self.action_url)
        add_action_server(self, ports.actions)
        add_rasa(self, ports.rasa, endpoints_file)
        if web:
            add_web(self, ports.web, self.rasa_url, demo_login=demo_login, endpoints=endpoints_file)

    @property
    def action_url(self) -> str:
        return local_url(self.ports.actions)

    @property
    def rasa_url(self) -> str:
        return local_url(self.ports.rasa)

    @property
    def web_url(self) -> str:
        return local_url(self.ports.web)

    def init_db(self) -> None:
        """Create and seed the shop database of the servers' environment, if missing."""
        self.run([sys.executable, "-m", "bot", "init-db"])


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Servable(Protocol):
    """A set of servers: a ``Stack``, or a ``devtools.scaled.ScaledStack`` built on one."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def dead(self) -> Sequence[Server]: ...


def serve(stack: Servable, banner: Callable[[], str], *, starting: str = "") -> int:
    """Start ``stack``, print ``banner()``, watch the servers until Ctrl-C or SIGTERM
    (even where a shell started us with SIGINT ignored), then stop them in order.
    A server that stops by itself ends it with an error and the end of its log."""
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        if starting:
            print(starting, flush=True)
        stack.start()
        print(banner(), flush=True)
        while True:
            dead = stack.dead()
            if dead:
                raise StackError(f"{dead[0].name} stopped; the end of {dead[0].log}:\n{dead[0].tail(2000)}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n==> stopping", flush=True)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        stack.stop()
        print("==> stopped", flush=True)
