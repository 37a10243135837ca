"""TRAINING.md's walk-through, followed literally on a copy and trained (once, ~80 s):
the new intent answers invoice questions, out-of-scope questions stay out of scope."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

from bot.settings import PROJECT_ROOT
from tests.unit.test_trainer_mistakes import copy_project
from tests.unit.test_training_walkthrough import follow

pytestmark = pytest.mark.e2e


def test_the_walkthrough_gives_a_working_intent(tmp_path):
    from rasa.core.agent import Agent

    root = copy_project(tmp_path / "copy")
    follow(root)
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "rasa"), "train", "--out", str(tmp_path / "models"),
         "--fixed-model-name", "walkthrough"],
        cwd=root, capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    agent = Agent.load(str(tmp_path / "models" / "walkthrough.tar.gz"))
    loop = asyncio.new_event_loop()

    def intent(text: str) -> str:
        return loop.run_until_complete(agent.parse_message(text))["intent"]["name"]

    # the conversation test's sentence and the held-out ones
    invoice = ["我买的东西能开张发票吗", "请问电子发票怎么开具", "发票没收到，麻烦补开一张",
               "能开个带税号的发票吗", "發票什麼時候能開好", "我们公司要报销，帮忙开张票"]
    understood = [intent(t) for t in invoice]
    assert understood.count("invoice_request") >= 5, understood
    assert intent("讲个笑话") == "out_of_scope"
    replies = loop.run_until_complete(agent.handle_text("发票怎么开", sender_id="walkthrough"))
    assert any("申请开票" in r.get("text", "") for r in replies or []), replies
