"""Images for the upload tests, made in memory: photos with EXIF and GPS, bombs, broken files."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE, ORIENTATION = 0x010F, 0x0112


def photo(kind: str = "JPEG", size=(640, 480), colour=(200, 80, 40), gps: bool = True) -> bytes:
    """A picture like a phone's: with the camera's make, an orientation and (``gps``) a position."""
    image = Image.new("RGB", size, colour)
    out = io.BytesIO()
    exif = Image.Exif()
    exif[MAKE] = "TestPhone"
    exif[ORIENTATION] = 1
    if gps:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (30.0, 15.0, 12.0), 3: "E", 4: (120.0, 9.0, 1.0)})
    image.save(out, format=kind, exif=exif.tobytes())
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 40_000) -> bytes:
    """A PNG a few hundred bytes long that claims ``side``×``side`` pixels of black."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    body = zlib.compress(row * 16, 9)  # only the first rows: enough for a header check
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200  # an executable's start
