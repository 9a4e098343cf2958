"""Kling submit bodies of every family, validated as Kling validates them (HTTP 400, 1200/1201).

A body is first decoded into its family's Struct: a missing required field, a wrong type or a
value outside an enum answers code 1201 naming the field, and a body that is not JSON 1200.
Unknown fields (``camera_control``, ``element_list``, ``watermark_info``...) are accepted. The
checks then follow the model:

- ``model_name`` (or ``model``): text2video / image2video take ``kling-v1`` .. ``kling-v2-6``
  and ``kling-v3`` (default ``kling-v1``, as Kling's); omni-video takes ``kling-video-o1``
  (default), ``kling-v3-omni``, ``kling-v2-6`` and ``kling-v3``;
- ``duration`` is a string: ``"5"`` or ``"10"`` (default ``"5"``); ``"3"`` .. ``"15"`` for
  ``kling-v3`` / ``kling-v3-omni``, ``"3"`` .. ``"10"`` for ``kling-video-o1``;
- ``mode`` ``std`` | ``pro`` (default ``std``), or ``4k`` for ``kling-v3`` / ``kling-v3-omni``;
- ``sound`` ``on`` | ``off``; ``aspect_ratio`` ``16:9`` | ``9:16`` | ``1:1``, never on
  image2video (its ratio follows the image);
- text2video needs ``prompt`` (or ``multi_shot`` with ``multi_prompt``); image2video needs
  ``image`` or ``image_tail`` (first or last frame); omni-video needs ``prompt`` or
  ``multi_prompt``. Images (``image``, ``image_tail``, ``image_list[].image_url``) are URLs or
  raw base64, not ``data:`` URIs;
- ``multi_prompt`` holds 1-6 shots whose durations add up to ``duration``.

:func:`decode_order` reads any family's body, motion-control included, into an :class:`Order`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec

from adapter.simulator.media import duration_from_url, format_seconds
from adapter.simulator.state import Family
from adapter.simulator.wire import NonEmpty, Rejection, decode_submit

#: Every family, in the order the routes are listed.
FAMILIES: Final[tuple[Family, ...]] = ("motion-control", "text2video", "image2video", "omni-video")

DEFAULT_DURATION: Final = "5"
MOTION_CONTROL_MODEL: Final = "kling-v2-6"

_LEGACY: Final = ("5", "10")
_UP_TO_15: Final = tuple(str(n) for n in range(3, 16))
_UP_TO_10: Final = tuple(str(n) for n in range(3, 11))
#: model -> the durations it takes, per family.
_VIDEO_MODELS: Final[Mapping[str, tuple[str, ...]]] = {
    **dict.fromkeys(
        (
            "kling-v1",
            "kling-v1-5",
            "kling-v1-6",
            "kling-v2-master",
            "kling-v2-1",
            "kling-v2-1-master",
            "kling-v2-5-turbo",
            "kling-v2-6",
        ),
        _LEGACY,
    ),
    "kling-v3": _UP_TO_15,
}
_OMNI_MODELS: Final[Mapping[str, tuple[str, ...]]] = {
    "kling-video-o1": _UP_TO_10,
    "kling-v3-omni": _UP_TO_15,
    "kling-v2-6": _LEGACY,
    "kling-v3": _UP_TO_15,
}
_FOUR_K_MODELS: Final = frozenset({"kling-v3", "kling-v3-omni"})
_BASE64: Final = re.compile(r"[A-Za-z0-9+/\s]+={0,2}\s*")

Prompt = Annotated[str, msgspec.Meta(max_length=2500)]
Mode = Literal["std", "pro", "4k"]
Sound = Literal["on", "off"]
AspectRatio = Literal["16:9", "9:16", "1:1"]
CfgScale = Annotated[float, msgspec.Meta(ge=0, le=1)]


class Shot(msgspec.Struct, kw_only=True):
    """One shot of ``multi_prompt``."""

    index: int
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    duration: str


class _Common(msgspec.Struct, kw_only=True):
    """The fields every generation family shares."""

    model_name: str | None = None
    model: str | None = None
    prompt: Prompt | None = None
    negative_prompt: Prompt | None = None
    mode: Mode | None = None
    duration: str | None = None
    sound: Sound | None = None
    multi_shot: bool | None = None
    multi_prompt: Annotated[list[Shot], msgspec.Meta(min_length=1, max_length=6)] | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


class Text2VideoRequest(_Common, kw_only=True):
    cfg_scale: CfgScale | None = None
    aspect_ratio: AspectRatio | None = None


class Image2VideoRequest(_Common, kw_only=True):
    #: The first frame; ``image_tail`` the last. Kling needs at least one of them.
    image: NonEmpty | None = None
    image_tail: NonEmpty | None = None
    cfg_scale: CfgScale | None = None
    #: Not a field of image2video: any value is refused (its ratio follows the image).
    aspect_ratio: Any = None


class OmniImage(msgspec.Struct, kw_only=True):
    image_url: NonEmpty
    type: Literal["first_frame", "end_frame"] | None = None


class OmniVideoRequest(_Common, kw_only=True):
    aspect_ratio: AspectRatio | None = None
    image_list: list[OmniImage] | None = None


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted submit of any family, reduced to what the simulated task needs."""

    family: Family
    model_name: str
    #: The output video's duration as Kling writes it (``"5"``).
    duration: str
    #: ``""`` when none was given.
    external_task_id: str
    #: The text whose ``[sim:...]`` markers script the task (prompt and shot prompts).
    script_text: str | None
    #: Where to POST the task on each status change; ``""`` when none was given.
    callback_url: str = ""


