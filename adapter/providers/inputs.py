"""What the mappings of hosts that carry our models beside Kling (fal, Replicate) read from
our inputs the same way, and how they refuse an input their host cannot make as it was asked.

An input a host cannot take (a tier or duration it lacks, an option it has no field for)
raises :class:`Unservable` before anything is sent: the provider answers it as unavailable,
so the router tries the next provider and the task is never made without what it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Values = Mapping[str, Any]

#: The lengths Wan 2.6 flash makes on fal and Replicate (ours: 2 to 15 s).
WAN_FLASH_DURATIONS = (5, 10, 15)


class Unservable(Exception):
    """The host cannot make this input as it was asked for; the message says why."""


def strings(values: Values, field: str) -> list[str]:
    """The non-empty items of a list field (``image_urls``)."""
    return [item for item in values.get(field) or () if item]


def kling_frames(values: Values, host: str) -> tuple[str | None, str | None]:
    """Kling v3's first and last frame: the explicit ones, else ``image_urls[0]``/``[1]``
    (as on Kling). More images are reference images, and a last frame needs a first: the
    hosts' image to video has neither."""
    urls = strings(values, "image_urls")
    first = values.get("first_frame_image") or None
    last = values.get("last_frame_image") or None
    references = urls if first or last else urls[2:]
    if not (first or last):
        first, last = (urls[0] if urls else None), (urls[1] if len(urls) > 1 else None)
    if references:
        raise Unservable(
            f"{host}'s Kling v3 takes no reference images beyond the first and last frame"
        )
    if last and not first:
        raise Unservable(f"{host}'s Kling v3 image to video needs a first frame")
    return first, last


def wan_flash_limits(values: Values, host: str) -> int:
    """The duration of a Wan 2.6 flash input both hosts can make: 5, 10 or 15 s, with a
    prompt, and no template or watermark (neither host has the options)."""
    duration = int(values.get("duration", 5))
    if duration not in WAN_FLASH_DURATIONS:
        raise Unservable(f"{host}'s Wan 2.6 flash makes 5, 10 or 15 s videos, not {duration} s")
    if not (values.get("prompt") or "").strip():
        raise Unservable(f"{host}'s Wan 2.6 flash needs a prompt")
    if values.get("template"):
        raise Unservable(f"{host}'s Wan 2.6 flash has no template option")
    if values.get("watermark"):
        raise Unservable(f"{host}'s Wan 2.6 flash has no watermark option")
    return duration
