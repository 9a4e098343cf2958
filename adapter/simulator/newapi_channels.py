"""The vendor channels behind stock new-api's generic task route, and the vendors' checks.

What a stock new-api (``docs/upstreams/new-api.md``, snapshot ``2b0efd8``) does with a
``POST /v1/video/generations`` body once its distributor has found a channel for ``model``,
and what the simulated vendor behind that channel accepts:

1. The body is read as its ``TaskSubmitReq``: ``prompt``, ``mode``, ``image``, ``size``,
   ``seconds`` and ``input_reference`` must be strings and ``images`` a list of strings (else
   HTTP 400 ``invalid_request``, ``invalid_json`` on Ali); ``duration`` is an int or a numeric
   string (anything else counts as 0); ``metadata`` an object or a JSON string of one (anything
   else is ignored); other keys are dropped. An empty ``prompt`` is 400 ``invalid_request``
   "prompt is required"; a duration (or, without one, ``seconds``) outside 0..3600 is 400
   ``invalid_seconds``. A lone ``image`` stands for ``images`` (on Ali ``input_reference``
   replaces them).
2. The channel's adaptor builds the vendor body. Metadata lands on it as Go's
   ``encoding/json`` would put it on the adaptor's struct: known keys only, matched without
   regard to case (``aspect_ratio`` is not ``aspectRatio``), and a value of the wrong JSON
   type fails the build: HTTP 500 ``build_request_failed`` (Doubao takes numeric and boolean
   strings).
3. The simulated vendor checks the body. Its refusal comes back as new-api wraps one: HTTP
   <its status> ``{"code": "fail_to_fetch_task", "message": "<the raw vendor body>"}`` (a
   429 with new-api's own words; MiniMax refuses in an HTTP 200, which new-api answers with
   HTTP 400 and MiniMax's numeric code as ``code``).

The channels (:func:`channel_of`):

- ``ali`` (``wan*``, ``happyhorse*``): DashScope's ``{model, input: {prompt, img_url: the
  first image}, parameters: {prompt_extend: true, duration: duration or 5}}``; a ``size``
  with ``*`` is ``parameters.size``, another (``720p``) is ``parameters.resolution``
  (``720P``) and a build error on a ``t2v`` model; without ``size``, ``t2v`` models get
  ``size`` 1920*1080 (wan2.5, wan2.2) or 1280*720, the others ``resolution`` 1080P (wan2.6,
  wan2.5, wan2.2-i2v-plus) or 720P. ``metadata`` is merged over the whole body (``input`` and
  ``parameters`` key by key; another ``model`` is a build error). The simulated DashScope's
  own validation (``dashscope_wire.py``) then applies.
- ``vidu`` (``vidu*``): ``text2video`` / ``img2video`` / ``start-end2video`` /
  ``reference2video`` by image count (0, 1, 2, more), or ``metadata.action``; ``resolution``
  ``size`` or ``1080p`` (540p, 720p, 1080p); duration 1..16, default 5; flat metadata
  ``images, prompt, duration, seed, resolution, movement_amplitude, bgm, payload,
  callback_url``. ``viduq3`` (not ``-pro`` / ``-turbo``) needs an image.
- ``gemini`` (``veo-*``): Veo's ``predictLongRunning`` body. ``images[0]`` is used only as a
  ``data:`` URI or bare base64 (an ``http(s)`` URL is dropped: text to video). ``size`` sets
  ``resolution`` (by the longer side: 3840 4k, 1920 1080p, else 720p) and ``aspectRatio``
  (by orientation) unless metadata does; a ``size`` that is not ``WxH`` means 720p 16:9, as
  stock new-api reads it, without a word. camelCase metadata ``durationSeconds`` (4, 6, 8),
  ``aspectRatio`` (16:9, 9:16), ``resolution`` (720p, 1080p), ``negativePrompt``,
  ``personGeneration`` (allow_all, allow_adult, disallow), ``storageUri``,
  ``compressionQuality``, ``resizeMode`` (pad, crop), ``seed``, ``generateAudio``; others
  (``sampleCount``, ``enhancePrompt``) are dropped, as new-api drops them. Lasts
  ``durationSeconds``, else ``duration``, else 8 s.
- ``doubao`` (``doubao-seedance*``): Ark's ``content`` (an ``image_url`` item per image, then
  the prompt); top-level ``duration`` and ``size`` are ignored; flat metadata (``duration``
  2..12, default 5; ``resolution`` 480p, 720p, 1080p, default 720p; ``ratio`` 16:9, 4:3, 1:1,
  3:4, 9:16, 21:9, adaptive; ``generate_audio``, ``seed``, ``watermark``, ``camera_fixed``,
  ...); ``seconds`` overrides the duration.
- ``hailuo`` (``MiniMax-*``): MiniMax's ``{model, prompt, duration: duration or 6,
  resolution}``, the resolution matched in ``size`` (1080, 768, 720, 512; default 768P on
  Hailuo-2.3, 2.3-Fast, 02, 720P otherwise); images are ignored (frames go in metadata);
  flat metadata ``model, prompt, prompt_optimizer, fast_pretreatment, duration, resolution,
  callback_url, aigc_watermark, first_frame_image, last_frame_image, subject_reference``.

Everything here is pure: :func:`submit` turns a body into an :class:`Order`, and
:func:`vendor_body` gives a task's raw vendor poll answer (TaskDto ``data``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import msgspec

from adapter.simulator import dashscope_wire as dw
from adapter.simulator.state import Progress, SimTask

Channel = Literal["ali", "vidu", "gemini", "doubao", "hailuo"]
Kind = Literal["str", "int", "bool", "list"]

#: new-api's channel type of each channel: a TaskDto's ``platform``.
PLATFORMS: Final[Mapping[Channel, str]] = {
    "ali": "17",
    "vidu": "52",
    "gemini": "24",
    "doubao": "54",
    "hailuo": "35",
}
#: What new-api says instead of the upstream's words when its upstream answers 429.
BUSY: Final = "当前分组上游负载已饱和，请稍后再试"
_PREFIXES: Final[tuple[tuple[str, Channel], ...]] = (
    ("wan", "ali"),
    ("happyhorse", "ali"),
    ("vidu", "vidu"),
    ("veo-", "gemini"),
    ("doubao-seedance", "doubao"),
    ("MiniMax-", "hailuo"),
)
_STRINGS: Final = ("prompt", "mode", "image", "size", "seconds", "input_reference")
_INT: Final = re.compile(r"[-+]?\d+")
_GO_TYPES: Final[Mapping[Kind, str]] = {
    "str": "string",
    "int": "int",
    "bool": "bool",
    "list": "[]interface {}",
}
_MISSING: Final = object()
_ARK_INVALID: Final = ("InvalidParameter", "BadRequest")


class TaskRefusal(Exception):
    """new-api's task error: HTTP ``status``, ``{"code", "message", "data": null}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _VendorError(Exception):
    """The simulated vendor refuses the body it was sent (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 400, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


class TaskRequest(msgspec.Struct, frozen=True, kw_only=True):
    """new-api's ``TaskSubmitReq`` after its validator: the fields its adaptors read."""

    model: str
    prompt: str
    images: tuple[str, ...]
    size: str
    duration: int
    seconds: str
    metadata: dict[str, Any]


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel asked its vendor for, as far as the task's answers need it."""

    channel: Channel
    #: The model the vendor was asked for.
    model: str
    #: The prompt the vendor got: its markers script the task.
    prompt: str
    #: new-api's task action (``textGenerate``, ``generate``, ``firstTailGenerate``, ...).
    action: str
    #: The output video's length, in seconds.
    duration: int
    #: The output's resolution, as the vendor writes it.
    resolution: str


