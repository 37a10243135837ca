"""bot/shop/uploads.py: what a photo must be, what is stored of it, and that it is never lost."""

import io
import os
import stat
from datetime import timedelta

import pytest
from PIL import Image

from bot.shop.cases import CaseLog, CaseState
from bot.shop.uploads import (
    MAX_PIXELS,
    UploadRefused,
    Uploads,
    attachments_of_case,
    clean_image,
    sniff,
)
from tests.helpers.images import ELF, GPS_IFD, photo, png_bomb
from tests.helpers.shop import NOW

MB = 1024 * 1024


def refused(data, max_bytes=5 * MB):
    with pytest.raises(UploadRefused) as caught:
        clean_image(data, max_bytes)
    return caught.value


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_a_photo_is_re_encoded_without_exif_or_position(kind):
    original = photo(kind)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # it had a position
    clean = clean_image(original, 5 * MB)
    stored = Image.open(io.BytesIO(clean.data))
    assert stored.format == kind and stored.size == (640, 480) == (clean.width, clean.height)
    assert dict(stored.getexif()) == {} and not stored.getexif().get_ifd(GPS_IFD)
    assert b"TestPhone" not in clean.data and b"Exif" not in clean.data
    assert Image.open(io.BytesIO(clean.thumbnail)).format == "JPEG"
    assert max(Image.open(io.BytesIO(clean.thumbnail)).size) <= 320


def test_the_type_is_read_from_the_content():
    assert sniff(photo("JPEG")) == "jpeg" and sniff(photo("PNG")) == "png" and sniff(photo("WEBP")) == "webp"
    assert refused(ELF).code == "unsupported_type"  # an executable, whatever it is called
    assert refused(b"%PDF-1.7\n" + b"x" * 100).code == "unsupported_type"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert refused(gif.getvalue()).status == 415