_Body = TypeVar("_Body", bound=msgspec.Struct)


def _decoder(kind: type[_Body]) -> Callable[[bytes], _Body]:
    decode = msgspec.json.Decoder(kind).decode

    def read(body: bytes) -> _Body:
        try:
            return decode(body)
        except msgspec.ValidationError as exc:
            raise Rejection(400, 1201, str(exc)) from None
        except msgspec.DecodeError:
            raise Rejection(400, 1200, "request body is not valid JSON") from None

    return read


_read_text2video = _decoder(Text2VideoRequest)
_read_image2video = _decoder(Image2VideoRequest)
_read_omni_video = _decoder(OmniVideoRequest)


def decode_order(family: Family, body: bytes) -> Order:
    """The submit ``body`` of ``family``, validated as Kling validates it.

    Raises:
        Rejection: 400, code 1200 for a body that is not JSON, 1201 for a bad or missing field.
    """
    if family == "motion-control":
        return _motion_control(body)
    if family == "text2video":
        t2v = _read_text2video(body)
        if not t2v.prompt and not (t2v.multi_shot and t2v.multi_prompt):
            raise _bad("prompt is required for text2video")
        return _order(family, t2v, _VIDEO_MODELS, "kling-v1", shots_used=bool(t2v.multi_shot))
    if family == "image2video":
        i2v = _read_image2video(body)
        if i2v.aspect_ratio is not None:
            raise _bad("aspect_ratio is not supported by image2video (it follows the image)")
        if i2v.image is None and i2v.image_tail is None:
            raise _bad("image or image_tail is required for image2video")
        for field, frame in (("image", i2v.image), ("image_tail", i2v.image_tail)):
            if frame is not None:
                _check_image(field, frame)
        return _order(family, i2v, _VIDEO_MODELS, "kling-v1", shots_used=bool(i2v.multi_shot))
    omni = _read_omni_video(body)
    if not omni.prompt and not omni.multi_prompt:
        raise _bad("prompt or multi_prompt is required for omni-video")
    for n, image in enumerate(omni.image_list or ()):
        _check_image(f"image_list[{n}].image_url", image.image_url)
    return _order(family, omni, _OMNI_MODELS, "kling-video-o1", shots_used=True)


def _motion_control(body: bytes) -> Order:
    submit = decode_submit(body)
    seconds = duration_from_url(submit.video_url)
    return Order(
        family="motion-control",
        model_name=submit.model_name or submit.model or MOTION_CONTROL_MODEL,
        duration=format_seconds(seconds) if seconds is not None else DEFAULT_DURATION,
        external_task_id=submit.external_task_id or "",
        script_text=submit.prompt,
        callback_url=submit.callback_url or "",
    )


def _order(
    family: Family,
    body: _Common,
    models: Mapping[str, tuple[str, ...]],
    default_model: str,
    *,
    shots_used: bool,
) -> Order:
    model = body.model_name or body.model or default_model
    durations = models.get(model)
    if durations is None:
        raise _bad(f"model_name {model!r} is not supported by {family}: {', '.join(models)}")
    if body.mode == "4k" and model not in _FOUR_K_MODELS:
        raise _bad(f"mode '4k' is not supported by {model}: only kling-v3 models take it")
    duration = body.duration or DEFAULT_DURATION
    if duration not in durations:
        allowed = (
            f"{durations[0]}..{durations[-1]}" if len(durations) > 2 else " or ".join(durations)
        )
        raise _bad(f"duration {duration!r} is not supported by {model}: {allowed}")
    if shots_used and body.multi_prompt:
        _check_shots(body.multi_prompt, duration)
    shots = " ".join(shot.prompt for shot in body.multi_prompt or ())
    return Order(
        family=family,
        model_name=model,
        duration=duration,
        external_task_id=body.external_task_id or "",
        script_text=" ".join(text for text in (body.prompt, shots) if text) or None,
        callback_url=body.callback_url or "",
    )


def _check_shots(shots: list[Shot], duration: str) -> None:
    if not all(shot.duration.isdigit() for shot in shots):
        raise _bad("multi_prompt[].duration must be a whole number of seconds, as a string")
    total = sum(int(shot.duration) for shot in shots)
    if total != int(duration):
        raise _bad(f"multi_prompt durations add up to {total}, not the duration {duration}")


def _check_image(field: str, value: str) -> None:
    if value.startswith(("http://", "https://")):
        return
    if value.startswith("data:"):
        raise _bad(f"{field} must be a URL or raw base64, without a data: prefix")
    if not _BASE64.fullmatch(value):
        raise _bad(f"{field} must be a URL or raw base64")


def _bad(message: str) -> Rejection:
    return Rejection(400, 1201, message)
