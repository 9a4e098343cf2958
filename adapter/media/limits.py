"""The upstream's size limits on input media (Kling motion control), and their message."""

from __future__ import annotations

#: Images: jpg/jpeg/png, at most 10 MB.
IMAGE_MAX_BYTES = 10 * 1024 * 1024
#: Videos: mp4/mov, at most 100 MB.
VIDEO_MAX_BYTES = 100 * 1024 * 1024


def too_large(param: str, kind: str, size: int, max_bytes: int) -> str:
    """The message for a ``kind`` ("image", "video") over its limit."""
    return f"{param} is {megabytes(size)}; the {kind} may be at most {megabytes(max_bytes)}."


def megabytes(size: int) -> str:
    """``size`` for humans: "10 MB", "12.5 MB"."""
    return f"{size / 2**20:.1f} MB".replace(".0 MB", " MB")
