"""python -m web: the shop page and agent assist on $WEB_PORT (8080)."""

from __future__ import annotations

import functools
import logging
import os
import secrets

from aiohttp import web

from bot import settings
from bot.assist import Assistant
from bot.casenotes import CaseNotes
from bot.cli import rasa_token
from bot.identity import buyer_secret
from bot.logmask import install_record_factory
from bot.nlu_client import conversation_slot, parse_ranking
from bot.policy import load_policy
from bot.store import OrderStore
from web.app import Settings, make_app


def agent_token() -> str:
    """$AGENT_TOKEN, else a development token kept in var/agent_token."""
    if os.environ.get("AGENT_TOKEN"):
        return os.environ["AGENT_TOKEN"]
    path = settings.PROJECT_ROOT / "var" / "agent_token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    install_record_factory()  # no phone number or address reaches the log
    policy = load_policy(settings.policy_path())
    rasa_url = os.environ.get("RASA_URL", "http://localhost:5005")
    app = make_app(Settings(
        store=OrderStore.from_url(settings.database_url()),
        assistant=Assistant.from_project(settings.PROJECT_ROOT, CaseNotes.load(settings.case_notes_path()), policy),
        rank=functools.partial(parse_ranking, rasa_url, token=rasa_token()),
        conversation_order=lambda cid: conversation_slot(rasa_url, cid, "order_id", rasa_token()),
        agent_token=agent_token(),
        buyer_secret=buyer_secret(),
        clock=settings.utcnow,
        webchat_dir=settings.PROJECT_ROOT / "node_modules" / "rasa-webchat" / "lib",
        rasa_socket_url=os.environ.get("RASA_PUBLIC_URL", rasa_url),
        demo_login=os.environ.get("DEMO_LOGIN") == "1",
    ))
    web.run_app(app, host=os.environ.get("WEB_HOST", "0.0.0.0"), port=int(os.environ.get("WEB_PORT", "8080")),
                print=None)


if __name__ == "__main__":
    main()
