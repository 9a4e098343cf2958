"""The ``mindvideo_server`` fixture, for people who test their own code against MindVideo.

Installed with the package (entry point ``pytest11``: ``mindvideo``), so a test asks for it::

    def test_my_client_reports_a_failed_video(mindvideo_server):
        mindvideo_server.fail_next("content risk control")
        client = MyClient(mindvideo_server.base_url, mindvideo_server.api_key)
        assert client.generate("a cat").error == "content risk control"

One server runs for the whole session (it starts in well under a second); each test gets it
with no outcome left queued by another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from adapter.testing.server import MindVideoServer


@pytest.fixture(scope="session")
def mindvideo_session_server() -> Iterator[MindVideoServer]:
    """The session's server; tests use ``mindvideo_server``."""
    from adapter.testing.server import MindVideoServer  # only for sessions that use it

    with MindVideoServer() as server:
        yield server


@pytest.fixture
def mindvideo_server(mindvideo_session_server: MindVideoServer) -> Iterator[MindVideoServer]:
    """A MindVideo-compatible API on loopback: ``base_url``, ``api_key`` (a test key), and
    ``fail_next``, ``refuse_next``, ``script_next`` and ``clear`` to script the next tasks."""
    mindvideo_session_server.clear()
    yield mindvideo_session_server
    mindvideo_session_server.clear()
