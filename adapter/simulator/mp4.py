"""Tiny but well-formed MP4/MOV files of a chosen duration, for probing without the internet.

Only the boxes a duration probe reads are real (``ftyp``, ``moov``/``mvhd``); ``mdat`` is
filler. ``moov_at_end`` puts the index after the media data, as many encoders do.
"""

from __future__ import annotations

import struct
from typing import Literal

_BRANDS = {"mp4": (b"isom", [b"isom", b"iso2", b"mp41"]), "mov": (b"qt  ", [b"qt  "])}


def box(kind: bytes, payload: bytes) -> bytes:
    """One ISO-BMFF box: 32-bit size, four-character type, payload."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(duration_s: float, *, timescale: int = 1000, version: Literal[0, 1] = 0) -> bytes:
    """A movie header box stating ``duration_s`` in ``timescale`` units."""
    units = round(duration_s * timescale)
    if version == 1:
        head = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, units)
    else:
        head = struct.pack(">B3xIIII", 0, 0, 0, timescale, units)
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    rest = struct.pack(">IH10x", 0x10000, 0x100) + matrix + bytes(24) + struct.pack(">I", 2)
    return box(b"mvhd", head + rest)


def build_mp4(
    duration_s: float,
    *,
    container: Literal["mp4", "mov"] = "mp4",
    moov_at_end: bool = False,
    mdat_size: int = 2048,
    timescale: int = 1000,
    mvhd_version: Literal[0, 1] = 0,
) -> bytes:
    """Return the bytes of a file whose ``mvhd`` says it lasts ``duration_s`` seconds."""
    major, compatible = _BRANDS[container]
    ftyp = box(b"ftyp", major + struct.pack(">I", 0x200) + b"".join(compatible))
    # A trak-less moov is enough for a probe; a free box mimics encoders' padding.
    moov = box(
        b"moov",
        box(b"free", bytes(8)) + mvhd(duration_s, timescale=timescale, version=mvhd_version),
    )
    mdat = box(b"mdat", bytes(max(0, mdat_size)))
    return ftyp + mdat + moov if moov_at_end else ftyp + moov + mdat
