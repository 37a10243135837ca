"""Customers' photos: checked, re-encoded, stored by id and attached to their case.

A photo is taken only when its bytes are a JPEG, PNG or WebP (the name and the
Content-Type the client sends are ignored), it decodes completely, and it is not a
decompression bomb. What is stored is Pillow's re-encoding of the pixels alone: EXIF
(with any GPS position), ICC profiles, comments and trailing bytes are gone. Files
are named by a random id, never by the client's name, and are owner-only (0600 in
0700 folders).

An accepted photo is never lost: the file (and its thumbnail) is written and
fsynced before the database row is committed; a photo whose row could not be
committed is removed again, so the row is the proof the file exists.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import List, Optional

from PIL import Image, ImageOps
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.settings import private_dir
from bot.shop.cases import OPEN_FOR_EVIDENCE, CaseRecord
from bot.shop.schema import Attachment, Case
from bot.shop.store import OrderStore

# the stored format of each kind, and what a file of it starts with
KINDS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
MAX_PIXELS = 50_000_000  # a 50-megapixel phone photo; far beyond is a bomb
MAX_SIDE = 4096  # longer photos are scaled down to this when stored
THUMB_SIDE = 320
REFUSALS = {
    # code: (HTTP status, what the customer reads)
    "missing_field": (400, "请选择一张照片再上传。"),
    "bad_form": (400, "照片没有完整传上来，请重新选择照片再发一次。"),
    "unsupported_type": (415, "只能上传 JPEG、PNG 或 WebP 格式的照片。"),
    "too_large": (413, "照片不能超过 {max_megabytes} MB，请压缩后再发。"),
    "corrupt_image": (422, "这张照片无法打开，可能已经损坏，请重新拍一张再发。"),
    "image_too_big": (422, "这张照片的尺寸太大了，请缩小后再发。"),
    "too_many_files": (409, "这个售后已经收到 {per_case} 张照片，不能再上传了；还有要补充的请直接告诉客服。"),
    "not_your_conversation": (403, "只能给您自己的对话上传照片。"),
    "no_open_case": (409, "这个对话里还没有需要照片的售后，请先告诉我遇到了什么问题。"),
}


class UploadRefused(Exception):
    """A photo that is not taken: ``code`` for machines, ``message`` (Chinese) for the customer."""

    def __init__(self, code: str, **facts: object) -> None:
        self.code = code
        self.status, template = REFUSALS[code]
        self.message = template.format(**facts)
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class CleanImage:
    kind: str  # a key of KINDS
    data: bytes  # the re-encoded file
    thumbnail: bytes  # a JPEG of at most THUMB_SIDE pixels
    width: int
    height: int


def sniff(data: bytes) -> Optional[str]:
    """The kind of image ``data`` is by its first bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def clean_image(data: bytes, max_bytes: int) -> CleanImage:
    """``data`` decoded and re-encoded without metadata; ``UploadRefused`` when it is not
    a whole JPEG, PNG or WebP of at most ``max_bytes`` and ``MAX_PIXELS``."""
    if len(data) > max_bytes:
        raise UploadRefused("too_large", max_megabytes=max_bytes // (1024 * 1024))
    kind = sniff(data)
    if kind is None:
        raise UploadRefused("unsupported_type")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            opened = Image.open(io.BytesIO(data), formats=[KINDS[kind]])
            if opened.width * opened.height > MAX_PIXELS:
                raise UploadRefused("image_too_big")
            opened.load()
            image = ImageOps.exif_transpose(opened)  # turned as the camera meant, tag dropped
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRefused("image_too_big") from exc
        except UploadRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - Pillow reports a broken file in many ways
            raise UploadRefused("corrupt_image") from exc
    alpha = kind != "jpeg" and ("A" in image.getbands() or "transparency" in image.info)
    pixels = image.convert("RGBA" if alpha else "RGB")
    if max(pixels.size) > MAX_SIDE:
        pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    pixels.info = {}  # nothing of the original's metadata is written again
    out = io.BytesIO()
    options = {"quality": 90} if kind in ("jpeg", "webp") else {"optimize": True}
    pixels.save(out, format=KINDS[kind], **options)
    thumb = pixels.convert("RGB")
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return CleanImage(kind=kind, data=out.getvalue(), thumbnail=thumb_out.getvalue(),
                      width=pixels.width, height=pixels.height)


@dataclass(frozen=True)
class AttachmentRecord:
    id: str
    case_id: int
    conversation_id: str
    order_id: Optional[str]
    kind: str
    width: int
    height: int
    size: int
    created_at: datetime

    @property
    def url(self) -> str:
        """Where an agent reads the photo (the web service, behind the agent token)."""
        return f"/agent/uploads/{self.id}"

    @property
    def thumbnail_url(self) -> str:
        return f"/agent/uploads/{self.id}/thumb"

    def as_dict(self) -> dict:
        return {"id": self.id, "case_id": self.case_id, "order_id": self.order_id,
                "kind": self.kind, "width": self.width, "height": self.height, "size": self.size,
                "created_at": self.created_at.isoformat(), "url": self.url,
                "thumbnail_url": self.thumbnail_url}


def _record(row: Attachment) -> AttachmentRecord:
    return AttachmentRecord(id=row.id, case_id=row.case_id, conversation_id=row.conversation_id,
                            order_id=row.order_id, kind=row.kind, width=row.width,
                            height=row.height, size=row.size, created_at=row.created_at)


def _write_durably(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` (0600) once this returns, even after a crash or power loss."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def photo_count(store: OrderStore, case_id: int) -> int:
    """How many photos a case has."""
    with store.session() as s:
        return Uploads._count(s, case_id)


class Uploads:
    """The photos of the cases: files under ``folder``, rows in the shop database."""

    def __init__(self, store: OrderStore, folder: Path, per_case: int) -> None:
        self.store = store
        self.folder = Path(folder)
        self.per_case = per_case

    def path(self, attachment_id: str, thumbnail: bool = False) -> Optional[Path]:
        """The stored file of an attachment, or None for an unknown id."""
        with self.store.session() as s:
            row = s.get(Attachment, attachment_id)
            if row is None:
                return None
            return self._path(row.id, "thumb.jpg" if thumbnail else row.kind)

    def _path(self, attachment_id: str, suffix: str) -> Path:
        return self.folder / attachment_id[:2] / f"{attachment_id}.{suffix}"

    def count(self, case_id: int) -> int:
        return photo_count(self.store, case_id)

    @staticmethod
    def _count(session: Session, case_id: int) -> int:
        return int(session.execute(
            select(func.count(Attachment.id)).where(Attachment.case_id == case_id)).scalar_one())

    def attach(self, case: CaseRecord, image: CleanImage, now: datetime) -> AttachmentRecord:
        """Store ``image`` on ``case``: the files first (fsynced), then the row, committed.

        ``UploadRefused("too_many_files")`` when the case has its photos already, or
        ``no_open_case`` when it was closed meanwhile; the files are removed then.
        """
        if self.count(case.id) >= self.per_case:
            raise UploadRefused("too_many_files", per_case=self.per_case)
        attachment_id = secrets.token_hex(16)
        private_dir(private_dir(self.folder) / attachment_id[:2])
        files = [self._path(attachment_id, image.kind), self._path(attachment_id, "thumb.jpg")]
        try:
            _write_durably(files[0], image.data)
            _write_durably(files[1], image.thumbnail)
            with self.store.transaction() as s:
                # the case row is written first: its lock (a row lock on PostgreSQL, the
                # write lock on SQLite) makes two photos for one case take turns, so the
                # count below sees the other's and two at once never make a seventh
                touched = s.execute(update(Case).where(
                    Case.id == case.id, Case.state.in_(OPEN_FOR_EVIDENCE)).values(updated_at=now))
                if not touched.rowcount:
                    raise UploadRefused("no_open_case")
                if self._count(s, case.id) >= self.per_case:
                    raise UploadRefused("too_many_files", per_case=self.per_case)
                attachment = Attachment(
                    id=attachment_id, case_id=case.id, conversation_id=case.conversation_id,
                    order_id=case.order_id, kind=image.kind, width=image.width,
                    height=image.height, size=len(image.data),
                    sha256=hashlib.sha256(image.data).hexdigest(), created_at=now)
                s.add(attachment)
                s.flush()
                record = _record(attachment)
        except BaseException:
            for path in files:
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".part").unlink(missing_ok=True)
            raise
        return record

    def for_case(self, case_id: int) -> List[AttachmentRecord]:
        return attachments_of_case(self.store, case_id)

    def for_order(self, order_id: str) -> List[AttachmentRecord]:
        return attachments_of_order(self.store, order_id)


def _attachments(store: OrderStore, where) -> List[AttachmentRecord]:
    with store.session() as s:
        rows = s.execute(select(Attachment).where(where).order_by(Attachment.created_at, Attachment.id)).scalars()
        return [_record(r) for r in rows]


def attachments_of_case(store: OrderStore, case_id: int) -> List[AttachmentRecord]:
    """A case's photos, oldest first, each with its id, ``url`` and ``thumbnail_url``
    (``as_dict()`` for JSON): what the agent's order card shows."""
    return _attachments(store, Attachment.case_id == case_id)


def latest_attachment(store: OrderStore, conversation_id: str) -> Optional[AttachmentRecord]:
    """The photo a conversation sent last (the one an acknowledgement is about)."""
    with store.session() as s:
        row = s.execute(select(Attachment).where(Attachment.conversation_id == conversation_id)
                        .order_by(Attachment.created_at.desc(), Attachment.id.desc()).limit(1)).scalar()
        return _record(row) if row is not None else None


def attachments_of_order(store: OrderStore, order_id: str) -> List[AttachmentRecord]:
    """Every photo sent about an order, in any of its cases, oldest first (as ``attachments_of_case``)."""
    return _attachments(store, Attachment.order_id == order_id)
