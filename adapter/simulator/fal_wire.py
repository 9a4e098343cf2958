"""The simulated fal queue's model inputs and answers (providers-research.md sections 1, 2).

Each endpoint's input is validated as fal's models validate theirs (the endpoint types of
fal-ai/fal-js ``types/endpoints.ts``@381105e1): required fields, enums, and types exactly
(``duration`` is a *string* enum on Kling and Wan 2.6); unknown fields are ignored. A bad
body answers HTTP 422 ``{"detail": [{"loc": ["body", <field>...], "msg", "type"}]}``.

- ``fal-ai/kling-video/v2.6/{standard,pro}/motion-control``: ``image_url``, ``video_url``
  and ``character_orientation`` (``image`` | ``video``) required; ``keep_original_sound``
  a boolean; ``prompt``;
- ``fal-ai/kling-video/v2.6/pro/text-to-video``: ``prompt`` required, ``duration`` "5" |
  "10", ``aspect_ratio`` 16:9 | 9:16 | 1:1, ``negative_prompt``, ``cfg_scale`` 0..1,
  ``generate_audio``; ``.../image-to-video`` has ``start_image_url`` (required) and
  ``end_image_url`` instead of ``aspect_ratio`` and ``cfg_scale``;
- ``fal-ai/kling-video/v3/{standard,pro,4k}/text-to-video``: ``prompt`` or ``multi_prompt``
  (exactly one; shots ``{prompt, duration: "1".."15"}``), ``shot_type`` customize |
  intelligent, ``duration`` "3".."15", ``aspect_ratio``, ``negative_prompt``, ``cfg_scale``,
  ``generate_audio``; ``.../image-to-video`` has ``start_image_url`` (required),
  ``end_image_url`` and ``elements`` instead of ``aspect_ratio``;
- ``wan/v2.6/image-to-video/flash``: ``image_url`` and ``prompt`` (≤1500) required,
  ``duration`` "5" | "10" | "15", ``resolution`` 720p | 1080p, ``generate_audio``,
  ``audio_url``, ``negative_prompt`` (≤500), ``enable_prompt_expansion``, ``multi_shots``,
  ``seed``, ``enable_safety_checker``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

import msgspec

from adapter.simulator.wire import NonEmpty

Prompt = Annotated[str, msgspec.Meta(max_length=2500)]
Aspect = Literal["16:9", "9:16", "1:1"]
V3Seconds = Literal["3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"]
ShotSeconds = Literal["1", "2", V3Seconds]
Scale = Annotated[float, msgspec.Meta(ge=0, le=1)]


class Rejection(Exception):
    """A fal error answer: HTTP ``status`` and its ``detail`` (a list of items, or text)."""

    def __init__(self, status: int, detail: list[dict[str, Any]] | str) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def invalid(field: str, msg: str, kind: str = "value_error") -> Rejection:
    """HTTP 422 about one body field."""
    return Rejection(422, [{"loc": ["body", field], "msg": msg, "type": kind}])


class MotionControl(msgspec.Struct, kw_only=True):
    image_url: NonEmpty
    video_url: NonEmpty
    character_orientation: Literal["image", "video"]
    keep_original_sound: bool = True
    prompt: Prompt | None = None


class Kling26T2V(msgspec.Struct, kw_only=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2500)]
    duration: Literal["5", "10"] = "5"
    aspect_ratio: Aspect = "16:9"
    negative_prompt: Prompt | None = None
    cfg_scale: Scale = 0.5
    generate_audio: bool = True


class Kling26I2V(msgspec.Struct, kw_only=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2500)]
    start_image_url: NonEmpty
    end_image_url: NonEmpty | None = None
    duration: Literal["5", "10"] = "5"
    negative_prompt: Prompt | None = None
    generate_audio: bool = True
    voice_ids: Annotated[list[str], msgspec.Meta(max_length=2)] | None = None


class Shot(msgspec.Struct, kw_only=True):
    prompt: NonEmpty
    duration: ShotSeconds


class KlingV3T2V(msgspec.Struct, kw_only=True):
    prompt: Prompt | None = None
    multi_prompt: Annotated[list[Shot], msgspec.Meta(min_length=1, max_length=6)] | None = None
    shot_type: Literal["customize", "intelligent"] = "customize"
    duration: V3Seconds = "5"
    aspect_ratio: Aspect = "16:9"
    negative_prompt: Prompt | None = None
    cfg_scale: Scale = 0.5
    generate_audio: bool = True


class KlingV3I2V(msgspec.Struct, kw_only=True):
    start_image_url: NonEmpty
    prompt: Prompt | None = None
    multi_prompt: Annotated[list[Shot], msgspec.Meta(min_length=1, max_length=6)] | None = None
    shot_type: Literal["customize", "intelligent"] = "customize"
    duration: V3Seconds = "5"
    end_image_url: NonEmpty | None = None
    elements: list[dict[str, Any]] | None = None
    negative_prompt: Prompt | None = None
    cfg_scale: Scale = 0.5
    generate_audio: bool = True


class WanFlash(msgspec.Struct, kw_only=True):
    image_url: NonEmpty
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=1500)]
    duration: Literal["5", "10", "15"] = "5"
    resolution: Literal["720p", "1080p"] = "1080p"
    generate_audio: bool = True
    audio_url: NonEmpty | None = None
    negative_prompt: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    enable_prompt_expansion: bool = True
    multi_shots: bool = False
    seed: int | None = None
    enable_safety_checker: bool = True


Input = MotionControl | Kling26T2V | Kling26I2V | KlingV3T2V | KlingV3I2V | WanFlash

_KLING = "fal-ai/kling-video"
#: Every endpoint id the simulator serves, and its input.
ENDPOINTS: Final[dict[str, type[Input]]] = {
    f"{_KLING}/v2.6/standard/motion-control": MotionControl,
    f"{_KLING}/v2.6/pro/motion-control": MotionControl,
    f"{_KLING}/v2.6/pro/text-to-video": Kling26T2V,
    f"{_KLING}/v2.6/pro/image-to-video": Kling26I2V,
    **{f"{_KLING}/v3/{tier}/text-to-video": KlingV3T2V for tier in ("standard", "pro", "4k")},
    **{f"{_KLING}/v3/{tier}/image-to-video": KlingV3I2V for tier in ("standard", "pro", "4k")},
    "wan/v2.6/image-to-video/flash": WanFlash,
}
_DECODERS: Final = {endpoint: msgspec.json.Decoder(kind) for endpoint, kind in ENDPOINTS.items()}
_AT: Final = re.compile(r" - at `\$((?:\.\w+|\[\d+\])*)`$")
_PART: Final = re.compile(r"\.(\w+)|\[(\d+)\]")


def decode_input(endpoint: str, body: bytes) -> Input:
    """The input of ``endpoint``, validated as its model validates it.

    Raises:
        Rejection: 422 naming the field (``loc``) and what is wrong with it.
    """
    try:
        given = _DECODERS[endpoint].decode(body)
    except msgspec.ValidationError as exc:
        raise _rejection(str(exc)) from None
    except msgspec.DecodeError:
        raise Rejection(
            422, [{"loc": ["body"], "msg": "Invalid JSON", "type": "json_invalid"}]
        ) from None
    if isinstance(given, KlingV3T2V | KlingV3I2V) and (given.prompt is None) == (
        given.multi_prompt is None
    ):
        raise invalid("prompt", "Exactly one of prompt or multi_prompt must be provided")
    return given


def _rejection(message: str) -> Rejection:
    """msgspec's ``Object missing required field `x` - at `$.y``` as fal's detail item."""
    match = _AT.search(message)
    path = match.group(1) if match else ""
    text = message[: match.start()] if match else message
    loc: list[str | int] = ["body"]
    for name, index in _PART.findall(path):
        loc.append(name if name else int(index))
    missing = re.fullmatch(r"Object missing required field `(\w+)`", text)
    if missing:
        loc.append(missing.group(1))
        return Rejection(422, [{"loc": loc, "msg": "Field required", "type": "missing"}])
    return Rejection(422, [{"loc": loc, "msg": text, "type": "value_error"}])


def prompt_of(given: Input) -> str | None:
    """The text whose markers script the request: ``prompt``, else the shots' prompts."""
    prompt = getattr(given, "prompt", None)
    shots = getattr(given, "multi_prompt", None) or []
    if prompt is None and shots:
        return " ".join(shot.prompt for shot in shots)
    return prompt


def seconds_of(given: Input) -> str | None:
    """The output's length as the input asks, when it does (motion control: the reference
    video's)."""
    return getattr(given, "duration", None)


# --- answers ----------------------------------------------------------------------------------


class QueueStatus(msgspec.Struct, omit_defaults=True):
    """A submit's answer, or a request's status."""

    status: str
    request_id: str
    response_url: str
    status_url: str
    cancel_url: str
    queue_position: int | None = None
    logs: list[Any] | None = None
    metrics: dict[str, float] | None = None
    error: str | None = None
    error_type: str | None = None


class VideoFile(msgspec.Struct, omit_defaults=True):
    url: str
    content_type: str
    file_name: str
    duration: float | None = None


class Output(msgspec.Struct):
    """A Kling or Wan model's output: ``{"video": File}``."""

    video: VideoFile


class Detail(msgspec.Struct):
    detail: list[dict[str, Any]] | str


class CancelAnswer(msgspec.Struct):
    status: str
