"""Thin endpoints: decode, call the service, encode. No business logic here."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapter.errors import InvalidJson, InvalidRequest, StoreUnavailable
from adapter.http.request_id import request_id_of
from adapter.http.responses import MsgspecResponse
from adapter.http.services import Services
from adapter.http.wire import ModelsBody, events_body, model_body, task_body

_decode_json = msgspec.json.decode
_SUBMIT_FIELDS = ("model", "input")


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _owner(request: Request) -> str:
    key = await _services(request).keys.authenticate(request.headers.get("authorization"))
    return key.owner


async def _json_body(request: Request) -> Any:
    body = await request.body()
    try:
        return _decode_json(body)
    except msgspec.DecodeError as exc:
        raise InvalidJson(f"The request body is not valid JSON: {exc}.") from None
    except (RecursionError, UnicodeDecodeError):
        raise InvalidJson(
            "The request body is not valid JSON: too deeply nested, or not UTF-8."
        ) from None


def _submit_fields(body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for name in body:
        if name not in _SUBMIT_FIELDS:
            raise InvalidRequest(f"{name} is not a known field (known: model, input).", name)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(
            "model is required: a model slug such as 'kling-v2-6-motion-control'.", "model"
        )
    if "input" not in body:
        raise InvalidRequest("input is required: the model's input object.", "input")
    return model, body["input"]


async def submit_task(request: Request) -> Response:
    owner = await _owner(request)
    model, values = _submit_fields(await _json_body(request))
    submission = await _services(request).tasks.submit(
        owner=owner,
        model=model,
        values=values,
        idempotency_key=request.headers.get("idempotency-key"),
    )
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else None
    return MsgspecResponse(
        task_body(submission.record, request_id_of(request.scope)), headers=headers
    )


async def get_task(request: Request) -> Response:
    owner = await _owner(request)
    record = await _services(request).tasks.get(owner=owner, task_id=request.path_params["task_id"])
    return MsgspecResponse(task_body(record, request_id_of(request.scope)))


async def cancel_task(request: Request) -> Response:
    owner = await _owner(request)
    task_id = request.path_params["task_id"]
    record = await _services(request).tasks.cancel(owner=owner, task_id=task_id)
    return MsgspecResponse(task_body(record, request_id_of(request.scope)))


async def list_events(request: Request) -> Response:
    owner = await _owner(request)
    task_id = request.path_params["task_id"]
    events = await _services(request).tasks.events(owner=owner, task_id=task_id)
    return MsgspecResponse(events_body(task_id, events))


async def list_models(request: Request) -> Response:
    await _owner(request)
    served = _services(request).models.served()
    return MsgspecResponse(ModelsBody([model_body(spec) for spec in served]))


async def get_model(request: Request) -> Response:
    await _owner(request)
    spec = _services(request).models.get(request.path_params["slug"])
    return MsgspecResponse(model_body(spec))


async def healthz(request: Request) -> Response:
    return MsgspecResponse({"ok": True})


async def readyz(request: Request) -> Response:
    try:
        await _services(request).store.ping()
    except StoreUnavailable as exc:
        return MsgspecResponse({"ok": [], "failing": {"store": exc.message}}, status_code=503)
    return MsgspecResponse({"ok": ["store"], "failing": {}})


async def metrics(request: Request) -> Response:
    return PlainTextResponse(
        _services(request).metrics.render(), media_type="text/plain; version=0.0.4"
    )


async def openapi(request: Request) -> Response:
    return MsgspecResponse(_services(request).openapi)
