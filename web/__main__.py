"""python -m web: the shop page, agent assist and the agents' workbench on $WEB_PORT (8080)."""

from __future__ import annotations

import functools
import logging
import os

from aiohttp import web
from sqlalchemy import create_engine

from bot import settings
from bot.logmask import install_record_factory
from bot.playbook.casenotes import CaseNotes
from bot.playbook.clarify import TOPICS
from bot.playbook.policy import load_policy
from bot.shop.store import OrderStore
from bot.shop.uploads import Uploads
from evaluation.review import domain_intents
from rasa_adapter.api import (
    conversation_slot,
    conversation_slots,
    notice_sayer,
    parse_ranking,
    trigger_intent,
)
from rasa_adapter.conversations import RasaConversations, TrackerIndex, tracker_store_url
from rasa_adapter.project_files import agent_assist
from web.app import Settings, make_app
from web.notices import add_notice_retry
from web.review import ReviewDesk
from web.uploads import PHOTO_INTENT, UploadService
from web.workbench import Bench


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    install_record_factory()  # no phone number or address reaches the log
    policy = load_policy(settings.policy_path())
    rasa_url = settings.rasa_url()
    rasa_token = settings.rasa_token()
    store = OrderStore.from_url(settings.database_url())
    store.create_schema()  # the workbench's tables in a shop made before them
    assistant = agent_assist(CaseNotes.load(settings.case_notes_path()), policy)
    tracker_url = tracker_store_url(settings.rasa_endpoints_path(), settings.PROJECT_ROOT)
    index = TrackerIndex(create_engine(tracker_url, future=True)) if tracker_url else None
    app = make_app(Settings(
        store=store,
        assistant=assistant,
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
        workbench=Bench(
            store=store, assistant=assistant, clock=settings.utcnow,
            conversations=RasaConversations(rasa_url, rasa_token),
            index=index,
        ),
        review=ReviewDesk(store=store, nlu=settings.training_nlu_path(), intents=domain_intents(),
                          clock=settings.utcnow, traffic=index.unsure_messages if index else None,
                          latest_event=index.latest_id if index else None,
                          titles={intent: assistant.fill(response, {}) for intent, response in TOPICS.items()
                                  if response in assistant.responses}),
    ))
    add_notice_retry(app, store, notice_sayer(rasa_url, rasa_token), settings.utcnow, settings.notice_retry_seconds())
    web.run_app(app, host=settings.host(), port=settings.web_port(),
                print=None)


if __name__ == "__main__":
    main()
