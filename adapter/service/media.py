"""Input media checks: the upstream's limits, and the reference video's real length."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.core.values import Notice
from adapter.ports import MediaInspector
from adapter.service.catalog import ModelSpec


class MediaFacts(msgspec.Struct, frozen=True):
    """What the checks learnt: the reference video's seconds, and notices for the task."""

    video_seconds: float | None = None
    notices: tuple[Notice, ...] = ()


async def check_media(
    spec: ModelSpec,
    values: Mapping[str, Any],
    inspector: MediaInspector,
    probe: Literal["required", "best_effort"],
) -> MediaFacts:
    """Check every media and URL field of ``values``; probe and bound the reference video.

    The checks run concurrently; the first that fails cancels the others (no probe keeps
    fetching for a request that has already been answered) and its error is raised.
    """
    try:
        async with asyncio.TaskGroup() as group:
            for param, image in _media_values(values, spec.media.images):
                formats = spec.media.image_formats
                group.create_task(inspector.inspect_image(image, param=param, formats=formats))
            for param, url in _media_values(values, spec.media.urls):
                group.create_task(inspector.check_url(url, param=param))
            videos = [
                group.create_task(_video_seconds(spec, values, field, inspector, probe))
                for field in spec.media.videos
                if values.get(field)
            ]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    probed = [task.result() for task in videos]
    seconds = max((duration for duration, _ in probed), default=None)
    notices = tuple(notice for _, notice in probed if notice is not None)
    return MediaFacts(video_seconds=seconds, notices=notices)


def _media_values(values: Mapping[str, Any], fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """``(param, value)`` for each media value in ``fields``; a list field gives one per item,
    and ``field[].key`` the ``key`` of each object in the list ``field``.

    An empty optional field means "none"; an empty list item is checked (and refused): a
    list of media has no place for a blank.
    """
    found: list[tuple[str, str]] = []
    for field in fields:
        name, _, key = field.partition("[].")
        value = values.get(name)
        if key:
            items = value if isinstance(value, list | tuple) else ()
            found.extend(
                (f"input.{name}[{i}].{key}", item[key])
                for i, item in enumerate(items)
                if isinstance(item, Mapping) and key in item
            )
        elif isinstance(value, list | tuple):
            found.extend((f"input.{field}[{i}]", item) for i, item in enumerate(value))
        elif value:
            found.append((f"input.{field}", value))
    return found


async def _video_seconds(
    spec: ModelSpec,
    values: Mapping[str, Any],
    field: str,
    inspector: MediaInspector,
    probe: Literal["required", "best_effort"],
) -> tuple[float, Notice | None]:
    param = f"input.{field}"
    bounds = spec.media.video_bounds(values)
    try:
        info = await inspector.inspect_video(values[field], param=param)
    except MediaUnreachable as exc:
        if probe == "required" or bounds is None:
            raise
        longest = bounds[1]
        return longest, Notice(
            code="video_duration_estimated",
            message=(
                f"{param} could not be probed ({exc.message}); the cost estimate assumes the "
                f"longest video allowed here, {longest:g} s."
            ),
        )
    if bounds is not None and not bounds[0] <= info.duration_s <= bounds[1]:
        low, high = bounds
        by = spec.media.video_seconds_by or ""
        picked = f"{by} {values.get(by)!r}"
        raise InvalidRequest(
            f"{param} is {info.duration_s:.2f} s long; {picked} needs a "
            f"{low:g}-{high:g} s reference video.",
            param,
        )
    return info.duration_s, None
