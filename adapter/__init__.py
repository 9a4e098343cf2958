"""mindvideo-adapter: a MindVideo-compatible video generation task API."""

from __future__ import annotations

__version__ = "0.1.0"
