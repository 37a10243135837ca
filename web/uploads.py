"""Photos from the shop page: ``POST /api/uploads``, and the stored photos for agents.

  POST /api/uploads         multipart: ``file``, ``conversation_id``, ``buyer_token`` (a logged-in
                            buyer). 201 {"id", "case_id", "order_id", "photo_count", "acknowledged"};
                            a refusal is 4xx {"error": 中文, "code": machine code}
                            (bot.shop.uploads.REFUSALS), 503 when Rasa or the database is down.
  GET  /agent/uploads/{id}          the stored photo   } behind the agent token (web.app's
  GET  /agent/uploads/{id}/thumb    its JPEG thumbnail } middleware guards /agent/)

The photo joins the conversation's open case only if the sender owns the
conversation (``OrderAccess.may_add_to``: the conversation's pass for its order was
issued to this buyer, or to an anonymous visitor when no token is sent). Once it
is stored, the assistant acknowledges it in the conversation (Rasa's
``trigger_intent`` with ``EXTERNAL_photo_received``); if Rasa cannot be reached
then, the photo stays stored and the answer says ``"acknowledged": false``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict

import aiohttp
from aiohttp import BodyPartReader, web
from sqlalchemy.exc import SQLAlchemyError

from bot.access.order_access import OrderAccess, verified_account
from bot.shop.cases import CaseLog
from bot.shop.uploads import UploadRefused, Uploads, clean_image
from rasa_adapter.api import RasaUnavailable

logger = logging.getLogger(__name__)

PHOTO_INTENT = "EXTERNAL_photo_received"
MAX_FIELD = 1024  # conversation_id, buyer_token
FORM_OVERHEAD = 16 * 1024  # the multipart headers and text fields beside the photo
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class UploadService:
    uploads: Uploads
    max_bytes: int  # shop.yml uploads.max_megabytes
    buyer_secret: str
    clock: Callable[[], datetime]
    slots: Callable[[str], Dict[str, Any]]  # conversation id → its slots (Rasa's tracker)
    acknowledge: Callable[[str], Any]  # conversation id → the photo said into it (trigger_intent)

    @property
    def cases(self) -> CaseLog:
        return CaseLog(self.uploads.store)


def answer(body: Dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def refusal(exc: UploadRefused) -> web.Response:
    return answer({"error": exc.message, "code": exc.code}, exc.status)


def unavailable(what: str) -> web.Response:
    return answer({"error": "系统暂时忙，照片没有保存，请稍后再发一次。", "code": "unavailable", "detail": what}, 503)


async def read_form(request: web.Request, max_bytes: int) -> Dict[str, Any]:
    """The multipart fields: text fields of at most MAX_FIELD characters, ``file`` as bytes
    (``UploadRefused("too_large")`` beyond ``max_bytes``; read no further than that)."""
    if not request.content_type.startswith("multipart/"):
        raise UploadRefused("missing_field")
    # the whole body, read no further than a photo and its two small fields
    if request.content_length is None:  # a browser's form has a length; no endless body
        raise UploadRefused("bad_form")
    if request.content_length > max_bytes + FORM_OVERHEAD:
        raise UploadRefused("too_large", max_megabytes=max_bytes // (1024 * 1024))
    fields: Dict[str, Any] = {}
    try:
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name not in ("file", "conversation_id", "buyer_token"):
                continue
            limit = max_bytes if part.name == "file" else MAX_FIELD
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data.extend(chunk)
                if len(data) > limit:
                    if part.name == "file":
                        raise UploadRefused("too_large", max_megabytes=max_bytes // (1024 * 1024))
                    raise UploadRefused("bad_form")
            fields[part.name] = bytes(data) if part.name == "file" else data.decode("utf-8", "replace").strip()
    except (ValueError, AssertionError, aiohttp.ClientPayloadError, aiohttp.web.HTTPException) as exc:
        # aiohttp's reader says a broken multipart body (no boundary, cut off) so
        raise UploadRefused("bad_form") from exc
    if not fields.get("file") or not fields.get("conversation_id"):
        raise UploadRefused("missing_field")
    return fields


def add_upload_routes(app: web.Application, service: UploadService) -> None:
    async def upload(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()
        try:
            form = await read_form(request, service.max_bytes)
            conversation = form["conversation_id"]
            now = service.clock()
            try:
                slots = await loop.run_in_executor(None, service.slots, conversation)
                case = await loop.run_in_executor(
                    None, service.cases.open_case_for_evidence, conversation, slots.get("order_id"))
                if case is None:
                    raise UploadRefused("no_open_case")
                account = await loop.run_in_executor(
                    None, verified_account, service.uploads.store, form.get("buyer_token"),
                    service.buyer_secret, now)
                access = OrderAccess(service.uploads.store, account, conversation, service.buyer_secret, now)
                allowed = await loop.run_in_executor(
                    None, access.may_add_to, case, slots.get("order_id"), slots.get("order_checked_for"))
                if not allowed:
                    raise UploadRefused("not_your_conversation")
                image = await loop.run_in_executor(None, clean_image, form["file"], service.max_bytes)
                record = await loop.run_in_executor(None, service.uploads.attach, case, image, now)
                count = await loop.run_in_executor(None, service.uploads.count, case.id)
            except RasaUnavailable as exc:
                logger.warning("upload refused for now: %s", exc)
                return unavailable("rasa")
            except SQLAlchemyError:
                logger.exception("upload refused for now: the shop database")
                return unavailable("database")
        except UploadRefused as exc:
            logger.info("upload refused: %s", exc.code)
            return refusal(exc)
        acknowledged = True
        try:
            await loop.run_in_executor(None, service.acknowledge, conversation)
        except RasaUnavailable as exc:  # the photo is stored: the agent sees it anyway
            logger.warning("photo %s stored, not acknowledged in the conversation: %s", record.id, exc)
            acknowledged = False
        return answer({"id": record.id, "case_id": record.case_id, "order_id": record.order_id,
                       "photo_count": count, "acknowledged": acknowledged}, 201)

    async def photo(request: web.Request) -> web.StreamResponse:
        attachment_id = request.match_info["id"]
        if not ATTACHMENT_ID.match(attachment_id):
            raise web.HTTPNotFound()
        thumbnail = request.path.endswith("/thumb")
        path = await asyncio.get_running_loop().run_in_executor(
            None, service.uploads.path, attachment_id, thumbnail)
        if path is None or not path.exists():
            raise web.HTTPNotFound()
        kind = "jpeg" if thumbnail else path.suffix.lstrip(".")
        return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[kind],
                                               "Cache-Control": "private, max-age=3600"})

    app.router.add_post("/api/uploads", upload)
    app.router.add_get("/agent/uploads/{id}", photo)
    app.router.add_get("/agent/uploads/{id}/thumb", photo)

