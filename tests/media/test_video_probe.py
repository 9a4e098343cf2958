"""``inspect_video``: container, duration and size from a few Range requests or a data URI."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable

import pytest

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.core.values import VideoInfo
from adapter.media import HttpMediaInspector
from adapter.simulator.mp4 import box, build_mp4, mvhd
from tests.media.fakes import MediaServer, VirtualFile

pytestmark = pytest.mark.anyio

PARAM = "input.video_url"
URL = "https://media.example/ref.mp4"
MB = 1024 * 1024
FTYP = box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")


def moov_at_end(size: int, duration_s: float, *, largesize: bool = True) -> VirtualFile:
    """ftyp, an mdat filling the file, then moov: a big encoder output without fast start."""
    moov = box(b"moov", mvhd(duration_s))
    mdat_size = size - len(FTYP) - len(moov)
    if largesize:
        mdat_head = struct.pack(">I4sQ", 1, b"mdat", mdat_size)
    else:
        mdat_head = struct.pack(">I4s", mdat_size, b"mdat")
    return VirtualFile(size, {0: FTYP + mdat_head, size - len(moov): moov})


def moov_at_start(size: int, duration_s: float) -> VirtualFile:
    """A fast-start file: ftyp, moov, then an mdat filling the rest."""
    head = FTYP + box(b"moov", mvhd(duration_s))
    mdat_head = struct.pack(">I4s", size - len(head), b"mdat")
    return VirtualFile(size, {0: head + mdat_head})


async def test_moov_at_start_is_read_with_one_range_request(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A fast-start file needs only the first chunk."""
    server.serve(URL, build_mp4(8, mdat_size=500_000))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info == VideoInfo("url", "mp4", 8.0, size_bytes=len(build_mp4(8, mdat_size=500_000)))
    assert server.ranges == ["bytes=0-65535"]


@pytest.mark.parametrize("largesize", [True, False])
async def test_moov_at_end_is_found_by_jumping_over_mdat(
    inspector: HttpMediaInspector, server: MediaServer, largesize: bool
) -> None:
    """moov behind 90 MB of media data is found with two small requests, not a download."""
    size = 90 * MB
    server.serve(URL, moov_at_end(size, 12.5, largesize=largesize))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info == VideoInfo("url", "mp4", 12.5, size_bytes=size)
    assert len(server.requests) == 2
    assert server.ranges[1].startswith(f"bytes={size - 8 - len(mvhd(12.5))}-")
    assert server.bytes_sent < 128 * 1024