def channel_of(model: str) -> Channel | None:
    """The channel new-api's distributor picks for ``model``, or ``None`` for none."""
    for prefix, channel in _PREFIXES:
        if model.startswith(prefix):
            return channel
    return None


def submit(channel: Channel, body: dict[str, Any]) -> Order:
    """Relay ``body`` through ``channel`` to its simulated vendor, as new-api does.

    Raises:
        TaskRefusal: new-api's 400 for the request, 500 ``build_request_failed``, or the
            vendor's refusal wrapped.
    """
    request = parse_request(channel, body)
    try:
        return _BUILDERS[channel](request)
    except _VendorError as exc:
        raise vendor_refusal(channel, exc.status, exc.message, exc.code) from None


def parse_request(channel: Channel, body: dict[str, Any]) -> TaskRequest:
    """``body`` as new-api's ``TaskSubmitReq``, checked by the channel's validator.

    Raises:
        TaskRefusal: 400 ``invalid_request`` / ``invalid_json`` / ``invalid_seconds``.
    """
    bad = "invalid_json" if channel == "ali" else "invalid_request"
    for name in _STRINGS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise TaskRefusal(400, bad, _go_error(f"TaskSubmitReq.{name}", "string", value))
    images = body.get("images") or []
    if not (isinstance(images, list) and all(isinstance(image, str) for image in images)):
        raise TaskRefusal(400, bad, _go_error("TaskSubmitReq.images", "[]string", images))
    prompt: str = body.get("prompt") or ""
    if not prompt.strip():
        raise TaskRefusal(400, "invalid_request", "prompt is required")
    duration = _duration(body.get("duration"))
    seconds: str = body.get("seconds") or ""
    bound = duration or (int(seconds) if _INT.fullmatch(seconds) else 0)
    if not 0 <= bound <= 3600:
        raise TaskRefusal(400, "invalid_seconds", "duration must be between 0 and 3600 seconds")
    image, reference = body.get("image") or "", body.get("input_reference") or ""
    if channel == "ali" and reference:
        images = [reference]
    elif not images and image:
        images = [image]
    return TaskRequest(
        model=body["model"],
        prompt=prompt,
        images=tuple(images),
        size=body.get("size") or "",
        duration=duration,
        seconds=seconds,
        metadata=_metadata(body.get("metadata")),
    )


