"""Upstream providers: one module per dialect, each implementing ``adapter.ports.VideoProvider``.

``_http`` is the shared HTTP boundary (client builder, httpx error translation).
"""

from __future__ import annotations

from adapter.providers._http import build_http_client, map_httpx_errors
from adapter.providers.kling import KlingProvider

__all__ = ["KlingProvider", "build_http_client", "map_httpx_errors"]
