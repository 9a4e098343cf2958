"""Input-media checks: the upstream's limits on images and videos, read cheaply and safely.

``HttpMediaInspector`` implements ``adapter.ports.MediaInspector``.
"""

from __future__ import annotations

from adapter.media.inspector import HttpMediaInspector

__all__ = ("HttpMediaInspector",)