def vendor_refusal(channel: Channel, status: int, message: str, code: str = "") -> TaskRefusal:
    """The vendor's refusal (HTTP ``status``) of a submit, as new-api answers it."""
    if status == 429:
        return TaskRefusal(429, "fail_to_fetch_task", BUSY)
    if channel == "hailuo" and status == 400:
        # MiniMax refuses in an HTTP 200 ``base_resp``; new-api answers 400 with its code.
        return TaskRefusal(400, "2013", message)
    failed = status >= 500
    raw: dict[str, Any]
    if channel == "ali":
        code = code or ("InternalError" if failed else "InvalidParameter")
        raw = {"request_id": str(uuid.uuid4()), "code": code, "message": message}
    elif channel == "vidu":
        raw = {"err_code": "InternalError" if failed else "InvalidParameter", "message": message}
    elif channel == "gemini":
        reason = "INTERNAL" if failed else "INVALID_ARGUMENT"
        raw = {"error": {"code": status, "message": message, "status": reason}}
    elif channel == "doubao":
        code, kind = ("InternalServiceError", "InternalError") if failed else _ARK_INVALID
        raw = {"error": {"code": code, "message": message, "type": kind}}
    else:
        raw = {"base_resp": {"status_code": 1000, "status_msg": message}}
    return TaskRefusal(status, "fail_to_fetch_task", json.dumps(raw, ensure_ascii=False))


# --- the adaptors ---------------------------------------------------------------------------


