"""python -m web: the shop page and agent assist on $WEB_PORT (8080)."""

from __future__ import annotations

import functools
import logging
import os

from aiohttp import web

from bot import settings
from bot.logmask import install_record_factory
from bot.playbook.casenotes import CaseNotes
from bot.playbook.policy import load_policy
from bot.shop.store import OrderStore
from bot.shop.uploads import Uploads
from rasa_adapter.api import conversation_slot, conversation_slots, parse_ranking, trigger_intent
from rasa_adapter.project_files import agent_assist
from web.app import Settings, make_app
from web.uploads import PHOTO_INTENT, UploadService


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    install_record_factory()  # no phone number or address reaches the log
    policy = load_policy(settings.policy_path())
    rasa_url = settings.rasa_url()
    rasa_token = settings.rasa_token()
    store = OrderStore.from_url(settings.database_url())
    app = make_app(Settings(
        store=store,
        assistant=agent_assist(CaseNotes.load(settings.case_notes_path()), policy),
        rank=functools.partial(parse_ranking, rasa_url, token=rasa_token),
        conversation_order=lambda cid: conversation_slot(rasa_url, cid, "order_id", rasa_token),
        agent_token=settings.agent_token(),
        buyer_secret=settings.buyer_secret(),
        clock=settings.utcnow,
        webchat_dir=settings.PROJECT_ROOT / "node_modules" / "rasa-webchat" / "lib",
        rasa_socket_url=os.environ.get("RASA_PUBLIC_URL", rasa_url),
        demo_login=os.environ.get("DEMO_LOGIN") == "1",
        shop_name=policy.shop_name,
        uploads=UploadService(
            uploads=Uploads(store, settings.uploads_dir(), policy.uploads_per_case),
            max_bytes=policy.upload_max_bytes,
            buyer_secret=settings.buyer_secret(),
            clock=settings.utcnow,
            slots=lambda cid: conversation_slots(rasa_url, cid, rasa_token),
            acknowledge=lambda cid: trigger_intent(rasa_url, cid, PHOTO_INTENT, {}, rasa_token),
        ),
    ))
    web.run_app(app, host=settings.host(), port=settings.web_port(),
                print=None)


if __name__ == "__main__":
    main()
