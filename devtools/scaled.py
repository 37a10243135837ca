"""The scaled-out stack: Rasa's documented architecture for several instances, on loopback.

    nginx ──┬── Rasa instance 1 ──┐
            └── Rasa instance 2 ──┼── action server ── PostgreSQL (shop: orders, cases)
                                  ├── PostgreSQL (tracker store: every conversation)
                                  └── Redis (lock store: one message of a conversation at a time;
                                             socket.io message queue: the instances' rooms shared)
    web service (shop page, agent console) ── nginx

``ScaledStack`` starts and stops it with the primitives of devtools/stack.py; `make
run-scaled` (scripts/scaled.py, ``main`` below) runs one until Ctrl-C, `make test-scale`
(tests/scale/) starts its own on free ports. PostgreSQL, Redis and nginx come from
Debian's packages (installed when missing, as root) and run from the stack's own
directory on non-default ports; the templates are in ``deploy/``.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from bot import settings
from devtools.stack import (
    MODEL,
    PROJECT_ROOT,
    Secrets,
    Stack,
    StackError,
    add_action_server,
    add_rasa,
    add_web,
    answers,
    connect_host,
    free_ports,
    local_url,
    port_in_use,
    serve,
)
from devtools.supervise import Supervised

DEPLOY = PROJECT_ROOT / "deploy"
DEBIAN_PACKAGES = ("postgresql", "redis-server", "nginx")
PG_USER = "aftersales"
SHOP_DB = "shop"
TRACKER_DB = "rasa"
# stop order: the assistant's servers first (together), then Redis, then PostgreSQL
POSTGRES_TIER, REDIS_TIER, ASSISTANT_TIER = 0, 1, 2


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

    @classmethod
    def defaults(cls) -> Ports:
        """`make run-scaled`'s: SCALED_PORT (nginx, 5080), SCALED_RASA1_PORT, ... ."""
        env = os.environ
        return cls(nginx=int(env.get("SCALED_PORT", 5080)),
                   rasa=(int(env.get("SCALED_RASA1_PORT", 5081)), int(env.get("SCALED_RASA2_PORT", 5082))),
                   actions=int(env.get("SCALED_ACTION_PORT", 5085)), web=int(env.get("SCALED_WEB_PORT", 8090)),
                   postgres=int(env.get("SCALED_PG_PORT", 5433)), redis=int(env.get("SCALED_REDIS_PORT", 6380)))

    @classmethod
    def free(cls) -> Ports:
        nginx, rasa1, rasa2, actions, web, postgres, redis = free_ports(7)
        return cls(nginx=nginx, rasa=(rasa1, rasa2), actions=actions, web=web, postgres=postgres, redis=redis)


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


