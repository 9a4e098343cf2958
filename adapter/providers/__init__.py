"""Upstream providers: one module per dialect, each implementing ``adapter.ports.VideoProvider``.

``_http`` is their shared HTTP boundary (httpx error translation, answers that are not the
API, ``Retry-After``); the client itself is built by ``adapter.outbound.client``.
"""

from __future__ import annotations

from adapter.providers._http import map_httpx_errors
from adapter.providers.kling.provider import KlingProvider

__all__ = ["KlingProvider", "map_httpx_errors"]