def _ali(request: TaskRequest) -> Order:
    model = request.model
    parameters: dict[str, Any] = {"prompt_extend": True}
    given: dict[str, Any] = {"prompt": request.prompt}
    first = next((image for image in request.images if image), "")
    if first:
        given["img_url"] = first
    if "*" in request.size:
        parameters["size"] = request.size
    elif request.size and "t2v" in model:
        raise _build_error(f"invalid size: {request.size}, example: 1920*1080")
    elif request.size:
        resolution = request.size.upper()
        parameters["resolution"] = resolution if resolution.endswith("P") else f"{resolution}P"
    elif "t2v" in model:
        parameters["size"] = "1920*1080" if ("wan2.5" in model or "wan2.2" in model) else "1280*720"
    else:
        big = model.startswith(("wan2.6", "wan2.5", "wan2.2-i2v-plus"))
        parameters["resolution"] = "1080P" if big else "720P"
    parameters["duration"] = _ali_duration(request)
    body: dict[str, Any] = {"model": model, "input": given, "parameters": parameters}
    _merge_ali(body, request.metadata)
    try:
        synthesis = dw.decode_synthesis(msgspec.json.encode(body))
    except dw.Rejection as exc:
        raise _VendorError(exc.message, exc.status, exc.code) from None
    action = "generate" if synthesis.input.img_url or synthesis.input.media else "textGenerate"
    return Order(
        channel="ali",
        model=model,
        prompt=synthesis.input.prompt or "",
        action=action,
        duration=dw.duration_of(synthesis),
        resolution=dw.resolution_of(synthesis),
    )


def _ali_duration(request: TaskRequest) -> int:
    if request.duration > 0:
        return request.duration
    if request.seconds and not _INT.fullmatch(request.seconds):
        raise _build_error(f"invalid seconds: {request.seconds}")
    return int(request.seconds) if request.seconds else dw.DEFAULT_DURATION