def test_corrupt_images_are_refused():
    jpeg = photo("JPEG", size=(1200, 900))
    assert refused(jpeg[: len(jpeg) // 2]).code == "corrupt_image"  # cut off
    assert refused(b"\xff\xd8\xff" + b"\x00" * 500).code == "corrupt_image"  # the magic alone
    png = bytearray(photo("PNG"))
    png[40:60] = b"\xff" * 20  # a damaged chunk
    assert refused(bytes(png)).code == "corrupt_image"


@pytest.mark.parametrize("side", [9000, 40_000])  # beyond MAX_PIXELS; beyond Pillow's own bomb limit
def test_decompression_bombs_are_refused_before_decoding(side):
    assert side * side > MAX_PIXELS
    error = refused(png_bomb(side))
    assert (error.code, error.status) == ("image_too_big", 422) and "尺寸太大" in error.message


def test_an_oversized_file_is_refused_with_the_limit_said():
    error = refused(photo(), max_bytes=1000)
    assert (error.code, error.status) == ("too_large", 413)
    refusal = refused(b"\xff\xd8\xff" + b"\x00" * (5 * MB))
    assert "5 MB" in refusal.message


def open_case(store, conversation="conv-1", state=CaseState.WAITING_CUSTOMER):
    return CaseLog(store).register(conversation_id=conversation, intent="wrong_item", state=state,
                                   next_step="等照片", note="疑似发错货", now=NOW,
                                   order_id="2938475610293840001", buyer_account="wang_fang")


def test_an_accepted_photo_is_stored_owner_only_and_survives_a_restart(store, tmp_path):
    folder = tmp_path / "uploads"
    case = open_case(store)
    old = os.umask(0)  # owner-only whatever the umask
    try:
        record = Uploads(store, folder, per_case=6).attach(case, clean_image(photo(), 5 * MB), NOW)
    finally:
        os.umask(old)
    path = folder / record.id[:2] / f"{record.id}.jpeg"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name(f"{record.id}.thumb.jpg").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 == stat.S_IMODE(folder.stat().st_mode)
    assert not list(folder.rglob("*.part")) and "photo" not in path.name
    # another process (a restart): the row and the file are there
    again = type(store).from_url(str(store.engine.url))
    uploads = Uploads(again, folder, per_case=6)
    assert [a.id for a in uploads.for_case(case.id)] == [record.id]
    assert attachments_of_case(again, case.id)[0].as_dict()["url"] == f"/agent/uploads/{record.id}"
    assert [a.as_dict()["thumbnail_url"] for a in uploads.for_order("2938475610293840001")] == [
        f"/agent/uploads/{record.id}/thumb"]
    assert uploads.path(record.id) == path and Image.open(path).size == (640, 480)
    assert uploads.path(record.id, thumbnail=True).exists()
    again.engine.dispose()


def test_a_case_takes_at_most_its_photos(store, tmp_path):
    case = open_case(store)
    uploads = Uploads(store, tmp_path / "up", per_case=2)
    image = clean_image(photo(), 5 * MB)
    uploads.attach(case, image, NOW)
    uploads.attach(case, image, NOW + timedelta(seconds=1))
    with pytest.raises(UploadRefused) as caught:
        uploads.attach(case, image, NOW + timedelta(seconds=2))
    assert caught.value.code == "too_many_files" and "2 张" in caught.value.message
    assert uploads.count(case.id) == 2 and len(list((tmp_path / "up").rglob("*.jpeg"))) == 2


def test_a_photo_for_a_case_closed_meanwhile_leaves_no_file(store, tmp_path):
    case = open_case(store)
    CaseLog(store).close(case.id, NOW)
    with pytest.raises(UploadRefused) as caught:
        Uploads(store, tmp_path / "up", per_case=6).attach(case, clean_image(photo(), 5 * MB), NOW)
    assert caught.value.code == "no_open_case"
    assert [p for p in (tmp_path / "up").rglob("*") if p.is_file()] == []


def test_the_open_case_for_evidence_prefers_the_one_waiting_for_the_customer(store):
    log = CaseLog(store)
    assert log.open_case_for_evidence("conv-1") is None
    waiting = open_case(store)
    log.register(conversation_id="conv-1", intent="track_parcel", state=CaseState.RESOLVED, next_step="无",
                 note="查件", now=NOW + timedelta(minutes=5))
    log.register(conversation_id="conv-1", intent="complaint", state=CaseState.ESCALATED, next_step="x",
                 note="投诉", now=NOW + timedelta(minutes=6))
    assert log.open_case_for_evidence("conv-1").id == waiting.id
    log.close(waiting.id, NOW)
    assert log.open_case_for_evidence("conv-1").intent == "complaint"  # resolved ones take none
    assert log.open_case_for_evidence("conv-2") is None


def test_photos_sent_at_once_never_make_a_seventh(store, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    case = open_case(store)
    uploads = Uploads(store, tmp_path / "up", per_case=6)
    image = clean_image(photo(), 5 * MB)

    def send(n):
        try:
            return uploads.attach(case, image, NOW + timedelta(seconds=n)).id
        except UploadRefused as refused_:
            return refused_.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(16)))
    accepted = [r for r in results if r != "too_many_files"]
    assert len(accepted) == 6 and results.count("too_many_files") == 10
    assert sorted(a.id for a in uploads.for_case(case.id)) == sorted(accepted)
    assert len([p for p in (tmp_path / "up").rglob("*") if p.is_file()]) == 12  # each photo and its thumbnail


def test_photo_said_sent_in_text_counts_the_cases_photos_or_says_how_to_send_one(store, tmp_path):
    """「照片发你了」: a case with photos is not told none arrived; one without is shown the 📷 button."""
    from bot.playbook.evidence import ALREADY_RECEIVED, HOW_TO_SEND, photo_said_sent
    from rasa_adapter.project_files import response_text

    log = CaseLog(store)
    assert photo_said_sent(log, store, "nobody", None, 6).response == HOW_TO_SEND  # no case at all
    case = open_case(store)
    assert photo_said_sent(log, store, case.conversation_id, None, 6).response == HOW_TO_SEND
    uploads = Uploads(store, tmp_path / "up", per_case=6)
    for _ in range(2):
        uploads.attach(case, clean_image(photo(), 5 * MB), NOW)
    reply = photo_said_sent(log, store, case.conversation_id, case.order_id, 6)
    assert reply.response == ALREADY_RECEIVED and (reply.facts["photo_count"], reply.facts["photos_left"]) == (2, 4)
    text = response_text(ALREADY_RECEIVED).format(**reply.facts)
    assert "2 张" in text and "4 张" in text and "没有收到" not in text
    assert "没有收到" in response_text(HOW_TO_SEND)
