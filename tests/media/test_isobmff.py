"""Pure ISO-BMFF parsing, and the container probe over bytes in memory."""

from __future__ import annotations

import struct

import pytest

from adapter.media.isobmff import (
    ContainerError,
    brand_format,
    lead_format,
    mvhd_duration,
    parse_box_header,
)
from adapter.media.probe import BytesSource, probe_container
from adapter.simulator.mp4 import box, build_mp4, mvhd

pytestmark = pytest.mark.anyio


def test_box_header_with_32_bit_size_ends_after_its_size() -> None:
    """A plain header states the whole box's size in its first four bytes."""
    header = parse_box_header(struct.pack(">I4s", 100, b"mdat"), 40, None)
    assert (header.kind, header.header_size, header.payload_offset, header.end) == (
        b"mdat",
        8,
        48,
        140,
    )


def test_box_header_with_largesize_reads_the_64_bit_size() -> None:
    """Size 1 means a 64-bit size follows the type, for boxes over 4 GiB."""
    header = parse_box_header(struct.pack(">I4sQ", 1, b"mdat", 5 * 2**32), 0, None)
    assert (header.header_size, header.end) == (16, 5 * 2**32)


def test_box_header_with_size_zero_runs_to_the_limit() -> None:
    """Size 0 means the box runs to the end of the enclosing space."""
    assert parse_box_header(struct.pack(">I4s", 0, b"mdat"), 24, 9000).end == 9000
    assert parse_box_header(struct.pack(">I4s", 0, b"mdat"), 24, None).end is None


def test_box_header_smaller_than_itself_is_refused() -> None:
    """A size below the header's own length cannot be walked past."""
    with pytest.raises(ContainerError, match="impossible size"):
        parse_box_header(struct.pack(">I4s", 4, b"moov"), 0, None)


def test_truncated_largesize_header_is_refused() -> None:
    """A 64-bit size cut off by the end of the data is an error, not a guess."""
    with pytest.raises(ContainerError, match="cut short"):
        parse_box_header(struct.pack(">I4s", 1, b"mdat"), 0, None)


@pytest.mark.parametrize(
    ("kind", "expected"), [(b"ftyp", "mp4"), (b"moov", "mov"), (b"mdat", "mov"), (b"wide", "mov")]
)
def test_first_box_tells_mp4_from_old_quicktime(kind: bytes, expected: str) -> None:
    """ftyp opens ISO files; old QuickTime files open with moov, mdat, wide or free."""
    assert lead_format(kind) == expected


def test_first_box_of_another_kind_is_not_a_video() -> None:
    """Bytes that do not open with a known box are not MP4 or MOV."""
    with pytest.raises(ContainerError, match="not an MP4 or MOV"):
        lead_format(b"CTYP")


def test_quicktime_brand_in_major_or_compatible_means_mov() -> None:
    """The ``qt  `` brand anywhere in ftyp marks a MOV; other brands an MP4."""
    assert brand_format(b"qt  \x00\x00\x02\x00qt  ") == "mov"
    assert brand_format(b"M4V \x00\x00\x02\x00isomqt  ") == "mov"
    assert brand_format(b"isom\x00\x00\x02\x00isomiso2mp41") == "mp4"
    # The minor version is not a brand, even when its bytes spell one.
    assert brand_format(b"isomqt  mp41") == "mp4"


@pytest.mark.parametrize("version", [0, 1])
def test_mvhd_duration_is_duration_over_timescale(version: int) -> None:
    """Both mvhd layouts (32- and 64-bit times) give seconds."""
    payload = mvhd(7.5, timescale=600, version=version)[8:]  # type: ignore[arg-type]
    assert mvhd_duration(payload) == 7.5


def test_mvhd_with_zero_timescale_is_refused() -> None:
    """A timescale of 0 would divide by zero; the file is broken."""
    with pytest.raises(ContainerError, match="timescale of 0"):
        mvhd_duration(mvhd(5, timescale=0)[8:])


def test_mvhd_with_unknown_duration_is_refused() -> None:
    """All-ones is the 'duration unknown' marker, not a 13-year video."""
    payload = struct.pack(">B3xIIII", 0, 0, 0, 1000, 0xFFFFFFFF)
    with pytest.raises(ContainerError, match="does not state its duration"):
        mvhd_duration(payload)


def test_mvhd_of_unknown_version_is_refused() -> None:
    """Only versions 0 and 1 exist."""
    with pytest.raises(ContainerError, match="unknown version 2"):
        mvhd_duration(b"\x02" + bytes(40))


async def test_probe_reads_container_and_duration_from_memory() -> None:
    """The probe finds ftyp's brand and mvhd's duration in a whole file."""
    found = await probe_container(BytesSource(build_mp4(12.25, container="mov")))
    assert (found.format, found.duration_s) == ("mov", 12.25)


async def test_probe_finds_mvhd_after_other_moov_children() -> None:
    """mvhd need not be moov's first child."""
    moov = box(b"moov", box(b"udta", bytes(300)) + box(b"iods", bytes(16)) + mvhd(4))
    found = await probe_container(BytesSource(box(b"ftyp", b"isom" + bytes(4)) + moov))
    assert found.duration_s == 4


async def test_probe_refuses_file_without_moov() -> None:
    """Media data alone carries no duration."""
    data = box(b"ftyp", b"isom" + bytes(4)) + box(b"mdat", bytes(100))
    with pytest.raises(ContainerError, match="no movie box"):
        await probe_container(BytesSource(data))


async def test_probe_refuses_moov_without_mvhd() -> None:
    """A movie box with no movie header has no duration."""
    data = box(b"ftyp", b"isom" + bytes(4)) + box(b"moov", box(b"trak", bytes(50)))
    with pytest.raises(ContainerError, match="without a movie header"):
        await probe_container(BytesSource(data))


async def test_probe_refuses_empty_file() -> None:
    """Zero bytes are not a video."""
    with pytest.raises(ContainerError, match="empty or too short"):
        await probe_container(BytesSource(b""))
