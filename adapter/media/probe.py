"""Finding an MP4/MOV file's container and duration by reading as little of it as possible."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from adapter.media.isobmff import (
    FTYP_BYTES,
    HEADER_BYTES,
    MVHD_BYTES,
    BoxHeader,
    ContainerError,
    brand_format,
    lead_format,
    mvhd_duration,
    parse_box_header,
)

#: Top-level boxes plus ``moov`` children walked before giving up, against crafted files.
MAX_BOXES = 1024


class ByteSource(Protocol):
    """A file read by offset, front to back."""

    @property
    def size(self) -> int | None:
        """The file's length, once known."""

    async def fetch(self, offset: int, length: int) -> bytes:
        """Bytes from ``offset``: at least ``length`` unless the file ends first, maybe more."""


class Container(NamedTuple):
    """What the probe found."""

    format: str
    duration_s: float


class BytesSource:
    """A file already in memory (a decoded data URI)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    async def fetch(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


class _Window:
    """The last bytes fetched, so header reads that land in them cost no new fetch."""

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._base = 0
        self._data = b""

    async def read(self, offset: int, length: int) -> bytes:
        end = offset + length
        held_end = self._base + len(self._data)
        if not self._base <= offset <= held_end:
            self._data = await self._source.fetch(offset, length)
            self._base = offset
        elif end > held_end:
            # Contiguous: fetch only the missing tail, so a forward-only source never rewinds.
            more = await self._source.fetch(held_end, end - held_end)
            self._data = self._data[offset - self._base :] + more
            self._base = offset
        return self._data[offset - self._base : end - self._base]


async def probe_container(source: ByteSource) -> Container:
    """Walk the top-level boxes to ``moov``/``mvhd``, jumping over media data unread.

    Raises:
        ContainerError: the file is not MP4/MOV, or has no readable duration.
    """
    window = _Window(source)
    found = "mp4"
    offset = 0
    for _ in range(MAX_BOXES):
        head = await window.read(offset, HEADER_BYTES)
        if offset == 0 and len(head) < 8:
            raise ContainerError("is empty or too short to be a video")
        if len(head) < 8:
            break
        box = parse_box_header(head, offset, source.size)
        if offset == 0:
            found = lead_format(box.kind)
        if box.kind == b"ftyp":
            found = brand_format(await window.read(box.payload_offset, _payload(box, FTYP_BYTES)))
        elif box.kind == b"moov":
            return Container(found, await _moov_duration(window, box))
        if box.end is None:
            break
        offset = box.end
    else:
        raise ContainerError(f"has more than {MAX_BOXES} boxes before its movie box (moov)")
    raise ContainerError("has no movie box (moov), so its duration cannot be read")


def _payload(box: BoxHeader, most: int) -> int:
    """How many payload bytes to read: ``most``, or fewer if the box is smaller."""
    if box.end is None:
        return most
    return min(most, box.end - box.payload_offset)


async def _moov_duration(window: _Window, moov: BoxHeader) -> float:
    # mvhd is normally moov's first child; children are read header by header, so a huge
    # moov (long videos carry megabytes of sample tables) is never read whole.
    offset = moov.payload_offset
    for _ in range(MAX_BOXES):
        if moov.end is not None and offset + 8 > moov.end:
            break
        head = await window.read(offset, HEADER_BYTES)
        if len(head) < 8:
            break
        child = parse_box_header(head, offset, moov.end)
        if child.kind == b"mvhd":
            return mvhd_duration(
                await window.read(child.payload_offset, _payload(child, MVHD_BYTES))
            )
        if child.end is None:
            break
        offset = child.end
    raise ContainerError("has a movie box (moov) without a movie header (mvhd)")
