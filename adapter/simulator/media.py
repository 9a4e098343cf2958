"""``GET|HEAD /media/{path}``: generated test media, with real HTTP Range support.

The file name alone decides the content, whatever the directories before it:

- ``...-<N>s.mp4`` / ``...-<N>s.mov``: an MP4/MOV whose ``mvhd`` says it lasts ``N`` seconds
  (``?moov=end`` puts the ``moov`` box after ``mdat``);
- ``....png`` / ``....jpg`` / ``....jpeg``: a flat grey image, 512x512, or ``W``x``H`` when the
  name ends ``-<W>x<H>.png``;
- anything else: 404.

So MindVideo's example URL ``https://example.com/ref-video-8s.mp4``, rewritten to
``{simulator}/media/ref-video-8s.mp4``, is an 8-second video.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from starlette.requests import Request
from starlette.responses import Response

from adapter.simulator.images import build_jpeg, build_png
from adapter.simulator.mp4 import build_mp4

#: A reference video's file name states its duration: ``ref-video-8s.mp4`` lasts 8 s.
VIDEO_NAME: Final = re.compile(r"-(\d+(?:\.\d+)?)s\.(mp4|mov)$")
_IMAGE_NAME: Final = re.compile(r"(?:-(\d+)x(\d+))?\.(png|jpe?g)$")
_RANGE: Final = re.compile(r"bytes=\s*(\d*)-(\d*)", re.ASCII)
_VIDEO_TYPES: Final = {"mp4": "video/mp4", "mov": "video/quicktime"}
MAX_DURATION_S: Final = 86_400.0
MAX_IMAGE_SIDE: Final = 8192
DEFAULT_IMAGE_SIDE: Final = 512


def duration_from_url(url: str) -> float | None:
    """The duration a media URL's file name states, ignoring its query and fragment."""
    path = url.partition("?")[0].partition("#")[0]
    match = VIDEO_NAME.search(path)
    return float(match.group(1)) if match else None


def format_seconds(seconds: float) -> str:
    """Seconds as Kling writes a duration: ``8.0`` -> ``"8"``, ``8.5`` -> ``"8.5"``."""
    return f"{seconds:g}"


def media_file(name: str, *, moov_at_end: bool = False) -> tuple[bytes, str] | None:
    """The bytes and content type served for file ``name``, or ``None`` for a 404."""
    if video := VIDEO_NAME.search(name):
        seconds = float(video.group(1))
        if seconds > MAX_DURATION_S:
            return None
        container: Literal["mp4", "mov"] = "mov" if video.group(2) == "mov" else "mp4"
        return _video(seconds, container, moov_at_end), _VIDEO_TYPES[container]
    if image := _IMAGE_NAME.search(name):
        width = int(image.group(1) or DEFAULT_IMAGE_SIDE)
        height = int(image.group(2) or DEFAULT_IMAGE_SIDE)
        if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
            return None
        if image.group(3) == "png":
            return _png(width, height), "image/png"
        return _jpeg(width, height), "image/jpeg"
    return None


@functools.lru_cache(maxsize=128)
def _video(seconds: float, container: Literal["mp4", "mov"], moov_at_end: bool) -> bytes:
    return build_mp4(seconds, container=container, moov_at_end=moov_at_end)


@functools.lru_cache(maxsize=32)
def _png(width: int, height: int) -> bytes:
    return build_png(width, height)


@functools.lru_cache(maxsize=32)
def _jpeg(width: int, height: int) -> bytes:
    return build_jpeg(width, height)


class RangeNotSatisfiable(ValueError):
    """The Range header names no byte of the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive ``(first, last)`` bytes a Range header asks for, or ``None`` for all.

    A header that is absent, malformed or asks for several ranges is ignored (the whole file
    is served), as RFC 9110 section 14.2 allows.

    Raises:
        RangeNotSatisfiable: the range starts past the end of the file.
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    first_s, last_s = match.groups()
    if not first_s:  # a suffix range: the last N bytes
        if not last_s:
            return None
        if int(last_s) == 0 or size == 0:
            raise RangeNotSatisfiable(match.group(0))
        return max(0, size - int(last_s)), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else None
    if last is not None and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(match.group(0))
    return first, size - 1 if last is None else min(last, size - 1)


async def serve_media(request: Request) -> Response:
    """Serve a generated file, whole (200) or in part (206 / 416), for GET and HEAD."""
    name = request.path_params["path"].rpartition("/")[2]
    found = media_file(name, moov_at_end=request.query_params.get("moov") == "end")
    if found is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    data, content_type = found
    size = len(data)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=86400"}
    try:
        wanted = byte_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b"", status_code=416, headers=headers)
    status = 200
    if wanted is not None:
        first, last = wanted
        data = data[first : last + 1]
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        status = 206
    headers["Content-Length"] = str(len(data))
    body = b"" if request.method == "HEAD" else data
    return Response(body, status_code=status, headers=headers, media_type=content_type)
