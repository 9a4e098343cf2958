"""The simulated Replicate's create bodies, model inputs and answers (providers-research.md
sections 3, 4).

A create body is ``{"input": {...}, "webhook"?, "webhook_events_filter"?}``; its input is
validated as each model's input schema says: required fields, enums and types exactly
(``duration`` is an *integer* enum, ``keep_original_sound`` a boolean); unknown fields are
ignored. A bad body answers HTTP 422 problem details ``{"title": "Input validation failed",
"detail": "- input.<field>: <what>", "status": 422}``, the shape of Replicate's example
(``input.style_images: Invalid type. ...``). A ``webhook`` must be an HTTPS URL (Replicate's
create docs).

- ``kwaivgi/kling-v2.6-motion-control``: ``image`` and ``video`` required; ``prompt``;
  ``mode`` std | pro; ``character_orientation`` image | video; ``keep_original_sound``;
- ``kwaivgi/kling-v2.6``: ``prompt`` required (≤2500); ``negative_prompt``; ``start_image``;
  ``aspect_ratio`` 16:9 | 9:16 | 1:1; ``duration`` 5 | 10; ``generate_audio``;
- ``kwaivgi/kling-v3-video``: ``prompt`` required (≤2500); ``negative_prompt``;
  ``start_image``, ``end_image`` (only with ``start_image``); ``mode`` standard | pro;
  ``aspect_ratio``; ``duration`` 3..15; ``generate_audio``; ``multi_prompt`` a JSON string
  of 1..6 shots ``{prompt, duration ≥ 1}`` whose durations sum to ``duration``;
- ``wan-video/wan2.6-i2v-flash``: ``image`` and ``prompt`` required; ``negative_prompt``;
  ``duration`` 5 | 10 | 15; ``resolution`` 720p | 1080p; ``audio_enabled``; ``audio``;
  ``enable_prompt_expansion``; ``multi_shots``; ``seed``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Generic, Literal, TypeVar

import msgspec

from adapter.simulator.wire import NonEmpty

Prompt = Annotated[str, msgspec.Meta(max_length=2500)]
Aspect = Literal["16:9", "9:16", "1:1"]
INVALID: Final = "Input validation failed"


class Rejection(Exception):
    """A Replicate error answer: HTTP ``status``, the problem's ``title`` and ``detail``."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def invalid(field: str, what: str) -> Rejection:
    """HTTP 422 about one field (``input.prompt``, ``webhook``)."""
    return Rejection(422, INVALID, f"- {field}: {what}")


class MotionControl(msgspec.Struct, kw_only=True):
    image: NonEmpty
    video: NonEmpty
    prompt: Prompt = ""
    mode: Literal["std", "pro"] = "std"
    character_orientation: Literal["image", "video"] = "image"
    keep_original_sound: bool = True


class Kling26(msgspec.Struct, kw_only=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2500)]
    negative_prompt: Prompt = ""
    start_image: NonEmpty | None = None
    aspect_ratio: Aspect = "16:9"
    duration: Literal[5, 10] = 5
    generate_audio: bool = True


class KlingV3(msgspec.Struct, kw_only=True):
    prompt: Annotated[str, msgspec.Meta(min_length=1, max_length=2500)]
    negative_prompt: Prompt = ""
    start_image: NonEmpty | None = None
    end_image: NonEmpty | None = None
    mode: Literal["standard", "pro"] = "pro"
    aspect_ratio: Aspect = "16:9"
    duration: Annotated[int, msgspec.Meta(ge=3, le=15)] = 5
    generate_audio: bool = False
    multi_prompt: str | None = None


class Shot(msgspec.Struct):
    prompt: NonEmpty
    duration: Annotated[int, msgspec.Meta(ge=1)]


class WanFlash(msgspec.Struct, kw_only=True):
    image: NonEmpty
    prompt: NonEmpty
    negative_prompt: str = ""
    duration: Literal[5, 10, 15] = 5
    resolution: Literal["720p", "1080p"] = "720p"
    audio_enabled: bool = True
    audio: NonEmpty | None = None
    enable_prompt_expansion: bool = True
    multi_shots: bool = False
    seed: int | None = None


