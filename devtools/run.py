"""`make run` (scripts/run.sh): the action server, Rasa and the web service on this
checkout's data, under supervisord, until Ctrl-C.

Ports: $ACTION_PORT (5055), $RASA_PORT (5005), $WEB_PORT (8080), bound on
settings.host() (loopback unless AFTERSALES_HOST). The shop is var/shop.db (`make db`),
the conversations var/tracker.db (endpoints.yml; in ``AFTERSALES_VAR`` when that is
set); the development secrets are made once in var/ (bot.settings). The servers run
under supervisord (devtools/supervise.py; config var/run/supervisord.conf): a server
that dies is restarted while the others keep serving. Logs, rotated:
var/log/{actions,rasa,web,supervisord}.log.
"""

from __future__ import annotations

import io
import os
import sys

from bot import settings
from bot.cli import main as bot_cli
from devtools.stack import (
    PROJECT_ROOT,
    Assistant,
    Ports,
    Secrets,
    StackError,
    port_in_use,
    project_endpoints,
    serve,
)
from devtools.supervise import SUPERVISORD, Supervised


def banner(stack: Assistant) -> str:
    python = os.path.relpath(sys.executable, PROJECT_ROOT)
    rasa, web = stack.rasa_url, stack.web_url
    logs = stack.log_dir.relative_to(PROJECT_ROOT) if stack.log_dir.is_relative_to(PROJECT_ROOT) else stack.log_dir
    curl = f"curl -s {rasa}/webhooks/rest/webhook -d"
    return f"""==> the assistant is up (listening on {settings.host()}; logs in {logs}/)

  Shop page with the chat widget:  {web}/
  Agent console (agent assist):    {web}/agent   token: {python} -m bot secrets agent_token
  Rasa REST, socket.io, HTTP API:  {rasa}/   API token: {python} -m bot secrets rasa_token

  Talk to it over REST (an anonymous customer proves the order with its phone's last four digits):
    {curl} '{{"sender": "demo-1", "message": "我的快递到哪了"}}'
    {curl} '{{"sender": "demo-1", "message": "3027461958302746518"}}'
    {curl} '{{"sender": "demo-1", "message": "5678"}}'
  As a logged-in sample buyer, add "metadata": {{"buyer_token": "<output of {python} -m bot token chen_hao>"}}
  Cases: {python} -m bot cases    Give a conversation back from a human: {python} -m bot release SENDER
  Supervisor (restarts a server that dies): {python} -m devtools.supervise status

Ctrl-C stops all three servers."""


def main() -> int:
    # a bad shop.yml or case_notes.yml stops here, naming the key
    if bot_cli(["check-policy"], out=io.StringIO()) != 0:
        return 1
    ports = Ports.defaults()
    busy = [port for port in ports.all() if port_in_use(port)]
    if busy:
        print(f"error: port {', '.join(map(str, busy))} already in use (another 'make run'?). Stop it first.",
              file=sys.stderr)
        return 1
    if not SUPERVISORD.exists():
        print(f"error: no {SUPERVISORD} (PyPI supervisor): run `make setup`", file=sys.stderr)
        return 1
    var = settings.var_dir()
    try:
        stack = Assistant(var / "run", ports, Secrets.from_settings(), endpoints=project_endpoints(var),
                          demo_login=os.environ.get("DEMO_LOGIN", "1") == "1",  # signs in any sample buyer
                          log_dir=var / "log", say=lambda line: print(line, flush=True))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return serve(Supervised(stack, var / "run"), lambda: banner(stack), starting=(
        f"==> starting the action server on :{ports.actions}, Rasa on :{ports.rasa} (loading the model) "
        f"and the web service on :{ports.web}"))


if __name__ == "__main__":
    sys.exit(main())