class ScaledStack:
    """Every server of the scaled-out assistant, in ``workdir`` (data, configs, logs in log/)."""

    def __init__(self, workdir: Path, ports: Ports, secrets: Secrets, policy: Optional[Path] = None,
                 say: Callable[[str], None] = print, supervise: bool = False,
                 socketio_queue: bool = True) -> None:
        self.workdir = workdir
        self.ports = ports
        self.secrets = secrets
        self.policy = policy  # SHOP_POLICY for the action server and web service
        self.say = say
        self.servers = Stack(workdir / "log", secrets, say=say)
        # with ``supervise`` (make run-scaled) every server runs under supervisord
        # (devtools/supervise.py), in two tiers with a supervisord each: PostgreSQL and
        # Redis first (``data``), then, once the shop is made, the assistant's servers
        # (action server, Rasa instances, nginx, web); stopped in the reverse order
        self.supervise = supervise
        # the Rasa instances share their socket.io rooms through Redis (SOCKETIO_MESSAGE_QUEUE):
        # a message any instance sends reaches the widget whichever instance holds its socket
        self.socketio_queue = socketio_queue
        self.data: Optional[Supervised] = None
        self.supervised: Optional[Supervised] = None
        # where PostgreSQL and Redis are added: ``servers``, or the data tier's own stack
        self.data_stack = Stack(self.log_dir, secrets, say=say) if supervise else self.servers

    # -- where things are

    @property
    def log_dir(self) -> Path:
        return self.servers.log_dir

    @property
    def pg_dir(self) -> Path:
        return self.workdir / "postgres"

    @property
    def public_url(self) -> str:
        """nginx: where the channels, the HTTP API and the web service reach Rasa."""
        return local_url(self.ports.nginx)

    @property
    def instance_urls(self) -> List[str]:
        return [local_url(port) for port in self.ports.rasa]

    @property
    def web_url(self) -> str:
        return local_url(self.ports.web)

    @property
    def socketio_queue_url(self) -> str:
        """The socket.io message queue (Redis pub/sub; the lock store's keys are in db 1)."""
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    def rasa_env(self) -> Dict[str, str]:
        """What the Rasa instances get on top of the stack's environment."""
        return {"SOCKETIO_MESSAGE_QUEUE": self.socketio_queue_url if self.socketio_queue else ""}

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

    # -- start and stop

    def start(self) -> None:
        if not MODEL.exists():
            raise StackError(f"no trained model at {MODEL}: run `make train` first")
        busy = [p for p in self.ports.all() if port_in_use(p)]
        if busy:
            raise StackError(f"port(s) {busy} already in use (another run-scaled?); stop it first")
        ensure_packages(self.say)
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.workdir.chmod(0o711)  # PostgreSQL's user must reach its data directory
        if os.geteuid() == 0:  # ... through var/ too: pass through only (0711), no listing
            var = settings.var_dir().resolve()
            for parent in self.workdir.resolve().parents:
                if parent == var or var in parent.parents:
                    parent.chmod((parent.stat().st_mode & 0o700) | 0o011)
        settings.private_dir(self.log_dir)
        self.start_postgres()
        self.start_redis()
        if self.supervise:
            self.data = Supervised(self.data_stack, self.workdir / "run-data")
            self.say(f"    under supervisord ({self.workdir}/run-data/supervisord.conf)")
            self.data.start()
        self.create_databases()
        # every server of the assistant, and the one-off commands, use the shop in PostgreSQL
        self.servers.env["SHOP_DATABASE_URL"] = self.shop_database_url
        if self.policy:
            self.servers.env["SHOP_POLICY"] = str(self.policy)
        self.say("==> creating the sample shop in PostgreSQL (python -m bot init-db)")
        self.servers.run([sys.executable, "-m", "bot", "check-policy"])
        self.servers.run([sys.executable, "-m", "bot", "init-db"])
        self.start_assistant()

    def stop(self) -> None:
        """Stop every server: the web service, nginx, Rasa and the action server together
        (under supervision: one after the other, in that order), then Redis, then PostgreSQL."""
        for supervised in (self.supervised, self.data):
            if supervised is not None:
                supervised.stop()
        self.servers.stop()

    def dead(self) -> List[Any]:
        return [*self.servers.dead(), *(s for sup in (self.supervised, self.data) if sup is not None
                                        for s in sup.dead())]

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
            password = secrets.token_hex(16)  # the cluster's own, kept beside it
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
        self.data_stack.add(
            "postgres",
            [bindir / "postgres", "-D", self.pg_dir, "-p", str(self.ports.postgres),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.pg_dir}",
             "-c", "max_connections=200", "-c", "fsync=on"],
            ready=self.pg_ready, env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            tier=POSTGRES_TIER, stop_signal=signal.SIGINT,  # SIGINT: PostgreSQL's fast shutdown
            user=user,
        )
        if not self.supervise:
            self.servers.start("postgres")

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
        self.say(f"==> starting Redis (lock store, socket.io message queue) on 127.0.0.1:{self.ports.redis}")
        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(exist_ok=True)
        self.data_stack.add("redis", [shutil.which("redis-server") or "redis-server", "--port", str(self.ports.redis),
                                   "--bind", "127.0.0.1", "--dir", str(redis_dir), "--save", "",
                                   "--appendonly", "no", "--daemonize", "no"],
                         ready=self.redis_ready, tier=REDIS_TIER)
        if not self.supervise:
            self.servers.start("redis")

    def redis(self) -> Any:
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
            "RASA_SERVERS": "\n".join(f"        server {connect_host()}:{port};" for port in self.ports.rasa),
        }), encoding="utf-8")
        return endpoints, nginx_conf

    def start_assistant(self) -> None:
        endpoints, nginx_conf = self.write_configs()
        stack = self.servers
        if self.supervise:  # the same environment (the shop in PostgreSQL), supervisord's programs
            stack = Stack(self.log_dir, self.secrets, env=self.servers.env, say=self.say)
            self.supervised = Supervised(stack, self.workdir / "run")
        self.say(f"==> starting the action server on :{self.ports.actions}")
        add_action_server(stack, self.ports.actions).tier = ASSISTANT_TIER
        for i, port in enumerate(self.ports.rasa, start=1):
            self.say(f"==> starting Rasa instance {i} on :{port} (same model; log: {self.log_dir}/rasa-{i}.log)")
            add_rasa(stack, port, endpoints, name=f"rasa-{i}", extra_env=self.rasa_env()).tier = ASSISTANT_TIER
        self.say(f"==> starting nginx on :{self.ports.nginx} (round-robin REST, sticky socket.io)")
        nginx = [nginx_binary(), "-p", str(self.workdir), "-c", str(nginx_conf),
                 "-e", str(self.log_dir / "nginx-error.log")]
        for log in ("nginx-access.log", "nginx-error.log"):  # before `nginx -t` makes them 0644
            settings.private_file(self.log_dir / log)
        test = subprocess.run([nginx[0], "-t", "-q", *nginx[1:]], capture_output=True, text=True)
        if test.returncode != 0:
            raise StackError(f"nginx rejected {nginx_conf}:\n{test.stderr}")
        stack.add("nginx", nginx, ready=answers(f"{self.public_url}/"), tier=ASSISTANT_TIER,
                  stop_signal=signal.SIGQUIT)
        self.say(f"==> starting the shop page and agent console on :{self.ports.web} (Rasa via nginx)")
        add_web(stack, self.ports.web, self.public_url,
                public_rasa_url=f"http://localhost:{self.ports.nginx}",
                demo_login=os.environ.get("DEMO_LOGIN", "1") == "1", endpoints=endpoints).tier = ASSISTANT_TIER
        self.say("==> loading the model in both Rasa instances")
        if self.supervised is not None:
            self.say(f"    under supervisord ({self.workdir}/run/supervisord.conf)")
            self.supervised.start()
            return
        self.servers.start("actions", *(f"rasa-{i}" for i in range(1, len(self.ports.rasa) + 1)), "nginx", "web")


