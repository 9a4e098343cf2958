"""The simulated upstream that the e2e modules' shared-Redis processes talk to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.live import Live, simulate


@pytest.fixture(scope="module")
def upstream() -> Iterator[Live]:
    live = simulate()
    yield live
    live.stop()
