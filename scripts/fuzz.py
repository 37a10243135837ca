"""A bounded fuzz run against the running servers (`make fuzz`, or tests/e2e/test_fuzz.py).

Sends generated customer messages with random metadata to Rasa's REST webhook,
generated bodies to every endpoint of the web service, and malformed HTTP
requests (broken JSON, wrong methods, wrong content types, random bytes) to
both; checks every answer and that both servers are still up. Bounded by
--count requests and --seconds. Prints the failures, then one summary line:

    fuzz: requests=N replies=N 4xx=N 5xx=0 errors=0

and exits non-zero on any 5xx, traceback, timeout or dead server.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests

from bot import settings

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")

PHRASES = [
    "我的快递到哪了", "显示签收了但我没收到", "发错货了", "收到的杯子有破损", "能退差价吗", "我要投诉",
    "转人工", "不用了", "换M码", "订单号", "你好", "谢谢", "在吗", "退款什么时候到", "改地址",
    "我的快遞到哪了", "請問", "where is my parcel", "Привет", "こんにちは", "안녕", "مرحبا",
]
HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "'; DROP TABLE orders; --",
    "' OR '1'='1", "{{7*7}}", "${jndi:ldap://x}", "../../etc/passwd", "%s%s%n", "\\u0000",
    "\x00", "\x1b[31m", "\x7f", "\u200b", "\u202e", "\ufeff", "\ud800", "\udfff", "\u3000",
    "😀", "🇨🇳", "👍🏻", "\n", "\t", "  ", "！！！", "？？？", "……",
]
ACCOUNTS = ["chen_hao", "lin_xiaoyu", "wang_fang", "zhao_lei", "liu_yang", "nobody", "", "a.b"]


@dataclass
class Tally:
    requests: int = 0
    replies: int = 0
    client_errors: int = 0
    server_errors: int = 0
    errors: int = 0
    failures: List[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(what)

    def summary(self) -> str:
        return (f"fuzz: requests={self.requests} replies={self.replies} 4xx={self.client_errors} "
                f"5xx={self.server_errors} errors={self.errors}")

    @property
    def ok(self) -> bool:
        return self.server_errors == 0 and self.errors == 0


class Fuzzer:
    def __init__(self, rasa_url: str, web_url: str, agent_token: str, rng: random.Random,
                 timeout: float = 30) -> None:
        self.rasa = rasa_url.rstrip("/")
        self.web = web_url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {agent_token}"}
        self.rng = rng
        self.timeout = timeout
        self.http = requests.Session()

    # -- generators ---------------------------------------------------------------------

    def digits(self) -> str:
        run = "".join(self.rng.choice("0123456789") for _ in range(self.rng.randint(1, 25)))
        return run.translate(str.maketrans("0123456789", "０１２３４５６７８９")) \
            if self.rng.random() < 0.2 else run

    def message(self) -> str:
        kind = self.rng.random()
        if kind < 0.05:
            return ""
        if kind < 0.08:  # long: up to 100,000 characters
            return self.rng.choice(PHRASES) * self.rng.randint(100, 100_000 // 7)
        if kind < 0.15:  # random code points, any plane
            return "".join(chr(self.rng.randint(0, 0x10FFFF)) for _ in range(self.rng.randint(1, 40)))
        parts: List[str] = []
        for _ in range(self.rng.randint(1, 6)):
            parts.append(self.rng.choice([
                self.rng.choice(PHRASES), self.rng.choice(HOSTILE), self.digits(),
                self.rng.choice(["SF", "YT", "JT", "JDV"]) + self.digits(),
            ]))
        return "".join(parts)

    def json_value(self, depth: int = 0) -> Any:
        choices: List[Callable[[], Any]] = [
            lambda: None, lambda: self.rng.random() < 0.5, lambda: self.rng.randint(-10**20, 10**20),
            lambda: self.rng.random() * 1e6, self.message,
        ]
        if depth < 2:
            choices += [lambda: [self.json_value(depth + 1) for _ in range(self.rng.randint(0, 3))],
                        lambda: {self.message()[:20]: self.json_value(depth + 1)
                                 for _ in range(self.rng.randint(0, 3))}]
        return self.rng.choice(choices)()

    def metadata(self) -> Any:
        kind = self.rng.random()
        if kind < 0.4:
            return {}
        if kind < 0.7:
            account = self.rng.choice(ACCOUNTS)
            expiry = self.rng.choice([str(int(time.time()) + 3600), "0", "abc", "９９"])
            return {"buyer_token": f"{account}.{expiry}.{self.message()[:43]}"}
        if kind < 0.9:
            return {"buyer_token": self.json_value(), self.message()[:10]: self.json_value()}
        return self.json_value()  # not an object: refused with a 400

    def random_bytes(self) -> bytes:
        while True:
            data = bytes(self.rng.randint(0, 255) for _ in range(self.rng.randint(1, 200)))
            try:
                parsed = json.loads(data)
            except ValueError:
                return data
            if isinstance(parsed, dict):
                return data

    # -- requests -----------------------------------------------------------------------

    def rest_message(self) -> Tuple[str, str, Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": f"fuzz-{self.rng.randint(0, 30)}", "message": self.message()}
        if self.rng.random() < 0.5:
            body["metadata"] = self.metadata()
        return "POST", f"{self.rasa}/webhooks/rest/webhook", {"data": json.dumps(body)}

    def web_call(self) -> Tuple[str, str, Dict[str, Any]]:
        path = self.rng.choice(["/agent/suggest", "/agent/feedback", "/api/session"])
        if path == "/agent/suggest":
            body: Dict[str, Any] = {"message": self.message()[:3000]}
            for key in ("order_id", "conversation_id", "buyer"):
                if self.rng.random() < 0.3:
                    body[key] = self.rng.choice([self.digits(), self.json_value(),
                                                 "2938475610293840001", f"fuzz-{self.rng.randint(0, 30)}"])
        elif path == "/agent/feedback":
            body = {"message": self.message()[:2500], "intent": self.rng.choice(["greet", "", self.message()]),
                    "verdict": self.rng.choice(["used", "edited", "rejected", "maybe", self.json_value()])}
            for key in ("order_id", "final_text", "agent"):
                if self.rng.random() < 0.3:
                    body[key] = self.json_value()
        else:
            body = {"buyer": self.rng.choice([*ACCOUNTS, self.json_value()])}
        return "POST", f"{self.web}{path}", {"data": json.dumps(body)}

    def malformed(self) -> Tuple[str, str, Dict[str, Any]]:
        paths = [f"{self.rasa}/webhooks/rest/webhook", f"{self.rasa}/webhooks/rest/",
                 f"{self.web}/agent/suggest", f"{self.web}/agent/feedback", f"{self.web}/agent/orders",
                 f"{self.web}/api/session", f"{self.web}/api/buyers", f"{self.web}/", f"{self.web}/agent",
                 f"{self.web}/static/../web/app.py", f"{self.web}/{self.message()[:30]}"]
        url = self.rng.choice(paths)
        bodies: List[Any] = ["{not json", '{"message": ', self.random_bytes(),
                             "a" * self.rng.choice([10, 70_000, 300_000]),
                             "", "[1, 2]", "null", '"text"', "42", json.dumps(self.json_value())]
        method = self.rng.choice(["POST", "POST", "GET", "PUT", "DELETE", "PATCH"])
        headers = {"Content-Type": self.rng.choice(
            ["application/json", "text/plain", "application/x-www-form-urlencoded",
             "multipart/form-data; boundary=x", "application/json; charset=latin-1", ""])}
        return method, url, {"data": self.rng.choice(bodies), "headers": headers}

    def one(self) -> Tuple[str, str, Dict[str, Any]]:
        kind = self.rng.random()
        if kind < 0.5:
            return self.rest_message()
        if kind < 0.8:
            return self.web_call()
        return self.malformed()

    def send(self, tally: Tally, method: str, url: str, kwargs: Dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", **self.auth, **kwargs.pop("headers", {})}
        tally.requests += 1
        try:
            response = self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            tally.errors += 1
            tally.fail(f"{method} {url}: {type(exc).__name__}: {exc}")
            return
        status = response.status_code
        if status >= 500:
            tally.server_errors += 1
            tally.fail(f"{method} {url} -> {status}: {response.text[:200]!r} (sent {str(kwargs)[:200]})")
        elif status >= 400:
            tally.client_errors += 1
        else:
            tally.replies += 1
        if TRACEBACK.search(response.text):
            tally.errors += 1
            tally.fail(f"{method} {url} -> a traceback in the body: {response.text[:300]!r}")

    def alive(self, tally: Tally) -> bool:
        for url in (f"{self.rasa}/", f"{self.web}/"):
            try:
                ok = requests.get(url, timeout=self.timeout).ok
            except requests.RequestException:
                ok = False
            if not ok:
                tally.errors += 1
                tally.fail(f"{url} is down")
                return False
        return True


def run(rasa_url: str, web_url: str, agent_token: str, count: int, seconds: float, seed: int) -> Tally:
    fuzzer = Fuzzer(rasa_url, web_url, agent_token, random.Random(seed))
    tally = Tally()
    deadline = time.monotonic() + seconds
    while tally.requests < count and time.monotonic() < deadline:
        method, url, kwargs = fuzzer.one()
        fuzzer.send(tally, method, url, kwargs)
        if tally.requests % 50 == 0 and not fuzzer.alive(tally):
            return tally
    fuzzer.alive(tally)
    return tally


def up(url: str) -> bool:
    try:
        return requests.get(f"{url.rstrip('/')}/", timeout=5).ok
    except requests.RequestException:
        return False


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", default=settings.rasa_url(), help="default: $RASA_URL, else make run's")
    parser.add_argument("--web", default=settings.web_url(), help="default: $WEB_URL, else make run's")
    parser.add_argument("--agent-token", default=None, help="default: $AGENT_TOKEN or var/agent_token")
    parser.add_argument("--count", type=int, default=500, help="at most this many requests")
    parser.add_argument("--seconds", type=float, default=120, help="and for at most this long")
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randint(0, 2**31)
    # the servers' own token; not made here if missing (the agent calls are then refused)
    token = args.agent_token if args.agent_token is not None else settings.dev_secret("agent_token", create=False)
    down = [url for url in (args.rasa, args.web) if not up(url)]
    if down:
        print(f"error: nothing answers at {', '.join(down)}: start the servers first with "
              "'make run' (in another terminal)", file=sys.stderr)
        return 1
    print(f"fuzzing {args.rasa} and {args.web}: up to {args.count} requests in {args.seconds:.0f} s, "
          f"seed {seed}", flush=True)
    started = time.monotonic()
    tally = run(args.rasa, args.web, token, args.count, args.seconds, seed)
    for failure in tally.failures:
        print(f"  FAIL {failure}")
    print(f"  {tally.requests} requests in {time.monotonic() - started:.1f} s")
    print(tally.summary())
    return 0 if tally.ok else 1


if __name__ == "__main__":
    sys.exit(main())
