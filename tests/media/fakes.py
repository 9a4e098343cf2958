"""Fakes for the media checks: a web server with real Range semantics, a DNS from a table."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

#: Public addresses for the fake DNS (documentation ranges are not global, so real ones).
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
_CHUNK = 64 * 1024


class VirtualFile:
    """A file of ``size`` bytes: zeros, except ``parts`` (offset -> bytes). Never built whole."""

    def __init__(self, size: int, parts: Mapping[int, bytes]) -> None:
        self.size = size
        self.parts = dict(parts)

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``."""
        end = min(end, self.size)
        out = bytearray(max(0, end - start))
        for offset, data in self.parts.items():
            lo, hi = max(start, offset), min(end, offset + len(data))
            if lo < hi:
                out[lo - start : hi - start] = data[lo - offset : hi - offset]
        return bytes(out)


@dataclass(frozen=True)
class _Served:
    file: VirtualFile
    ranges: bool
    max_range: int | None
    hide_size: bool


class MediaServer:
    """Serves files by URL, honouring ``Range`` (or not), and records what it was asked."""

    def __init__(self) -> None:
        self.files: dict[str, _Served] = {}
        self.redirects: dict[str, tuple[int, str]] = {}
        self.statuses: dict[str, int] = {}
        self.failures: dict[str, type[httpx.TransportError]] = {}
        self.requests: list[httpx.Request] = []
        #: Body bytes actually pulled by the client, over all responses.
        self.bytes_sent = 0

    def serve(
        self,
        url: str,
        body: bytes | VirtualFile,
        *,
        ranges: bool = True,
        max_range: int | None = None,
        hide_size: bool = False,
    ) -> None:
        """Serve ``body`` at ``url``.

        ``ranges=False`` ignores Range and sends it all; ``max_range`` answers at most that
        many bytes per range; ``hide_size`` sends ``bytes a-b/*`` and no total.
        """
        file = body if isinstance(body, VirtualFile) else VirtualFile(len(body), {0: body})
        self.files[url] = _Served(file, ranges, max_range, hide_size)

    def redirect(self, url: str, location: str, status: int = 302) -> None:
        self.redirects[url] = (status, location)

    def answer(self, url: str, status: int) -> None:
        self.statuses[url] = status

    def fail(self, url: str, error: type[httpx.TransportError]) -> None:
        self.failures[url] = error

    @property
    def ranges(self) -> list[str]:
        """The Range header of each request made, in order."""
        return [request.headers.get("Range", "") for request in self.requests]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url in self.failures:
            raise self.failures[url]("simulated failure", request=request)
        if url in self.redirects:
            status, location = self.redirects[url]
            return httpx.Response(status, headers={"Location": location})
        if url in self.statuses:
            return httpx.Response(self.statuses[url], text="nope")
        if url not in self.files:
            return httpx.Response(404, text="not found")
        served = self.files[url]
        file = served.file
        match = _RANGE.fullmatch(request.headers.get("Range", ""))
        if not served.ranges or match is None:
            headers = {"Content-Length": str(file.size)}
            return httpx.Response(200, headers=headers, content=self._body(file, 0, file.size))
        start = int(match[1])
        end = min(int(match[2]) + 1 if match[2] else file.size, file.size)
        if served.max_range is not None:
            end = min(end, start + served.max_range)
        if start >= file.size:
            return httpx.Response(416, headers={"Content-Range": f"bytes */{file.size}"})
        total = "*" if served.hide_size else str(file.size)
        headers = {
            "Content-Range": f"bytes {start}-{end - 1}/{total}",
            "Content-Length": str(end - start),
        }
        return httpx.Response(206, headers=headers, content=self._body(file, start, end))

    async def _body(self, file: VirtualFile, start: int, end: int) -> AsyncIterator[bytes]:
        # Lazy, so bytes_sent counts what the client read, not what it could have read.
        for offset in range(start, end, _CHUNK):
            chunk = file.read(offset, min(offset + _CHUNK, end))
            self.bytes_sent += len(chunk)
            yield chunk


class FakeDns:
    """``host -> addresses`` from a table; unknown names fail like getaddrinfo does."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {"media.example": [PUBLIC_V4]}
        self.lookups: list[str] = []
        self.delay = 0.0

    async def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if self.delay:
            await asyncio.sleep(self.delay)
        if host not in self.records:
            raise OSError(f"Name or service not known: {host}")
        return self.records[host]


class TcpServer:
    """A loopback TCP server: counts connections, reads the request, answers ``reply`` raw.

    ``reply=None`` never answers (a server that hangs); plain bytes to a TLS client are a TLS
    failure. Use as ``async with TcpServer(...) as server``; ``server.port`` is its port.
    """

    def __init__(self, reply: bytes | None = b"HTTP/1.1 204 No Content\r\n\r\n") -> None:
        self.reply = reply
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: list[asyncio.Task[None] | None] = []

    async def __aenter__(self) -> TcpServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*(task for task in self._handlers if task is not None))
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        self._handlers.append(asyncio.current_task())
        try:
            if self.reply is None:
                await reader.read()  # until the client gives up
                return
            await reader.read(65536)
            writer.write(self.reply)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
