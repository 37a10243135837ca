#!/usr/bin/env bash
# Starts the action server and the Rasa server together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
ACTION_PORT=${ACTION_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
WEB_PORT=${WEB_PORT:-8080}
mkdir -p var/log
# The Rasa HTTP API (used to give a conversation back from a human agent) needs
# a token: $RASA_TOKEN, else one made once for this checkout in var/rasa_token.
if [ -z "${RASA_TOKEN:-}" ]; then
    [ -s var/rasa_token ] || $BIN/python -c 'import secrets; print(secrets.token_hex(16))' >var/rasa_token
    RASA_TOKEN=$(cat var/rasa_token)
fi
export RASA_TOKEN

pids=()
stop_servers() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'trap - EXIT; echo; echo "==> stopping"; stop_servers; echo "==> stopped"; exit 0' INT TERM
trap stop_servers EXIT

# a bad shop.yml or case_notes.yml stops here, naming the key
$BIN/python -m bot check-policy >/dev/null
# the buyer-token secret both servers share (var/buyer_secret unless BUYER_TOKEN_SECRET)
$BIN/python -c 'from bot.access.identity import buyer_secret; buyer_secret()'

for port in "$ACTION_PORT" "$RASA_PORT" "$WEB_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: port $port is already in use (another 'make run'?). Stop it first." >&2
        exit 1
    fi
done

echo "==> starting the action server on :$ACTION_PORT (log: var/log/actions.log)"
$BIN/rasa run actions --actions actions --port "$ACTION_PORT" --logging-config-file logging.yml >var/log/actions.log 2>&1 &
pids+=($!)
echo "==> starting the Rasa server on :$RASA_PORT (log: var/log/rasa.log)"
$BIN/rasa run --model models/aftersales.tar.gz --port "$RASA_PORT" \
    --credentials credentials.yml --endpoints endpoints.yml --cors "*" \
    --enable-api --auth-token "$RASA_TOKEN" --logging-config-file logging.yml >var/log/rasa.log 2>&1 &
pids+=($!)

echo "==> starting the shop page and agent assist on :$WEB_PORT (log: var/log/web.log)"
# the demo shop's login signs any sample buyer: for the demo only (DEMO_LOGIN=0 turns it off)
DEMO_LOGIN=${DEMO_LOGIN:-1} RASA_URL="http://localhost:$RASA_PORT" WEB_PORT="$WEB_PORT" $BIN/python -m web >var/log/web.log 2>&1 &
pids+=($!)

printf "==> loading the model"
for _ in $(seq 1 180); do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo; echo "error: a server stopped while starting; see var/log/" >&2
            tail -n 20 var/log/rasa.log var/log/actions.log >&2
            exit 1
        fi
    done
    if curl -sf "http://localhost:$RASA_PORT/" >/dev/null && curl -sf "http://localhost:$ACTION_PORT/health" >/dev/null \
        && curl -sf "http://localhost:$WEB_PORT/" >/dev/null; then
        break
    fi
    printf "."; sleep 1
done
echo
cat <<MSG
==> the assistant is up.

  Shop page with the chat widget:  http://localhost:$WEB_PORT/
  Agent console (agent assist):    http://localhost:$WEB_PORT/agent
          development agent token: $(cat var/agent_token 2>/dev/null || echo "\$AGENT_TOKEN")
  Suggestions on the command line: $BIN/python -m bot suggest "显示签收了但我没收到" --order 2938475610293840001

Talk to it:

  REST:   curl -s localhost:$RASA_PORT/webhooks/rest/webhook \\
            -d '{"sender": "demo-1", "message": "我的快递到哪了"}'
          then send the order number from the same sender, e.g.
          curl -s localhost:$RASA_PORT/webhooks/rest/webhook \\
            -d '{"sender": "demo-1", "message": "3027461958302746518"}'
          As a logged-in sample buyer, add a signed token to the message:
            "metadata": {"buyer_token": "$($BIN/python -m bot token chen_hao)"}
  Shell:  .venv/bin/rasa shell --endpoints endpoints.yml  (in another terminal)
  Orders: .venv/bin/python -m bot orders
  Cases:  .venv/bin/python -m bot cases          (the hand-over log; cases close ID)
  Give a conversation handed to a human back to the assistant:
          .venv/bin/python -m bot release SENDER
  Rasa HTTP API token (also in var/rasa_token): $RASA_TOKEN
  socket.io: ws://localhost:$RASA_PORT/socket.io

Ctrl-C stops all three servers.
MSG
# Poll rather than `wait -n`: the servers exit on Ctrl-C themselves, and the
# INT trap must run (after the current `sleep`) before we call that a failure.
while true; do
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: a server stopped; see var/log/" >&2
            exit 1
        fi
    done
    sleep 1
done