async def test_small_file_with_moov_at_end_needs_one_request(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """When the whole file fits in the first chunk, no jump is needed."""
    server.serve(URL, build_mp4(5, moov_at_end=True))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info.duration_s == 5
    assert len(server.requests) == 1


async def test_huge_moov_is_walked_child_by_child(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """When mvhd sits behind a 40 MB sibling inside moov, only headers are read."""
    filler = 40 * MB
    moov_size = 8 + 8 + filler + len(mvhd(6))
    head = FTYP + struct.pack(">I4s", moov_size, b"moov") + struct.pack(">I4s", 8 + filler, b"udta")
    file = VirtualFile(len(FTYP) + moov_size, {0: head, len(FTYP) + 16 + filler: mvhd(6)})
    server.serve(URL, file)
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info.duration_s == 6
    assert len(server.requests) == 2
    assert server.bytes_sent < 128 * 1024


async def test_server_answering_short_ranges_is_asked_on(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer
) -> None:
    """A server may send less than the range asked; the probe asks for the rest."""
    server.serve(URL, build_mp4(8), max_range=10)
    info = await make_inspector(max_requests=20).inspect_video(URL, param=PARAM)
    assert info.duration_s == 8
    assert server.ranges[0] == "bytes=0-65535"
    assert server.ranges[1].startswith("bytes=10-")


async def test_unknown_total_size_is_reported_as_none(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """With ``Content-Range: bytes 0-n/*`` the duration is read and the size left unknown."""
    server.serve(URL, build_mp4(8, moov_at_end=True, mdat_size=100_000), hide_size=True)
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info == VideoInfo("url", "mp4", 8.0, size_bytes=None)


async def test_mvhd_version_1_is_read(inspector: HttpMediaInspector, server: MediaServer) -> None:
    """The 64-bit mvhd layout gives the same duration."""
    server.serve(URL, build_mp4(9.5, mvhd_version=1, timescale=90_000))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info.duration_s == 9.5


async def test_quicktime_brand_is_reported_as_mov(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """An ftyp with the ``qt  `` brand is a MOV."""
    server.serve(URL, build_mp4(4, container="mov", moov_at_end=True))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert (info.format, info.duration_s) == ("mov", 4)


@pytest.mark.parametrize("lead", [b"moov", b"wide", b"mdat"])
async def test_old_quicktime_without_ftyp_is_reported_as_mov(
    inspector: HttpMediaInspector, server: MediaServer, lead: bytes
) -> None:
    """Files from before ftyp open with moov, wide or mdat and are MOVs."""
    moov = box(b"moov", mvhd(3.5))
    body = {
        b"moov": moov + box(b"mdat", bytes(100)),
        b"wide": box(b"wide", b"") + box(b"mdat", bytes(100)) + moov,
        b"mdat": box(b"mdat", bytes(100)) + moov,
    }[lead]
    server.serve(URL, body)
    info = await inspector.inspect_video(URL, param=PARAM)
    assert (info.format, info.duration_s) == ("mov", 3.5)


async def test_server_ignoring_range_is_read_only_as_far_as_needed(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A 200 with the whole 90 MB body is streamed and closed once moov is read."""
    server.serve(URL, moov_at_start(90 * MB, 7), ranges=False)
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info == VideoInfo("url", "mp4", 7.0, size_bytes=90 * MB)
    assert len(server.requests) == 1
    assert server.bytes_sent <= 64 * 1024


async def test_server_ignoring_range_with_moov_near_the_end_is_streamed_to_it(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """Without Range, a moov within the streaming budget is still reached."""
    server.serve(URL, moov_at_end(2 * MB, 11), ranges=False)
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info.duration_s == 11
    assert len(server.requests) == 1


async def test_server_ignoring_range_with_moov_far_away_is_unreachable(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer
) -> None:
    """Past the streaming budget the probe stops, saying Range support is missing."""
    server.serve(URL, moov_at_end(90 * MB, 11), ranges=False)
    inspector = make_inspector(max_unranged=4 * MB)
    with pytest.raises(MediaUnreachable, match="does not support HTTP Range") as caught:
        await inspector.inspect_video(URL, param=PARAM)
    assert caught.value.param == PARAM
    assert server.bytes_sent <= 4 * MB + 64 * 1024


async def test_file_over_100_mb_is_refused_from_content_range(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """The size in Content-Range decides, after one request; 150 MB is refused."""
    server.serve(URL, moov_at_start(150 * MB, 8))
    with pytest.raises(
        InvalidRequest, match="is 150 MB; the video may be at most 100 MB"
    ) as caught:
        await inspector.inspect_video(URL, param=PARAM)
    assert not isinstance(caught.value, MediaUnreachable)
    assert len(server.requests) == 1


async def test_file_over_100_mb_is_refused_from_content_length(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """Without Range, Content-Length decides, before the body is read."""
    server.serve(URL, moov_at_start(100 * MB + 1, 8), ranges=False)
    with pytest.raises(InvalidRequest, match="may be at most 100 MB"):
        await inspector.inspect_video(URL, param=PARAM)
    assert server.bytes_sent <= 64 * 1024


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "is not an MP4 or MOV video"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "is not an MP4 or MOV video"),
        (b"", "is empty or too short"),
    ],
    ids=["html", "png", "empty"],
)
async def test_body_that_is_not_a_video_is_refused(
    inspector: HttpMediaInspector, server: MediaServer, body: bytes, match: str
) -> None:
    """An HTML page, an image or nothing is an invalid video, not an unreachable one."""
    server.serve(URL, body)
    with pytest.raises(InvalidRequest, match=f"^input\\.video_url: the video {match}") as caught:
        await inspector.inspect_video(URL, param=PARAM)
    assert not isinstance(caught.value, MediaUnreachable)


async def test_video_without_moov_is_refused(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A file that ends after its media data has no duration to read."""
    server.serve(URL, FTYP + box(b"mdat", bytes(100_000)))
    with pytest.raises(InvalidRequest, match="no movie box"):
        await inspector.inspect_video(URL, param=PARAM)


async def test_range_requests_are_bounded(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer
) -> None:
    """A file of many big boxes before moov is given up after the allowed requests."""
    parts = {0: FTYP}
    offset = len(FTYP)
    for _ in range(20):
        parts[offset] = struct.pack(">I4s", MB, b"free")
        offset += MB
    parts[offset] = box(b"moov", mvhd(5))
    server.serve(URL, VirtualFile(offset + len(parts[offset]), parts))
    with pytest.raises(InvalidRequest, match="buried too deep"):
        await make_inspector(max_requests=8).inspect_video(URL, param=PARAM)
    assert len(server.requests) == 8


async def test_video_data_uri_is_probed_in_memory(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A data URI video is decoded and probed without any request."""
    data = build_mp4(6.5, container="mov", moov_at_end=True)
    value = f"data:video/quicktime;base64,{base64.b64encode(data).decode()}"
    info = await inspector.inspect_video(value, param=PARAM)
    assert info == VideoInfo("data", "mov", 6.5, size_bytes=len(data))
    assert server.requests == []


async def test_video_data_uri_that_is_not_a_video_is_refused(
    inspector: HttpMediaInspector,
) -> None:
    """A data URI holding an HTML page is refused as not MP4/MOV."""
    value = f"data:video/mp4;base64,{base64.b64encode(b'<html></html>').decode()}"
    with pytest.raises(InvalidRequest, match="not an MP4 or MOV video"):
        await inspector.inspect_video(value, param=PARAM)
