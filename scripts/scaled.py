"""The scaled-out stack: Rasa's documented architecture for several instances, on loopback.

    nginx ──┬── Rasa instance 1 ──┐
            └── Rasa instance 2 ──┼── action server ── PostgreSQL (shop: orders, cases)
                                  ├── PostgreSQL (tracker store: every conversation)
                                  └── Redis (lock store: one message of a conversation at a time)
    web service (shop page, agent console) ── nginx

``python scripts/scaled.py`` (``make run-scaled``) starts it and stops it on Ctrl-C;
``tests/scale/test_scale_out.py`` (``make test-scale``) starts its own on free ports. PostgreSQL,
Redis and nginx come from Debian's packages (installed when missing, as root) and run
from the stack's own directory on non-default ports; the templates are in ``deploy/``.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent
MODEL = Path(os.environ.get("AFTERSALES_MODEL", PROJECT_ROOT / "models" / "aftersales.tar.gz"))
DEBIAN_PACKAGES = ("postgresql", "redis-server", "nginx")
PG_USER = "aftersales"
SHOP_DB = "shop"
TRACKER_DB = "rasa"
START_TIMEOUT = 300


class StackError(RuntimeError):
    """Something the stack needs is missing or did not start; the message says what."""


@dataclass(frozen=True)
class Ports:
    nginx: int
    rasa: Tuple[int, ...]
    actions: int
    web: int
    postgres: int
    redis: int

    def all(self) -> List[int]:
        return [self.nginx, *self.rasa, self.actions, self.web, self.postgres, self.redis]


@dataclass(frozen=True)
class Secrets:
    rasa_token: str
    agent_token: str
    buyer_secret: str


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    log: Path
    stop_signal: int = signal.SIGTERM


# -- the system packages ------------------------------------------------------------------


def postgres_bindir() -> Optional[Path]:
    """Debian's newest /usr/lib/postgresql/<version>/bin, or $PG_BINDIR, or initdb on PATH."""
    if os.environ.get("PG_BINDIR"):
        given = Path(os.environ["PG_BINDIR"])
        return given if (given / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_programs() -> List[str]:
    missing = []
    if postgres_bindir() is None:
        missing.append("postgresql")
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        missing.append("nginx")
    return missing


def ensure_packages(say: Callable[[str], None] = print) -> None:
    """Install PostgreSQL, Redis and nginx from Debian's packages when one is missing."""
    missing = missing_programs()
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            f"missing: {', '.join(missing)}. Install them (Debian: sudo apt-get install -y "
            f"{' '.join(DEBIAN_PACKAGES)}) or run this as root to have it done."
        )
    say(f"==> installing {', '.join(missing)} from Debian's packages (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *DEBIAN_PACKAGES]):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    still = missing_programs()
    if still:
        raise StackError(f"still missing after apt-get install: {', '.join(still)}")


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def fill(template: Path, values: Dict[str, str]) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise StackError(f"{template}: placeholders left unfilled: {leftover}")
    return text


# -- the stack ----------------------------------------------------------------------------


@dataclass
class Stack:
    """Every server of the scaled-out assistant, in ``workdir`` (data, configs, logs)."""

    workdir: Path
    ports: Ports
    secrets: Secrets
    policy: Optional[Path] = None  # SHOP_POLICY for the action server and web service
    say: Callable[[str], None] = print
    servers: List[Server] = field(default_factory=list)

    # -- where things are

    @property
    def log_dir(self) -> Path:
        return self.workdir / "log"

    @property
    def pg_dir(self) -> Path:
        return self.workdir / "postgres"

    @property
    def public_url(self) -> str:
        """nginx: where the channels, the HTTP API and the web service reach Rasa."""
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def instance_urls(self) -> List[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports.rasa]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def pg_password(self) -> str:
        return (self.workdir / "pg_password").read_text().strip()

    def database_url(self, db: str) -> str:
        return f"postgresql://{PG_USER}:{self.pg_password()}@127.0.0.1:{self.ports.postgres}/{db}"

    @property
    def shop_database_url(self) -> str:
        return self.database_url(SHOP_DB)

    @property
    def tracker_database_url(self) -> str:
        return self.database_url(TRACKER_DB)

    def env(self) -> Dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT_ROOT),
            "SHOP_DATABASE_URL": self.shop_database_url,
            "BUYER_TOKEN_SECRET": self.secrets.buyer_secret,
            "RASA_TOKEN": self.secrets.rasa_token,
            "AGENT_TOKEN": self.secrets.agent_token,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
        if self.policy:
            env["SHOP_POLICY"] = str(self.policy)
        return env

    # -- start and stop

    def start(self) -> None:
        if not MODEL.exists():
            raise StackError(f"no trained model at {MODEL}: run `make train` first")
        busy = [p for p in self.ports.all() if port_in_use(p)]
        if busy:
            raise StackError(f"port(s) {busy} already in use (another run-scaled?); stop it first")
        ensure_packages(self.say)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o711)  # PostgreSQL's user must reach its data directory
        self.log_dir.mkdir(exist_ok=True)
        self.start_postgres()
        self.start_redis()
        self.say("==> creating the sample shop in PostgreSQL (python -m bot init-db)")
        self.run([sys.executable, "-m", "bot", "check-policy"])
        self.run([sys.executable, "-m", "bot", "init-db"])
        self.start_assistant()

    def run(self, command: List[str]) -> None:
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=self.env(), capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(f"{' '.join(command[:4])} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")

    def spawn(self, name: str, command: List[str], *, user: Optional[str] = None,
              stop_signal: int = signal.SIGTERM, env: Optional[Dict[str, str]] = None) -> Server:
        log = self.log_dir / f"{name}.log"
        handle = log.open("ab")
        proc = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env or self.env(), stdout=handle, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # Ctrl-C reaches us, we stop them in order
            user=user, group=user, extra_groups=[] if user else None,
        )
        handle.close()
        server = Server(name, proc, log, stop_signal)
        self.servers.append(server)
        return server

    def start_postgres(self) -> None:
        bindir = postgres_bindir()
        assert bindir is not None
        as_root = os.geteuid() == 0
        user = "postgres" if as_root else None
        if as_root:
            try:
                import pwd
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise StackError("no 'postgres' user to run PostgreSQL as (apt-get install postgresql makes it)") from exc
        if not (self.pg_dir / "PG_VERSION").exists():
            self.say(f"==> creating a PostgreSQL cluster ({bindir.parent.name}) in {self.pg_dir}")
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir.mkdir(mode=0o700)
            password = secrets.token_hex(16)
            (self.workdir / "pg_password").write_text(password)
            (self.workdir / "pg_password").chmod(0o600)
            pwfile = self.workdir / "pg_pwfile"
            pwfile.write_text(password)
            if as_root:
                shutil.chown(self.pg_dir, "postgres", "postgres")
                shutil.chown(pwfile, "postgres", "postgres")
            pwfile.chmod(0o600)
            result = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.pg_dir), "-U", PG_USER, f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                user=user, group=user, extra_groups=[] if user else None,
                capture_output=True, text=True, cwd="/",
            )
            pwfile.unlink()
            if result.returncode != 0:
                raise StackError(f"initdb failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        self.say(f"==> starting PostgreSQL on 127.0.0.1:{self.ports.postgres} (log: {self.log_dir}/postgres.log)")
        self.spawn(
            "postgres",
            [str(bindir / "postgres"), "-D", str(self.pg_dir), "-p", str(self.ports.postgres),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.pg_dir}",
             "-c", "max_connections=200", "-c", "fsync=on"],
            user=user, stop_signal=signal.SIGINT,  # SIGINT: PostgreSQL's fast shutdown
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
        )
        self.wait_for("PostgreSQL", self.pg_ready)
        self.create_databases()

    def pg_ready(self) -> bool:
        import psycopg2

        try:
            psycopg2.connect(self.database_url("postgres"), connect_timeout=2).close()
            return True
        except psycopg2.OperationalError:
            return False

    def create_databases(self) -> None:
        import psycopg2

        conn = psycopg2.connect(self.database_url("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                for db in (SHOP_DB, TRACKER_DB):
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                    if cur.fetchone() is None:
                        cur.execute(f'CREATE DATABASE "{db}"')
        finally:
            conn.close()

    def start_redis(self) -> None:
        self.say(f"==> starting Redis (lock store) on 127.0.0.1:{self.ports.redis}")
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.spawn("redis", [shutil.which("redis-server") or "redis-server", "--port", str(self.ports.redis),
                             "--bind", "127.0.0.1", "--dir", str(redis_dir), "--save", "",
                             "--appendonly", "no", "--daemonize", "no"])
        self.wait_for("Redis", self.redis_ready)

    def redis(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.ports.redis, socket_timeout=2)

    def redis_ready(self) -> bool:
        import redis

        try:
            return bool(self.redis().ping())
        except redis.exceptions.ConnectionError:
            return False

    def write_configs(self) -> Tuple[Path, Path]:
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(fill(DEPLOY / "endpoints.yml.in", {
            "ACTION_PORT": str(self.ports.actions), "PG_PORT": str(self.ports.postgres),
            "TRACKER_DB": TRACKER_DB, "PG_USER": PG_USER, "PG_PASSWORD": self.pg_password(),
            "REDIS_PORT": str(self.ports.redis), "LOCK_PREFIX": "aftersales",
        }), encoding="utf-8")
        endpoints.chmod(0o600)
        run_dir = self.workdir / "nginx"
        run_dir.mkdir(exist_ok=True)
        nginx_conf = self.workdir / "nginx.conf"
        nginx_conf.write_text(fill(DEPLOY / "nginx.conf.in", {
            "RUN_DIR": str(run_dir), "LOG_DIR": str(self.log_dir), "NGINX_PORT": str(self.ports.nginx),
            "RASA_SERVERS": "\n".join(f"        server 127.0.0.1:{port};" for port in self.ports.rasa),
        }), encoding="utf-8")
        return endpoints, nginx_conf

    def start_assistant(self) -> None:
        endpoints, nginx_conf = self.write_configs()
        rasa = str(BIN / "rasa")
        self.say(f"==> starting the action server on :{self.ports.actions}")
        self.spawn("actions", [rasa, "run", "actions", "--actions", "actions", "--port", str(self.ports.actions)])
        for i, port in enumerate(self.ports.rasa, start=1):
            self.say(f"==> starting Rasa instance {i} on :{port} (same model; log: {self.log_dir}/rasa-{i}.log)")
            self.spawn(f"rasa-{i}", [
                rasa, "run", "--model", str(MODEL), "--port", str(port), "--interface", "127.0.0.1",
                "--credentials", "credentials.yml", "--endpoints", str(endpoints), "--cors", "*",
                "--enable-api", "--auth-token", self.secrets.rasa_token,
            ])
        self.say(f"==> starting nginx on :{self.ports.nginx} (round-robin REST, sticky socket.io)")
        test = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(self.workdir), "-c", str(nginx_conf),
                               "-e", str(self.log_dir / "nginx-error.log")], capture_output=True, text=True)
        if test.returncode != 0:
            raise StackError(f"nginx rejected {nginx_conf}:\n{test.stderr}")
        self.spawn("nginx", [nginx_binary(), "-p", str(self.workdir), "-c", str(nginx_conf),
                             "-e", str(self.log_dir / "nginx-error.log")], stop_signal=signal.SIGQUIT)
        self.say(f"==> starting the shop page and agent console on :{self.ports.web} (Rasa via nginx)")
        self.spawn("web", [sys.executable, "-m", "web"], env={
            **self.env(), "WEB_PORT": str(self.ports.web), "WEB_HOST": "127.0.0.1",
            "RASA_URL": self.public_url, "RASA_PUBLIC_URL": f"http://localhost:{self.ports.nginx}",
            "DEMO_LOGIN": os.environ.get("DEMO_LOGIN", "1"),
        })
        self.say("==> loading the model in both Rasa instances")
        self.wait_for("the action server", lambda: http_ok(f"http://127.0.0.1:{self.ports.actions}/health"))
        for i, url in enumerate(self.instance_urls, start=1):
            self.wait_for(f"Rasa instance {i}", lambda url=url: http_ok(f"{url}/"))
        self.wait_for("nginx", lambda: http_ok(f"{self.public_url}/"))
        self.wait_for("the web service", lambda: http_ok(f"{self.web_url}/"))

    def wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            for server in self.servers:
                if server.proc.poll() is not None:
                    tail = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
                    raise StackError(f"{server.name} exited ({server.proc.returncode}) while waiting for "
                                     f"{what}; the end of {server.log}:\n{tail}")
            if ready():
                self.say(f"    {what} is up ({time.monotonic() - started:.0f} s)")
                return
            time.sleep(0.5)
        raise StackError(f"{what} did not come up in {START_TIMEOUT} s; logs in {self.log_dir}")

    def dead(self) -> List[Server]:
        return [s for s in self.servers if s.proc.poll() is not None]

    def stop(self) -> None:
        """Stop every server: first the web service, nginx, Rasa and the action server
        (together: Rasa may wait for open socket.io sessions), then Redis, then PostgreSQL."""
        tiers = [[s for s in self.servers if s.name not in ("redis", "postgres")],
                 [s for s in self.servers if s.name == "redis"],
                 [s for s in self.servers if s.name == "postgres"]]
        for tier in tiers:
            for server in tier:
                if server.proc.poll() is None:
                    try:
                        os.kill(server.proc.pid, server.stop_signal)
                    except ProcessLookupError:
                        pass
            for server in tier:
                try:
                    server.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.proc.kill()
                    server.proc.wait()
        self.servers.clear()


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- make run-scaled -------------------------------------------------------------------------


