"""Thin endpoints: decode, call the service, encode. No business logic here."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from adapter.core.errors import (
    AdapterError,
    InvalidJson,
    InvalidRequest,
    StoreUnavailable,
    UnsupportedMediaType,
)
from adapter.core.task_body import task_body
from adapter.core.values import ApiKey
from adapter.http.client_ip import client_ip
from adapter.http.errors import log_unavailable
from adapter.http.request_id import request_id_of
from adapter.http.responses import MsgspecResponse
from adapter.http.services import Services
from adapter.http.sse import sse_response
from adapter.http.wire import (
    ModelsBody,
    events_body,
    model_body,
    secrets_body,
    task_list_body,
    usage_body,
)
from adapter.service.keys import Credential

_decode_json = msgspec.json.decode
_SUBMIT_FIELDS = ("model", "input", "webhook_url")
#: The default page size of ``GET /api/v1/tasks``.
_PAGE = 20


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _credential(request: Request) -> Credential:
    """The API key the request names, not yet read; ``MissingApiKey`` when it names none."""
    services = _services(request)
    address = client_ip(request, services.trusted_proxies)
    return services.keys.credential(request.headers.get("authorization"), address)


async def _key(request: Request) -> ApiKey:
    return await _services(request).keys.read(_credential(request))


def _is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, any parameters; no header at all is lenient."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        not kind
        or kind == "application/json"
        or (kind.startswith("application/") and kind.endswith("+json"))
    )


async def json_body(request: Request) -> Any:
    """The request's JSON body; 415 for another content type, 400 for invalid JSON."""
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise UnsupportedMediaType(
            f"The request body must be JSON, sent with 'Content-Type: application/json'; "
            f"got {content_type.split(';', 1)[0].strip()!r}."
        )
    body = await request.body()
    try:
        return _decode_json(body)
    except msgspec.DecodeError as exc:
        raise InvalidJson(f"The request body is not valid JSON: {exc}.") from None
    except (RecursionError, UnicodeDecodeError):
        raise InvalidJson(
            "The request body is not valid JSON: too deeply nested, or not UTF-8."
        ) from None


def _submit_fields(body: Any) -> tuple[str, Any, str | None]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for name in body:
        if name not in _SUBMIT_FIELDS:
            raise InvalidRequest(
                f"{name} is not a known field (known: model, input, webhook_url).", name
            )
    webhook_url = body.get("webhook_url")
    if webhook_url is not None and (not isinstance(webhook_url, str) or not webhook_url):
        raise InvalidRequest("webhook_url must be an https:// URL.", "webhook_url")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest(
            "model is required: a model slug such as 'kling-v2-6-motion-control'.", "model"
        )
    if "input" not in body:
        raise InvalidRequest("input is required: the model's input object.", "input")
    return model, body["input"], webhook_url


async def submit_task(request: Request) -> Response:
    services = _services(request)
    credential = _credential(request)
    idempotency_key = request.headers.get("idempotency-key")
    # The key is read first, unless it is to be read with the Idempotency-Key's claim.
    key = await services.keys.for_submit(credential, idempotency_key)
    try:
        model, values, webhook_url = _submit_fields(await json_body(request))
    except AdapterError:
        if key is None:
            await services.keys.read(credential)  # a refused key's error comes first
        raise
    submission = await services.tasks.submit_as(
        services.keys,
        credential,
        key,
        model=model,
        values=values,
        idempotency_key=idempotency_key,
        webhook_url=webhook_url,
    )
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else None
    return MsgspecResponse(
        task_body(submission.record, request_id_of(request.scope)), headers=headers
    )


async def get_task(request: Request) -> Response:
    services = _services(request)
    _, record = await services.tasks.get_as(
        services.keys, _credential(request), request.path_params["task_id"]
    )
    return MsgspecResponse(task_body(record, request_id_of(request.scope)))


async def cancel_task(request: Request) -> Response:
    key = await _key(request)
    task_id = request.path_params["task_id"]
    record = await _services(request).tasks.cancel(owner=key.owner, task_id=task_id, mode=key.mode)
    return MsgspecResponse(task_body(record, request_id_of(request.scope)))


async def list_tasks(request: Request) -> Response:
    key = await _key(request)
    query = request.query_params
    page = await _services(request).tasks.list_tasks(
        owner=key.owner,
        mode=key.mode,
        status=query.get("status") or None,
        limit=page_limit(query.get("limit")),
        cursor=query.get("cursor") or None,
    )
    return MsgspecResponse(
        task_list_body(page.records, page.next_cursor, request_id_of(request.scope))
    )


def page_limit(raw: str | None) -> int:
    """``limit`` of a task list: a whole number (1-100, checked by the service)."""
    raw = raw or str(_PAGE)
    if not raw.isdigit():
        raise InvalidRequest("limit must be a whole number from 1 to 100.", "limit")
    return int(raw)


async def list_events(request: Request) -> Response:
    key = await _key(request)
    task_id = request.path_params["task_id"]
    if "text/event-stream" in request.headers.get("accept", ""):
        stream = await _services(request).events.open(
            owner=key.owner,
            task_id=task_id,
            after=request.headers.get("last-event-id") or None,
            mode=key.mode,
        )
        return sse_response(stream)
    events = await _services(request).tasks.events(owner=key.owner, task_id=task_id, mode=key.mode)
    return MsgspecResponse(events_body(task_id, events))


async def upstream_callback(request: Request) -> Response:
    """An upstream says a task moved: check the token, then ask the upstream ourselves."""
    provider = request.path_params["provider"]
    task_id = request.path_params["task_id"]
    services = _services(request)
    services.callbacks.check(provider, task_id, request.query_params.get("token"))
    record = await services.tasks.hint(provider=provider, task_id=task_id)
    return MsgspecResponse({"received": True, "status": record.status.value})


async def get_usage(request: Request) -> Response:
    key = await _key(request)
    admin = _services(request).admin
    query = request.query_params
    rows = await admin.usage(
        [key.id],
        since=query.get("from"),
        until=query.get("to"),
        model=query.get("model"),
        group_by=query.get("group_by") or "day,model",
    )
    return MsgspecResponse(usage_body(key, await admin.spend(key), rows))


async def get_webhook_secret(request: Request) -> Response:
    key = await _key(request)
    secrets = await _services(request).keys.signing_secrets(key.id)
    return MsgspecResponse(secrets_body(secrets))


async def rotate_webhook_secret(request: Request) -> Response:
    key = await _key(request)
    secrets = await _services(request).keys.rotate_signing_secret(key.id)
    return MsgspecResponse(secrets_body(secrets))


async def list_models(request: Request) -> Response:
    key = await _key(request)
    served = _services(request).models.served(key.mode)
    return MsgspecResponse(ModelsBody([model_body(spec) for spec in served]))


async def get_model(request: Request) -> Response:
    key = await _key(request)
    spec = _services(request).models.get(request.path_params["slug"], key.mode)
    return MsgspecResponse(model_body(spec))


async def healthz(request: Request) -> Response:
    return MsgspecResponse({"ok": True})


async def readyz(request: Request) -> Response:
    try:
        await _services(request).store.ping()
    except StoreUnavailable as exc:
        log_unavailable(request, 503, "not_ready", exc)
        return MsgspecResponse({"ok": [], "failing": {"store": exc.message}}, status_code=503)
    return MsgspecResponse({"ok": ["store"], "failing": {}})


async def metrics(request: Request) -> Response:
    body, content_type = _services(request).metrics.exposition()
    return Response(body, headers={"Content-Type": content_type})


async def openapi(request: Request) -> Response:
    return MsgspecResponse(_services(request).openapi)