# -- make run-scaled -------------------------------------------------------------------------


def main() -> int:
    stack = ScaledStack(
        workdir=Path(os.environ.get("SCALED_DIR", settings.var_dir() / "scaled")),
        ports=Ports.defaults(),
        secrets=Secrets.from_settings(),
        policy=Path(os.environ["SHOP_POLICY"]) if os.environ.get("SHOP_POLICY") else None,
        supervise=True,  # a server that dies is restarted while the others serve
    )
    python = os.path.relpath(sys.executable, PROJECT_ROOT)

    def banner() -> str:
        ports = stack.ports
        webhook = f"{stack.public_url}/webhooks/rest/webhook"
        return f"""==> the scaled-out assistant is up.

  nginx (REST, socket.io, HTTP API):  {stack.public_url}   → Rasa {', '.join(stack.instance_urls)}
  Shop page with the chat widget:     {stack.web_url}/
  Agent console:                      {stack.web_url}/agent   (token: {python} -m bot secrets agent_token)
  PostgreSQL (orders, cases, trackers): 127.0.0.1:{ports.postgres}  user {PG_USER}, password in {stack.workdir}/pg_password
  Redis (lock store, socket.io queue): 127.0.0.1:{ports.redis}
  Logs: {stack.log_dir}/ (nginx-access.log names the instance of every request)

  curl -si {webhook} -d '{{"sender": "s1", "message": "我的快递到哪了"}}'
  curl -si {webhook} -d '{{"sender": "s1", "message": "3027461958302746518"}}'
  curl -si {webhook} -d '{{"sender": "s1", "message": "5678"}}'
    (the X-Rasa-Instance header shows which instance answered each turn; an anonymous
    customer proves the order with its phone's last four digits)
  As a logged-in buyer add "metadata": {{"buyer_token": "<output of {python} -m bot token chen_hao>"}}
  Cases:  {python} -m bot --db '{stack.shop_database_url}' cases

Ctrl-C stops everything (the data stays in {stack.workdir}; delete it to start afresh)."""

    return serve(stack, banner)
