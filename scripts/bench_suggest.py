"""Latency of POST /agent/suggest on a running `make run`: p50/p95 over N calls.

  .venv/bin/python scripts/bench_suggest.py [--url http://127.0.0.1:8080] [-n 100]
Uses the servers' agent token ($AGENT_TOKEN, else var/agent_token, through bot.settings).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import requests

from bot import settings

MESSAGES = [
    ("显示签收了但我没收到", "2938475610293840001"),
    ("我的快递到哪了", "3027461958302746518"),
    ("你们发错货了，颜色不对", "2938475610293840001"),
    ("收到的杯子有破损", "7700112233445566778"),
    ("刚买就降价了，能退差价吗", "7700112233445566778"),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=settings.web_url(), help="default: $WEB_URL, else make run's")
    parser.add_argument("-n", type=int, default=100)
    args = parser.parse_args()
    token = settings.dev_secret("agent_token", create=False)
    if not token:
        print("error: no agent token ($AGENT_TOKEN or var/agent_token): start the servers with `make run`",
              file=sys.stderr)
        return 1
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    times, errors = [], 0
    for i in range(args.n):
        message, order_id = MESSAGES[i % len(MESSAGES)]
        started = time.perf_counter()
        response = session.post(f"{args.url}/agent/suggest", json={"message": message, "order_id": order_id}, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        errors += response.status_code != 200
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"agent suggest: n={args.n} p50={p50:.1f}ms p95={p95:.1f}ms max={times[-1]:.1f}ms errors={errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