def token_file(path: Path) -> str:
    """A development secret kept in ``var/`` (as ``make run`` does)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    var = PROJECT_ROOT / "var"
    ports = Ports(
        nginx=int(os.environ.get("SCALED_PORT", 5080)),
        rasa=(int(os.environ.get("SCALED_RASA1_PORT", 5081)), int(os.environ.get("SCALED_RASA2_PORT", 5082))),
        actions=int(os.environ.get("SCALED_ACTION_PORT", 5085)),
        web=int(os.environ.get("SCALED_WEB_PORT", 8090)),
        postgres=int(os.environ.get("SCALED_PG_PORT", 5433)),
        redis=int(os.environ.get("SCALED_REDIS_PORT", 6380)),
    )
    from bot.access.identity import buyer_secret

    stack = Stack(
        workdir=Path(os.environ.get("SCALED_DIR", var / "scaled")),
        ports=ports,
        secrets=Secrets(
            rasa_token=os.environ.get("RASA_TOKEN") or token_file(var / "rasa_token"),
            agent_token=os.environ.get("AGENT_TOKEN") or token_file(var / "agent_token"),
            buyer_secret=buyer_secret(),
        ),
        policy=Path(os.environ["SHOP_POLICY"]) if os.environ.get("SHOP_POLICY") else None,
    )
    # Ctrl-C and SIGTERM both end in the `finally` below
    signal.signal(signal.SIGTERM, interrupted)
    try:
        stack.start()
        chen_hao = subprocess.run([sys.executable, "-m", "bot", "token", "chen_hao"], cwd=PROJECT_ROOT,
                                  env=stack.env(), capture_output=True, text=True).stdout.strip()
        print(f"""==> the scaled-out assistant is up.

  nginx (REST, socket.io, HTTP API):  {stack.public_url}   → Rasa {', '.join(stack.instance_urls)}
  Shop page with the chat widget:     http://localhost:{ports.web}/
  Agent console:                      http://localhost:{ports.web}/agent   (token: {stack.secrets.agent_token})
  PostgreSQL (orders, cases, trackers): 127.0.0.1:{ports.postgres}  user {PG_USER}, password in {stack.workdir}/pg_password
  Redis (lock store):                 127.0.0.1:{ports.redis}
  Logs: {stack.log_dir}/ (nginx-access.log names the instance of every request)

  curl -si {stack.public_url}/webhooks/rest/webhook -d '{{"sender": "s1", "message": "我的快递到哪了"}}'
  curl -si {stack.public_url}/webhooks/rest/webhook -d '{{"sender": "s1", "message": "3027461958302746518"}}'
    (the X-Rasa-Instance header shows which instance answered each turn)
  As a logged-in buyer: "metadata": {{"buyer_token": "{chen_hao}"}}
  Cases:  .venv/bin/python -m bot --db '{stack.shop_database_url}' cases

Ctrl-C stops everything (the data stays in {stack.workdir}; delete it to start afresh).""", flush=True)
        while True:
            dead = stack.dead()
            if dead:
                raise StackError(f"{dead[0].name} stopped; see {dead[0].log}")
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n==> stopping", flush=True)
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        print("==> stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