def _merge_ali(body: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Metadata over the whole DashScope body: ``input`` and ``parameters`` key by key."""
    for key, value in metadata.items():
        if key == "model":
            if value != body["model"]:
                raise _build_error("can't change model with metadata")
        elif key in ("input", "parameters"):
            if value is None:
                continue
            if not isinstance(value, dict):
                raise _build_error(_go_error(f"AliVideoRequest.{key}", "struct", value))
            body[key].update(value)
        else:
            body[key] = value


_VIDU_ACTIONS: Final = {
    "textGenerate": "text2video",
    "generate": "img2video",
    "firstTailGenerate": "start-end2video",
    "referenceGenerate": "reference2video",
}
_VIDU_FIELDS: Final[Mapping[str, Kind]] = {
    "images": "list",
    "prompt": "str",
    "duration": "int",
    "seed": "int",
    "resolution": "str",
    "movement_amplitude": "str",
    "bgm": "bool",
    "payload": "str",
    "callback_url": "str",
}


def _vidu(request: TaskRequest) -> Order:
    count = len(request.images)
    actions = list(_VIDU_ACTIONS)
    action = actions[min(count, 3)]
    chosen = _field(request.metadata, "action")
    if chosen is not _MISSING and chosen is not None:
        if not isinstance(chosen, str) or chosen not in _VIDU_ACTIONS:
            raise _build_error(f"unsupported action: {chosen}")
        action = chosen
    endpoint = _VIDU_ACTIONS[action]
    model = request.model
    if endpoint == "reference2video" and "viduq2" in model:
        model = "viduq2"
    body: dict[str, Any] = {
        "model": model,
        "images": list(request.images) or None,
        "prompt": request.prompt,
        "duration": request.duration or 5,
        "resolution": request.size or "1080p",
        "movement_amplitude": "auto",
        "bgm": False,
    }
    _overlay(body, request.metadata, _VIDU_FIELDS)
    _vidu_accepts(model, endpoint, body)
    return Order(
        channel="vidu",
        model=model,
        prompt=body["prompt"],
        action=action,
        duration=body["duration"],
        resolution=body["resolution"],
    )


def _vidu_accepts(model: str, endpoint: str, body: dict[str, Any]) -> None:
    images = body["images"] or []
    if body["resolution"] not in ("540p", "720p", "1080p"):
        raise _VendorError(f"resolution must be 540p, 720p or 1080p, not {body['resolution']!r}")
    if not 1 <= body["duration"] <= 16:
        raise _VendorError(f"duration must be 1..16, not {body['duration']}")
    if body["movement_amplitude"] not in ("auto", "small", "medium", "large"):
        raise _VendorError("movement_amplitude must be auto, small, medium or large")
    if model == "viduq3" and not images:
        raise _VendorError("viduq3 needs at least one image: use viduq3-pro for text to video")
    wanted = {"img2video": (1, 1), "start-end2video": (2, 2), "reference2video": (1, 7)}
    low, high = wanted.get(endpoint, (0, len(images)))
    if not low <= len(images) <= high:
        raise _VendorError(f"{endpoint} takes {low}..{high} images, not {len(images)}")


_VEO_FIELDS: Final[Mapping[str, Kind]] = {
    "durationSeconds": "int",
    "aspectRatio": "str",
    "resolution": "str",
    "negativePrompt": "str",
    "personGeneration": "str",
    "storageUri": "str",
    "compressionQuality": "str",
    "resizeMode": "str",
    "seed": "int",
    "generateAudio": "bool",
}
_PIXELS: Final = re.compile(r"(\d+)x(\d+)")


def _veo_size(size: str) -> tuple[str, str]:
    """``resolution`` and ``aspectRatio`` from a ``size``: ``WxH``, else 720p 16:9."""
    match = _PIXELS.fullmatch(size)
    if match is None:
        return "720p", "16:9"
    width, height = int(match.group(1)), int(match.group(2))
    longer = max(width, height)
    resolution = "4k" if longer >= 3840 else "1080p" if longer >= 1920 else "720p"
    return resolution, "9:16" if height > width else "16:9"


_VEO_CHOICES: Final[Mapping[str, tuple[Any, ...]]] = {
    "aspectRatio": ("16:9", "9:16"),
    "resolution": ("720p", "1080p"),
    "durationSeconds": (4, 6, 8),
    "personGeneration": ("allow_all", "allow_adult", "disallow"),
    "resizeMode": ("pad", "crop"),
}


def _gemini(request: TaskRequest) -> Order:
    # instances[0].image is inline bytes only: an http(s) URL is dropped (text to video).
    inline = bool(request.images) and not request.images[0].startswith(("http://", "https://"))
    parameters: dict[str, Any] = {}
    _overlay(parameters, request.metadata, _VEO_FIELDS)
    if "durationSeconds" not in parameters and request.duration > 0:
        parameters["durationSeconds"] = request.duration
    if request.size:
        resolution, aspect = _veo_size(request.size)
        parameters.setdefault("resolution", resolution)
        parameters.setdefault("aspectRatio", aspect)
    if isinstance(parameters.get("resolution"), str):
        parameters["resolution"] = parameters["resolution"].lower()
    for name, choices in _VEO_CHOICES.items():
        if name in parameters and parameters[name] not in choices:
            allowed = ", ".join(str(choice) for choice in choices)
            raise _VendorError(f"{name} must be one of {allowed}, not {parameters[name]!r}")
    return Order(
        channel="gemini",
        model=request.model,
        prompt=request.prompt,
        action="generate" if inline else "textGenerate",
        duration=parameters.get("durationSeconds", 8),
        resolution=parameters.get("resolution", "720p"),
    )


_ARK_FIELDS: Final[Mapping[str, Kind]] = {
    "content": "list",
    "callback_url": "str",
    "return_last_frame": "bool",
    "service_tier": "str",
    "execution_expires_after": "int",
    "generate_audio": "bool",
    "draft": "bool",
    "tools": "list",
    "safety_identifier": "str",
    "priority": "int",
    "resolution": "str",
    "ratio": "str",
    "duration": "int",
    "frames": "int",
    "seed": "int",
    "camera_fixed": "bool",
    "watermark": "bool",
}
_ARK_CHOICES: Final[Mapping[str, tuple[str, ...]]] = {
    "resolution": ("480p", "720p", "1080p"),
    "ratio": ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"),
}


def _doubao(request: TaskRequest) -> Order:
    body: dict[str, Any] = {
        "model": request.model,
        "content": [{"type": "image_url", "image_url": {"url": url}} for url in request.images],
    }
    _overlay(body, request.metadata, _ARK_FIELDS, lenient=True)
    items = [item for item in body["content"] if not _is_text(item)]
    body["content"] = [*items, {"type": "text", "text": request.prompt}]
    if _INT.fullmatch(request.seconds) and int(request.seconds) > 0:
        body["duration"] = int(request.seconds)
    duration = body.setdefault("duration", 5)
    if not 2 <= duration <= 12:
        raise _VendorError(
            f"The parameter `duration` specified in the request is not valid: {duration}"
        )
    for name, choices in _ARK_CHOICES.items():
        if name in body and body[name] not in choices:
            raise _VendorError(
                f"The parameter `{name}` specified in the request is not valid: {body[name]!r}"
            )
    return Order(
        channel="doubao",
        model=request.model,
        prompt=request.prompt,
        action="generate" if items else "textGenerate",
        duration=duration,
        resolution=body.get("resolution", "720p"),
    )


def _is_text(item: object) -> bool:
    return isinstance(item, dict) and item.get("type") == "text"


_MINIMAX_FIELDS: Final[Mapping[str, Kind]] = {
    "model": "str",
    "prompt": "str",
    "prompt_optimizer": "bool",
    "fast_pretreatment": "bool",
    "duration": "int",
    "resolution": "str",
    "callback_url": "str",
    "aigc_watermark": "bool",
    "first_frame_image": "str",
    "last_frame_image": "str",
    "subject_reference": "list",
}
_MINIMAX_768P: Final = ("MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "MiniMax-Hailuo-02")


def _hailuo(request: TaskRequest) -> Order:
    resolution = next(
        (f"{side}P" for side in ("1080", "768", "720", "512") if side in request.size), ""
    )
    if not resolution:
        big = request.model in (*_MINIMAX_768P, "T2V-01-Director")
        resolution = "768P" if big else "720P"
    body: dict[str, Any] = {
        "model": request.model,
        "prompt": request.prompt,
        "duration": request.duration or 6,
        "resolution": resolution,
    }
    _overlay(body, request.metadata, _MINIMAX_FIELDS)
    if body["resolution"] not in ("512P", "720P", "768P", "1080P"):
        raise _VendorError(f"invalid params, resolution {body['resolution']!r}")
    if body["duration"] <= 0:
        raise _VendorError(f"invalid params, duration {body['duration']}")
    return Order(
        channel="hailuo",
        model=body["model"],
        prompt=body["prompt"],
        action="generate" if body.get("first_frame_image") else "textGenerate",
        duration=body["duration"],
        resolution=body["resolution"],
    )


_BUILDERS: Final[Mapping[Channel, Callable[[TaskRequest], Order]]] = {
    "ali": _ali,
    "vidu": _vidu,
    "gemini": _gemini,
    "doubao": _doubao,
    "hailuo": _hailuo,
}


# --- reading the request as Go does -------------------------------------------------------


def _duration(value: object) -> int:
    """``TaskSubmitReq.duration``: an int or a numeric string; anything else is 0."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT.fullmatch(value):
        return int(value)
    return 0


def _metadata(value: object) -> dict[str, Any]:
    """``TaskSubmitReq.metadata``: an object, or a string holding one; else nothing."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _field(metadata: Mapping[str, Any], name: str) -> Any:
    """The value of field ``name`` as Go matches keys: exactly, else ignoring case."""
    if name in metadata:
        return metadata[name]
    folded = name.casefold()
    for key, value in metadata.items():
        if key.casefold() == folded:
            return value
    return _MISSING


def _overlay(
    body: dict[str, Any],
    metadata: Mapping[str, Any],
    fields: Mapping[str, Kind],
    *,
    lenient: bool = False,
) -> None:
    """Put ``metadata`` on ``body`` as Go unmarshals it onto a struct of ``fields``."""
    for name, kind in fields.items():
        value = _field(metadata, name)
        if value is _MISSING or value is None:
            continue
        typed = _typed(value, kind, lenient=lenient)
        if typed is _MISSING:
            raise _build_error(_go_error(f".{name}", _GO_TYPES[kind], value))
        body[name] = typed


def _typed(value: object, kind: Kind, *, lenient: bool) -> Any:
    """``value`` as a Go field of ``kind`` takes it, or ``_MISSING`` if it cannot."""
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if lenient and isinstance(value, str) and _INT.fullmatch(value):
            return int(value)
        return _MISSING
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if lenient and value in ("true", "false"):
            return value == "true"
        return _MISSING
    wanted = str if kind == "str" else list
    return value if isinstance(value, wanted) else _MISSING


def _go_error(field: str, go_type: str, value: object) -> str:
    return (
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field {field} of type {go_type}"
    )


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _build_error(message: str) -> TaskRefusal:
    return TaskRefusal(500, "build_request_failed", message)


# --- the vendors' poll answers --------------------------------------------------------------


def vendor_task_id(channel: Channel, number: str) -> str:
    """The vendor's own id of a new task; ``number`` is a fresh 18-digit number."""
    if channel == "ali":
        return str(uuid.uuid4())
    if channel == "doubao":
        return f"cgt-{number[:14]}-{number[14:]}"
    if channel == "gemini":
        return f"operations/{number}"
    return number


def vendor_body(order: Order, task: SimTask, progress: Progress, url: str) -> msgspec.Struct:
    """The vendor's answer to new-api's last poll of ``task``: a TaskDto's ``data``."""
    status = progress.status
    reason = progress.status_msg if status == "failed" else ""
    if order.channel == "ali":
        dash = dw.DashTask(
            task_id=task.task_id,
            owner="newapi",
            created_at=task.created_at,
            model=order.model,
            prompt=order.prompt,
            resolution=order.resolution,
            duration=order.duration,
            script=task.script,
        )
        return dw.query_body(dash, progress, url, str(uuid.uuid4()))
    succeeded = status == "succeed"
    if order.channel == "vidu":
        creations = [ViduCreation(f"{task.task_id}-0", url)] if succeeded else []
        return ViduTask(task.task_id, _VIDU_STATES[status], reason, creations)
    if order.channel == "doubao":
        return ArkTask(
            id=task.task_id,
            model=order.model,
            status=_ARK_STATES[status],
            created_at=int(task.created_at),
            updated_at=int(progress.updated_at),
            resolution=order.resolution,
            duration=order.duration,
            content=ArkContent(url) if succeeded else None,
            error=ArkError("OutputVideoSensitiveContentDetected", reason) if reason else None,
        )
    base = MiniMaxBase(1027, reason) if reason else MiniMaxBase(0, "success")
    file_id = task.task_id if succeeded else ""
    return MiniMaxTask(task.task_id, _MINIMAX_STATES[status], file_id, base)


_VIDU_STATES: Final = {
    "submitted": "queueing",
    "processing": "processing",
    "succeed": "success",
    "failed": "failed",
}
_ARK_STATES: Final = {
    "submitted": "queued",
    "processing": "running",
    "succeed": "succeeded",
    "failed": "failed",
}
_MINIMAX_STATES: Final = {
    "submitted": "Queueing",
    "processing": "Processing",
    "succeed": "Success",
    "failed": "Fail",
}


class ViduCreation(msgspec.Struct):
    id: str
    url: str
    cover_url: str = ""


class ViduTask(msgspec.Struct):
    """Vidu's ``GET /ent/v2/tasks/{id}/creations``."""

    id: str
    state: str
    err_code: str
    creations: list[ViduCreation]


class ArkContent(msgspec.Struct):
    video_url: str


class ArkError(msgspec.Struct):
    code: str
    message: str


class ArkTask(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Ark's ``GET /api/v3/contents/generations/tasks/{id}``."""

    id: str
    model: str
    status: str
    created_at: int
    updated_at: int
    resolution: str
    duration: int
    content: ArkContent | None = None
    error: ArkError | None = None


class MiniMaxBase(msgspec.Struct):
    status_code: int
    status_msg: str


class MiniMaxTask(msgspec.Struct):
    """MiniMax's ``GET /v1/query/video_generation``."""

    task_id: str
    status: str
    file_id: str
    base_resp: MiniMaxBase
