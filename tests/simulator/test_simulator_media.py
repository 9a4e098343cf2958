"""The simulator's generated test media, served with real HTTP Range support."""

from __future__ import annotations

import struct

import httpx
import pytest

from adapter.simulator.media import RangeNotSatisfiable, byte_range, duration_from_url
from adapter.simulator.mp4 import build_mp4

pytestmark = pytest.mark.anyio

VIDEO = build_mp4(8)
SIZE = len(VIDEO)


@pytest.mark.parametrize(
    "path", ["/media/ref-video-8s.mp4", "/media/a/b/ref-video-8s.mp4", "/media/out/123-8s.mp4"]
)
async def test_a_video_name_is_served_as_an_mp4_that_long(
    client: httpx.AsyncClient, path: str
) -> None:
    """``...-8s.mp4`` under any prefix is an 8-second MP4, served whole with Accept-Ranges."""
    response = await client.get(path)
    assert response.status_code == 200
    assert response.content == VIDEO
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(SIZE)


async def test_a_mov_name_is_served_as_quicktime(client: httpx.AsyncClient) -> None:
    """``...-2.5s.mov`` is a QuickTime file of that duration."""
    response = await client.get("/media/clip-2.5s.mov")
    assert response.headers["content-type"] == "video/quicktime"
    assert response.content == build_mp4(2.5, container="mov")
    assert response.content[8:12] == b"qt  "


async def test_moov_end_puts_the_index_after_the_media_data(client: httpx.AsyncClient) -> None:
    """``?moov=end`` serves the file with moov after mdat."""
    response = await client.get("/media/ref-video-8s.mp4", params={"moov": "end"})
    assert response.content == build_mp4(8, moov_at_end=True)
    assert response.content.index(b"mdat") < response.content.index(b"moov")


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, SIZE - 1),
        ("bytes=-16", SIZE - 16, SIZE - 1),
        (f"bytes=10-{SIZE + 500}", 10, SIZE - 1),
        (f"bytes=-{SIZE + 500}", 0, SIZE - 1),
    ],
)
async def test_a_range_request_answers_206_with_those_bytes(
    client: httpx.AsyncClient, header: str, first: int, last: int
) -> None:
    """A satisfiable Range answers 206, the bytes asked for and their Content-Range."""
    response = await client.get("/media/ref-video-8s.mp4", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == VIDEO[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
async def test_an_unsatisfiable_range_answers_416(client: httpx.AsyncClient, header: str) -> None:
    """A Range past the end answers 416 with ``Content-Range: bytes */size``."""
    response = await client.get("/media/ref-video-8s.mp4", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=x-y"])
async def test_an_unusable_range_is_ignored(client: httpx.AsyncClient, header: str) -> None:
    """Multiple, foreign-unit or malformed ranges are ignored: the whole file, 200."""
    response = await client.get("/media/ref-video-8s.mp4", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == VIDEO


async def test_head_answers_the_headers_without_a_body(client: httpx.AsyncClient) -> None:
    """HEAD answers the GET's status and headers, and no body."""
    whole = await client.head("/media/ref-video-8s.mp4")
    part = await client.head("/media/ref-video-8s.mp4", headers={"Range": "bytes=0-9"})
    assert (whole.status_code, whole.content) == (200, b"")
    assert whole.headers["content-length"] == str(SIZE)
    assert whole.headers["accept-ranges"] == "bytes"
    assert (part.status_code, part.content) == (206, b"")
    assert part.headers["content-length"] == "10"
    assert part.headers["content-range"] == f"bytes 0-9/{SIZE}"


@pytest.mark.parametrize(
    ("path", "width", "height"),
    [("/media/face.png", 512, 512), ("/media/x/face-300x400.png", 300, 400)],
)
async def test_a_png_name_is_served_as_a_png_of_that_size(
    client: httpx.AsyncClient, path: str, width: int, height: int
) -> None:
    """``.png`` is a valid PNG, 512x512 unless the name ends ``-WxH.png``."""
    response = await client.get(path)
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert response.content[12:16] == b"IHDR"
    assert struct.unpack(">II", response.content[16:24]) == (width, height)


@pytest.mark.parametrize("name", ["face.jpg", "face.jpeg", "face-640x480.jpg"])
async def test_a_jpeg_name_is_served_as_a_jpeg(client: httpx.AsyncClient, name: str) -> None:
    """``.jpg`` / ``.jpeg`` is a baseline JPEG whose frame header states its size."""
    response = await client.get(f"/media/{name}")
    data = response.content
    assert response.headers["content-type"] == "image/jpeg"
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    sof = data.index(b"\xff\xc0")
    height, width = struct.unpack(">HH", data[sof + 5 : sof + 9])
    assert (width, height) == ((640, 480) if "640" in name else (512, 512))


@pytest.mark.parametrize(
    "path",
    ["/media/readme.txt", "/media/video.mp4", "/media/clip-8m.mp4", "/media/x-99999999s.mp4"],
)
async def test_other_names_answer_404(client: httpx.AsyncClient, path: str) -> None:
    """A name the simulator cannot generate answers 404."""
    assert (await client.get(path)).status_code == 404


def test_byte_range_without_a_header_means_the_whole_file() -> None:
    """No Range header asks for the whole file."""
    assert byte_range(None, 100) is None


def test_byte_range_of_an_empty_file_is_unsatisfiable() -> None:
    """No byte of an empty file can be asked for."""
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=0-", 0)


@pytest.mark.parametrize(
    ("url", "seconds"),
    [
        ("https://example.com/ref-video-8s.mp4", 8.0),
        ("https://example.com/ref-video-8s.mp4?x=1", 8.0),
        ("https://example.com/ref-video-8s.mp4/other.mp4", None),
        ("https://example.com/ref-video-8S.mp4", None),
    ],
)
def test_duration_from_url_reads_the_file_name(url: str, seconds: float | None) -> None:
    """The duration comes from the path's last name, its query ignored, case-sensitive."""
    assert duration_from_url(url) == seconds


@pytest.mark.parametrize("header", ["bytes=-", "bytes=\u00b2-", "bytes=0-1, 3-4", "bytes 0-1"])
def test_byte_range_ignores_what_it_cannot_parse(header: str) -> None:
    """Empty, non-ASCII-digit, multiple or mis-spelled ranges mean the whole file."""
    assert byte_range(header, 100) is None
