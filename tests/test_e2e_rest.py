"""End to end over the REST channel: the real Rasa server, action server and database.

Starts ``rasa run actions`` and ``rasa run`` with the trained model on free
ports, against a fresh sample database, and talks to them as a customer would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

MODEL = Path(os.environ.get("AFTERSALES_MODEL", PROJECT_ROOT / "models" / "aftersales.tar.gz"))
RASA = Path(sys.executable).with_name("rasa")
START_TIMEOUT = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, procs: List[subprocess.Popen], logs: List[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=False):
            if proc.poll() is not None:
                pytest.fail(f"a server exited while starting:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not come up in {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    tmp = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SHOP_DATABASE_URL": f"sqlite:///{tmp / 'shop.db'}",
    }
    subprocess.run([sys.executable, "-m", "bot", "init-db"], env=env, check=True, cwd=PROJECT_ROOT)
    action_port, rasa_port = free_port(), free_port()
    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n')
    logs = [tmp / "actions.log", tmp / "rasa.log"]
    commands = [
        [str(RASA), "run", "actions", "--actions", "actions", "--port", str(action_port)],
        [str(RASA), "run", "--model", str(MODEL), "--port", str(rasa_port),
         "--credentials", "credentials.yml", "--endpoints", str(endpoints)],
    ]
    procs = [
        subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        for cmd, log in zip(commands, logs, strict=False)
    ]
    try:
        wait_until_up(f"http://127.0.0.1:{action_port}/health", procs, logs)
        wait_until_up(f"http://127.0.0.1:{rasa_port}/", procs, logs)
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class Customer:
    def __init__(self, url: str, sender: str | None = None) -> None:
        self.url = f"{url}/webhooks/rest/webhook"
        self.sender = sender or f"visitor-{uuid.uuid4().hex[:8]}"

    def says(self, text: str) -> str:
        response = requests.post(self.url, json={"sender": self.sender, "message": text}, timeout=30)
        response.raise_for_status()
        messages: List[Dict[str, str]] = response.json()
        return "\n".join(m.get("text", "") for m in messages)


def test_track_parcel_asks_for_the_number_then_answers_with_the_facts(rasa_url):
    customer = Customer(rasa_url)
    assert "订单号" in customer.says("我的快递到哪了")
    reply = customer.says("3027461958302746518")
    assert "773029384756102" in reply
    assert "中通快递" in reply
    assert "上海浦东张江网点" in reply  # the latest tracking event


def test_a_second_question_about_the_same_order_needs_no_number(rasa_url):
    customer = Customer(rasa_url)
    customer.says("帮我查一下订单3027461958302746518的物流")
    reply = customer.says("显示签收了但我没收到")
    assert "还没有签收" in reply and "773029384756102" in reply


def test_signed_not_received_names_who_signed(rasa_url):
    reply = Customer(rasa_url).says("订单2938475610293840001显示签收了，可是我没收到")
    assert "小区门卫" in reply
    assert "申通快递" in reply
    assert "前一定给您答复" in reply


def test_wrong_item_by_tracking_number(rasa_url):
    customer = Customer(rasa_url)
    assert "订单号" in customer.says("你们发错货了")
    reply = customer.says("快递单号是YT7391028374651")
    assert "左旋肉碱胶囊（60粒）×2" in reply
    assert "面单" in reply and "文一西路1888号" in reply


def test_quality_issue_for_a_buyer_with_one_recent_order(rasa_url):
    reply = Customer(rasa_url, sender="chen_hao").says("收到的东西坏了，有破损")
    assert "您最近一笔订单是 1829374650192837465" in reply
    assert "照片" in reply and "来回运费" in reply


def test_refund_after_shipping_while_out_for_delivery(rasa_url):
    reply = Customer(rasa_url).says("订单2938475610293847561已经发货了我不想要了，能退款吗")
    assert "拒签" in reply and "SF1402938475999" in reply


def test_a_malformed_then_unknown_number_gets_another_chance(rasa_url):
    customer = Customer(rasa_url)
    customer.says("我的快递到哪了")
    assert "只有8位" in customer.says("12345678")
    assert "没有查到" in customer.says("1111222233334444555")
    assert "773029384756102" in customer.says("3027461958302746518")


def test_a_known_buyer_cannot_read_another_buyers_order(rasa_url):
    reply = Customer(rasa_url, sender="chen_hao").says("订单3027461958302746518到哪了")
    assert "773029384756102" not in reply and "中通" not in reply
    assert "没有查到" in reply
