"""Pure ISO-BMFF (MP4/MOV) parsing: box headers, brands, and the ``mvhd`` duration.

Nothing here does I/O; ``adapter.media.probe`` feeds these functions the few bytes it reads.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

#: Bytes to read for any box header: 8, or 16 when a 64-bit ``largesize`` follows.
HEADER_BYTES = 16
#: Bytes of ``ftyp`` payload worth reading: major brand, minor version, compatible brands.
FTYP_BYTES = 256
#: Bytes of ``mvhd`` payload needed for version 1 (the larger layout).
MVHD_BYTES = 32

#: Old QuickTime files have no ``ftyp`` and open with one of these boxes instead.
_QUICKTIME_LEADS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_QUICKTIME_BRAND = b"qt  "
_UNKNOWN_DURATION = {0: 0xFFFFFFFF, 1: 0xFFFFFFFFFFFFFFFF}


class ContainerError(ValueError):
    """The bytes are not a readable MP4/MOV file; the message completes "the video ..."."""


class BoxHeader(NamedTuple):
    """Where one box sits in its file."""

    kind: bytes
    offset: int
    header_size: int
    #: Offset just past the box; ``None`` when it runs to an end of file not yet known.
    end: int | None

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size


def parse_box_header(data: bytes, offset: int, limit: int | None) -> BoxHeader:
    """Parse the header at the start of ``data``, the bytes found at ``offset``.

    ``limit`` is where the enclosing space ends (the file, or the parent box), which a
    size of 0 ("to the end") refers to; ``None`` when unknown.
    """
    if len(data) < 8:
        raise ContainerError(f"is cut short at byte {offset}")
    size, kind = struct.unpack_from(">I4s", data)
    header_size = 8
    if size == 1:
        if len(data) < 16:
            raise ContainerError(f"is cut short at byte {offset}")
        (size,) = struct.unpack_from(">Q", data, 8)
        header_size = 16
    if size == 0:
        return BoxHeader(kind, offset, header_size, limit)
    if size < header_size:
        raise ContainerError(f"has a box of impossible size {size} at byte {offset}")
    return BoxHeader(kind, offset, header_size, offset + size)


def lead_format(kind: bytes) -> str:
    """The container implied by a file's first box; raises unless it is MP4 or MOV."""
    if kind == b"ftyp":
        return "mp4"
    if kind in _QUICKTIME_LEADS:
        return "mov"
    raise ContainerError("is not an MP4 or MOV video")


def brand_format(ftyp_payload: bytes) -> str:
    """``"mov"`` when the ``ftyp`` names the QuickTime brand, else ``"mp4"``."""
    brands = [ftyp_payload[:4]]
    # Bytes 4-8 are the minor version, not a brand.
    brands += [ftyp_payload[i : i + 4] for i in range(8, len(ftyp_payload) - 3, 4)]
    return "mov" if _QUICKTIME_BRAND in brands else "mp4"


def mvhd_duration(payload: bytes) -> float:
    """Seconds stated by an ``mvhd`` payload (version 0 or 1)."""
    if not payload:
        raise ContainerError("has an empty movie header (mvhd)")
    version = payload[0]
    if version == 0 and len(payload) >= 20:
        timescale, duration = struct.unpack_from(">II", payload, 12)
    elif version == 1 and len(payload) >= 32:
        timescale, duration = struct.unpack_from(">IQ", payload, 20)
    elif version in (0, 1):
        raise ContainerError("has a truncated movie header (mvhd)")
    else:
        raise ContainerError(f"has a movie header (mvhd) of unknown version {version}")
    if timescale == 0:
        raise ContainerError("has a movie header (mvhd) with a timescale of 0")
    if duration == _UNKNOWN_DURATION[version]:
        raise ContainerError("does not state its duration in its movie header (mvhd)")
    return float(duration / timescale)
