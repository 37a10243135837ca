"""Named agents, their tokens (hashed), the action log, and who holds a conversation."""

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.shop.schema import Agent
from bot.workbench.agents import DEV_AGENT, AgentDirectory, AgentExists, AgentLog
from bot.workbench.holds import HeldByOther, Holds
from tests.helpers.shop import NOW


def test_an_added_agent_signs_in_with_the_token_stored_only_hashed(store):
    agents = AgentDirectory(store, dev_token="dev-token")
    token = agents.add("xiaowang", NOW, supervisor=True)
    me = agents.authenticate(token)
    assert me is not None and me.name == "xiaowang" and me.supervisor
    with store.session() as s:
        stored = s.execute(select(Agent)).scalar_one()
    assert token not in (stored.token_hash, stored.name) and len(stored.token_hash) == 64
    assert agents.authenticate(token + "x") is None and agents.authenticate("") is None
    assert agents.authenticate("dev-token").name == DEV_AGENT


@pytest.mark.parametrize("name", ["", "a b", "<script>", "x" * 33, DEV_AGENT])
def test_an_agent_name_is_plain(store, name):
    with pytest.raises(ValueError):
        AgentDirectory(store).add(name, NOW)


def test_two_agents_cannot_share_a_name(store):
    AgentDirectory(store).add("li", NOW)
    with pytest.raises(AgentExists):
        AgentDirectory(store).add("li", NOW)


def test_one_agent_holds_a_conversation_at_a_time(store):
    holds = Holds(store)
    assert holds.take("c1", "li", NOW) is True
    assert holds.take("c1", "li", NOW) is False  # already hers
    with pytest.raises(HeldByOther) as other:
        holds.take("c1", "wang", NOW)
    assert other.value.holder == "li"
    assert holds.drop("c1", "wang") is False and holds.holder("c1") == "li"
    assert holds.drop("c1", "li") is True and holds.holder("c1") is None
    assert holds.take("c1", "wang", NOW) is True and holds.all() == {"c1": "wang"}


def test_every_action_is_logged_with_the_name(store):
    log = AgentLog(store)
    log.record("li", "takeover", NOW, "c1")
    log.record("li", "send", NOW, "c1", "edited")
    assert [(r.agent, r.action, r.detail) for r in log.recent()] == [("li", "send", "edited"), ("li", "takeover", "")]


def test_the_agents_command_prints_a_token_that_signs_in(store, capsys):
    url = str(store.engine.url)
    assert main(["--db", url, "agents", "add", "zhao", "--supervisor"]) == 0
    token = capsys.readouterr().out.strip()
    assert AgentDirectory(store).authenticate(token).name == "zhao"
    assert main(["--db", url, "agents", "add", "zhao"]) == 1
    assert main(["--db", url, "agents"]) == 0
    assert "zhao  (主管)" in capsys.readouterr().out
