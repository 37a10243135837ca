"""A small, seeded fuzz run (scripts/fuzz.py) against the test servers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT
from tests.helpers.servers import AGENT_TOKEN

pytestmark = pytest.mark.e2e


def test_a_bounded_fuzz_run_finds_no_5xx_and_no_dead_server(rasa_url, web_url):
    result = subprocess.run(
        [sys.executable, "scripts/fuzz.py", "--rasa", rasa_url, "--web", web_url,
         "--agent-token", AGENT_TOKEN, "--count", "120", "--seconds", "25", "--seed", "2026"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},  # the script imports the project's packages
    )
    print(result.stdout)
    summary = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"fuzz: requests=(\d+) replies=(\d+) 4xx=(\d+) 5xx=(\d+) errors=(\d+)", summary)
    assert match, result.stdout + result.stderr
    requests_, replies, client_errors, server_errors, errors = map(int, match.groups())
    assert result.returncode == 0, result.stdout
    assert (server_errors, errors) == (0, 0)
    assert replies + client_errors == requests_  # every request answered
    assert replies > 0 and client_errors > 0  # both good and malformed requests were sent
