"""A remote file read by HTTP Range requests, every hop checked by the SSRF guard."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from types import TracebackType

import aiohttp
import httpx

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.media.limits import megabytes, too_large
from adapter.outbound.addresses import AddressGuard
from adapter.outbound.failures import describe, refused_address
from adapter.outbound.urls import Target, UrlPolicy

#: The first read covers ftyp and, for "fast start" files, moov with its mvhd.
FIRST_CHUNK = 64 * 1024
#: Later reads only need a box header or an mvhd at a jump target.
NEXT_CHUNK = 16 * 1024
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class HttpFile:
    """One remote file, read forward by ranges; a ``ByteSource`` for the container probe.

    Redirects are followed by hand (at most ``MAX_REDIRECTS``), each hop checked like the
    first URL; later reads go straight to where the chain ended. A server that ignores
    Range and sends the whole body is read as a stream and closed as soon as the probe has
    what it needs, never past ``max_unranged`` bytes.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        target: Target,
        *,
        policy: UrlPolicy,
        guard: AddressGuard,
        param: str,
        max_size: int,
        max_requests: int,
        max_unranged: int,
    ) -> None:
        self._http = http
        self._target = target
        self._policy = policy
        self._guard = guard
        self._param = param
        self._max_size = max_size
        self._requests_left = max_requests
        self._max_unranged = max_unranged
        self._body: _Body | None = None
        self.size: int | None = None

    async def __aenter__(self) -> HttpFile:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._body is not None:
            await self._body.aclose()

    async def fetch(self, offset: int, length: int) -> bytes:
        """Bytes from ``offset``: at least ``length`` unless the file ends, maybe more."""
        if self._body is not None:
            return await self._body.read(offset, length)
        if self.size is not None and offset >= self.size:
            return b""
        if self._requests_left <= 0:
            raise InvalidRequest(
                f"{self._param}: the video's duration was not found within the reads allowed; "
                "its movie header is buried too deep.",
                self._param,
            )
        self._requests_left -= 1
        want = max(length, FIRST_CHUNK if offset == 0 else NEXT_CHUNK)
        if self.size is not None:
            want = min(want, self.size - offset)
        response = await self._open(offset, want)
        if response.status_code == 200:
            # The server ignored Range: this is the whole file, from byte 0.
            try:
                self._learn_size(_int_header(response, "Content-Length"))
            except InvalidRequest:
                await response.aclose()
                raise
            self._body = _Body(
                response, size=self.size, limit=self._max_unranged, param=self._param
            )
            return await self._body.read(offset, length)
        try:
            if response.status_code == 416:
                return b""  # the range starts past the end of the file
            first, last, total = self._content_range(response)
            if first != offset:
                raise _unreadable(self._param, f"the server sent bytes from {first}, not {offset}")
            self._learn_size(total)
            with _mapped_errors(self._param, self._guard):
                data = await _read_at_most(response.aiter_bytes(), min(want, last - first + 1))
        finally:
            await response.aclose()
        if len(data) < length and (self.size is None or offset + len(data) < self.size):
            # A server may answer a smaller range than asked (RFC 9110, 14.1.2): ask on.
            data += await self.fetch(offset + len(data), length - len(data))
        return data

    async def _open(self, offset: int, want: int) -> httpx.Response:
        url, trusted = self._target
        headers = {"Range": f"bytes={offset}-{offset + want - 1}", "Accept-Encoding": "identity"}
        for hop in range(MAX_REDIRECTS + 1):
            if not trusted:
                what = "redirects to" if hop else "points to"
                await self._guard.check(url.raw_host.decode("ascii"), param=self._param, what=what)
            request = self._http.build_request("GET", url, headers=headers)
            with _mapped_errors(self._param, self._guard):
                response = await self._http.send(request, stream=True, follow_redirects=False)
            if not response.has_redirect_location:
                break
            await response.aclose()
            location = response.headers["Location"]
            url, trusted = self._policy.follow(url, location, param=self._param)
        else:
            raise _unreadable(self._param, f"more than {MAX_REDIRECTS} redirects")
        if response.status_code not in (200, 206, 416):
            await response.aclose()
            raise _unreadable(self._param, f"the server answered HTTP {response.status_code}")
        self._target = Target(url, trusted)
        return response

    def _content_range(self, response: httpx.Response) -> tuple[int, int, int | None]:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None:
            raise _unreadable(
                self._param, "the server sent a partial answer without a valid Content-Range"
            )
        first, last, total = match.groups()
        if int(last) < int(first):
            raise _unreadable(self._param, "the server sent an empty Content-Range")
        return int(first), int(last), None if total == "*" else int(total)

    def _learn_size(self, size: int | None) -> None:
        if size is None:
            return
        if size > self._max_size:
            raise InvalidRequest(too_large(self._param, "video", size, self._max_size), self._param)
        self.size = size


class _Body:
    """A whole-file response read forward only, for servers that ignore Range."""

    def __init__(
        self, response: httpx.Response, *, size: int | None, limit: int, param: str
    ) -> None:
        self._response = response
        self._chunks = response.aiter_bytes()
        self._size = size
        self._limit = limit
        self._param = param
        self._held = bytearray()
        #: File offset of the first held byte.
        self._start = 0

    async def read(self, offset: int, length: int) -> bytes:
        if offset < self._start:
            raise RuntimeError("a streamed body is read front to back")
        end = offset + length
        if (end if self._size is None else min(end, self._size)) > self._limit:
            raise MediaUnreachable(
                f"{self._param} could not be probed: the server does not support HTTP Range "
                f"requests and the video's index (moov) is not in its first "
                f"{megabytes(self._limit)}; serve it with Range support or move moov to the "
                'start ("fast start").',
                self._param,
            )
        while self._start + len(self._held) < end:
            with _mapped_errors(self._param):
                chunk = await anext(self._chunks, None)
            if chunk is None:
                break
            self._held += chunk
            # Skipped bytes (media data) are dropped at once, so memory stays one chunk.
            skip = min(offset - self._start, len(self._held))
            del self._held[:skip]
            self._start += skip
        data = bytes(self._held[offset - self._start : end - self._start])
        del self._held[: offset - self._start + len(data)]
        self._start = offset + len(data)
        return data

    async def aclose(self) -> None:
        if isinstance(self._chunks, AsyncGenerator):
            await self._chunks.aclose()
        await self._response.aclose()


async def _read_at_most(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Up to ``limit`` bytes of a body, leaving the rest unread."""
    data = bytearray()
    try:
        async for chunk in chunks:
            data += chunk
            if len(data) >= limit:
                break
    finally:
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()
    return bytes(data[:limit])


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "")
    return int(value) if value.isdigit() else None


def _unreadable(param: str, why: str) -> MediaUnreachable:
    return MediaUnreachable(f"{param} could not be read: {why}.", param)


@contextmanager
def _mapped_errors(param: str, guard: AddressGuard | None = None) -> Iterator[None]:
    """Translate httpx's and aiohttp's errors into ``MediaUnreachable`` saying what happened.

    The aiohttp transport re-raises what it does not map (a malformed answer). A host the
    connection's resolver refused (non-public by then: DNS rebinding) is an invalid request.
    """
    try:
        yield
    except (httpx.HTTPError, aiohttp.ClientError) as exc:
        refused = refused_address(exc)
        if refused is not None and guard is not None:
            raise guard.refusal(param, str(refused)) from exc
        raise _unreadable(param, describe(exc)) from exc