Input = MotionControl | Kling26 | KlingV3 | WanFlash

Event = Literal["start", "output", "logs", "completed"]


InputT = TypeVar("InputT", MotionControl, Kling26, KlingV3, WanFlash)


class _Body(msgspec.Struct, Generic[InputT], kw_only=True):
    input: InputT
    webhook: str | None = None
    webhook_events_filter: list[Event] | None = None


#: Every model the simulator serves, by ``owner/name``: its create body's decoder.
_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "kwaivgi/kling-v2.6-motion-control": msgspec.json.Decoder(_Body[MotionControl]),
    "kwaivgi/kling-v2.6": msgspec.json.Decoder(_Body[Kling26]),
    "kwaivgi/kling-v3-video": msgspec.json.Decoder(_Body[KlingV3]),
    "wan-video/wan2.6-i2v-flash": msgspec.json.Decoder(_Body[WanFlash]),
}
MODELS: Final = frozenset(_DECODERS)
_SHOTS: Final = msgspec.json.Decoder(
    Annotated[list[Shot], msgspec.Meta(min_length=1, max_length=6)]
)
_AT: Final = re.compile(r" - at `\$((?:\.\w+|\[\d+\])*)`$")


class Create(msgspec.Struct):
    """A create, validated: the model's input and the webhook, if any."""

    input: Input
    webhook: str | None


def decode_create(model: str, body: bytes) -> Create:
    """The create body of ``model``, validated as Replicate validates it.

    Raises:
        Rejection: 422 naming the field and what is wrong with it.
    """
    try:
        given = _DECODERS[model].decode(body)
    except msgspec.ValidationError as exc:
        raise _rejection(str(exc)) from None
    except msgspec.DecodeError:
        raise Rejection(400, "Invalid JSON", "The request body is not valid JSON") from None
    if given.webhook is not None and not given.webhook.startswith("https://"):
        raise invalid("webhook", "must be an HTTPS URL")
    if isinstance(given.input, KlingV3):
        _check_v3(given.input)
    return Create(given.input, given.webhook)


def _check_v3(given: KlingV3) -> None:
    if given.end_image is not None and given.start_image is None:
        raise invalid("input.end_image", "end_image requires start_image")
    if given.multi_prompt is None:
        return
    try:
        shots = _SHOTS.decode(given.multi_prompt)
    except msgspec.DecodeError as exc:
        raise invalid("input.multi_prompt", f"not a JSON list of shots: {exc}") from None
    if sum(shot.duration for shot in shots) != given.duration:
        raise invalid("input.multi_prompt", f"the shots' durations must sum to {given.duration}")


def _rejection(message: str) -> Rejection:
    """msgspec's ``Expected `int`, got `str` - at `$.input.duration``` as Replicate's detail."""
    match = _AT.search(message)
    path = match.group(1).lstrip(".") if match else ""
    text = message[: match.start()] if match else message
    missing = re.fullmatch(r"Object missing required field `(\w+)`", text)
    if missing:
        return invalid(path or "body", f"{missing.group(1)} is required")
    return invalid(path or "body", text)


def prompt_of(given: Input) -> str:
    """The text whose markers script the prediction."""
    return given.prompt


def seconds_of(given: Input) -> int | None:
    """The output's length as the input asks, when it does (not motion control's)."""
    return getattr(given, "duration", None)


# --- answers ----------------------------------------------------------------------------------


class Urls(msgspec.Struct):
    get: str
    cancel: str
    web: str


class Prediction(msgspec.Struct):
    """A prediction, as create, get and cancel answer it."""

    id: str
    model: str
    version: str
    input: dict[str, Any]
    logs: str
    output: str | None
    data_removed: bool
    error: str | None
    status: str
    created_at: str
    started_at: str | None
    completed_at: str | None
    urls: Urls
    metrics: dict[str, float]
    source: str = "api"


class Problem(msgspec.Struct, omit_defaults=True):
    detail: str
    title: str | None = None
    status: int | None = None
