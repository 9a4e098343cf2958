"""A redis-server of a test's own, on a free port, that the test may stop and start again.

Tests that restart Redis use this, never the shared Redis at ``REDIS_URL``. Its data is in an
append-only file, so it outlives a restart as a production Redis's would.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.e2e.live import free_port

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server on PATH"
)


class RedisServer:
    """``redis-server`` in the foreground, as a child process of the test."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = directory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self._dir),
                "--logfile",
                str(self._dir / "redis.log"),
            ],
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.2, retry=None) as client:
                    if client.ping():
                        return
            except redis.ConnectionError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE, as an operator's restart does (the append-only file keeps the data)."""
        if self._process is None:
            return
        try:
            with redis.Redis(port=self.port, socket_connect_timeout=0.5, retry=None) as client:
                client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self._process = None

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class ResettingProxy:
    """A TCP proxy to a Redis that can reset every connection through it at once, as a
    restarted load balancer or a dropped NAT entry does: the client gets a TCP RST, which its
    connection pool does not notice until the connection is used."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def __aenter__(self) -> ResettingProxy:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}/0"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reset()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def reset(self) -> None:
        for writer in self._clients:
            if writer.transport.is_closing():
                continue
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # linger 0: the close is a RST
        self._clients.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._clients.add(writer)

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._clients.discard(writer)
