"""bot/settings.py: the one place settings and development secrets are read."""

import stat

import pytest

from bot import settings


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setenv("AFTERSALES_VAR", str(tmp_path))
    for env in settings.SECRETS.values():
        monkeypatch.delenv(env, raising=False)
    return tmp_path


def test_a_development_secret_is_made_once_owner_only_and_safe_on_a_command_line(var):
    first = settings.rasa_token()
    assert settings.rasa_token() == first
    assert stat.S_IMODE((var / "rasa_token").stat().st_mode) == 0o600
    # it is passed as `rasa run --auth-token VALUE`: a leading "-" would read as an option
    assert all(c in "0123456789abcdef" for c in first) and len(first) == 64


def test_the_environment_wins_and_nothing_is_written(var, monkeypatch):
    monkeypatch.setenv("AGENT_TOKEN", "from-env")
    assert settings.agent_token() == "from-env"
    assert not (var / "agent_token").exists()


def test_without_create_a_missing_secret_is_empty(var):
    assert settings.dev_secret("buyer_secret", create=False) == ""
    assert not (var / "buyer_secret").exists()


def test_servers_listen_on_loopback_unless_told(monkeypatch):
    monkeypatch.delenv("AFTERSALES_HOST", raising=False)
    assert settings.host() == "127.0.0.1"
    monkeypatch.setenv("AFTERSALES_HOST", "0.0.0.0")
    assert settings.host() == "0.0.0.0"
