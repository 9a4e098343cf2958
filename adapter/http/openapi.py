"""A compact OpenAPI 3.1 description of the surface, with each model's input schema."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from adapter.service.catalog import ModelSpec

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, ok: str, *, body: bool = False, params: Iterable[str] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ],
        "responses": {
            "200": {"description": ok},
            "default": {
                "description": "An error",
                "content": {"application/json": {"schema": _ERROR}},
            },
        },
    }
    if body:
        op["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SubmitRequest"}}
            },
        }
    return op


#: An https URL to a named host (a dotted name ending in letters: IP literals and names like
#: ``localhost`` are refused, and only such URLs pass the address rule). Generators that
#: follow the document (schemathesis) then make URLs the adapter can accept.
HTTPS_URL = r"^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?$"
#: A base64 PNG or JPEG image (its first bytes are the format's signature; every image model
#: takes both).
IMAGE_DATA_URI = (
    r"^data:image/(png;base64,iVBORw0KGgo[A-Za-z0-9+/]|jpeg;base64,/9j/)([A-Za-z0-9+/]{4})*$"
)
#: A base64 MP4 or MOV video (its bytes must still be a readable file of 3 s or more).
VIDEO_DATA_URI = r"^data:video/(mp4|quicktime);base64,([A-Za-z0-9+/]{4})+$"
#: What an image or video field takes: an https URL, or a data URI.
_IMAGE = {"anyOf": [{"format": "uri", "pattern": HTTPS_URL}, {"pattern": IMAGE_DATA_URI}]}
_VIDEO = {"anyOf": [{"format": "uri", "pattern": HTTPS_URL}, {"pattern": VIDEO_DATA_URI}]}
#: What a URL-only field (``audio_url``) and ``webhook_url`` take.
_URL = {"format": "uri", "pattern": HTTPS_URL, "maxLength": 2048}


def described_input(spec: ModelSpec) -> dict[str, Any]:
    """The model's input schema (verbatim in ``schemas/``), with what its URL fields accept
    and, where the schema lists no values for a field the price depends on, the priced ones.

    The page's schema says only ``string``; the document adds the URL forms the adapter
    takes, and the values it can price, so that a client generating inputs from it makes
    ones that can be accepted.
    """
    schema = copy.deepcopy(spec.schema)
    properties: dict[str, Any] = schema.get("properties", {})
    rules = spec.media
    for field, form in [
        *((name, _IMAGE) for name in rules.images),
        *((name, _VIDEO) for name in rules.videos),
        *((name, _URL) for name in rules.urls),
    ]:
        name, _, key = field.partition("[].")
        prop = properties.get(name)
        if prop is None:
            continue
        target = prop.get("items", prop) if prop.get("type") == "array" else prop
        if key:
            target = target.get("properties", {}).get(key)
            if target is None:
                continue
        target.update(copy.deepcopy(form))
    priced: dict[str, list[Any]] = {}
    for when, _ in spec.price.table(spec.schema):
        for field, value in when.items():
            if value not in priced.setdefault(field, []):
                priced[field].append(value)
    for field, values in priced.items():
        prop = properties.get(field)
        if prop is not None and "enum" not in prop:
            prop["enum"] = values
    return schema


#: The fields of an admin API key request (``POST`` and ``PATCH /admin/v1/keys``).
_KEY_FIELDS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100},
        "owner": {"type": "string", "minLength": 1, "maxLength": 100},
        "mode": {"enum": ["live", "test"]},
        "models": {"type": ["array", "null"], "items": {"type": "string"}},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "allowed_ips": {"type": "array", "items": {"type": "string"}},
        "metadata": {"type": "object"},
        "rpm": {"type": ["integer", "null"], "minimum": 1},
        "max_concurrent": {"type": ["integer", "null"], "minimum": 1},
        "budget": {
            "type": ["object", "null"],
            "required": ["amount", "period"],
            "additionalProperties": False,
            "properties": {
                "amount": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
                "period": {"enum": ["day", "month", "total"]},
            },
        },
    },
}


def _admin_op(
    summary: str, ok: str, *, body: bool = False, params: Iterable[str] = ()
) -> dict[str, Any]:
    """An admin API operation: the admin token as bearer, a key request body if any."""
    op = _op(summary, ok, params=params)
    op["security"] = [{"admin": []}]
    if body:
        schema = {"$ref": "#/components/schemas/AdminKeyRequest"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return op


def _admin_paths() -> dict[str, Any]:
    key = ["key_id"]
    return {
        "/admin/v1/keys": {
            "post": _admin_op(
                "Create an API key (its secret is in this answer only)", "The key", body=True
            ),
            "get": _admin_op("List API keys, oldest first (limit, cursor)", "A page"),
        },
        "/admin/v1/keys/{key_id}": {
            "get": _admin_op("An API key", "The key", params=key),
            "patch": _admin_op("Change an API key", "The key", body=True, params=key),
            "delete": _admin_op("Delete an API key", "Deleted", params=key),
        },
        "/admin/v1/keys/{key_id}/disable": {
            "post": _admin_op("Disable an API key", "The key", params=key)
        },
        "/admin/v1/keys/{key_id}/enable": {
            "post": _admin_op("Enable an API key", "The key", params=key)
        },
        "/admin/v1/tasks": {
            "get": _admin_op(
                "Every owner's tasks, newest first (key_id, model, status, limit, cursor)",
                "A page",
            )
        },
        "/admin/v1/usage": {
            "get": _admin_op(
                "Usage rows (key_id, model, from, to, group_by=day,model,key); "
                "CSV with Accept: text/csv",
                "The rows",
            )
        },
    }


def build_openapi(models: Iterable[ModelSpec], version: str) -> dict[str, Any]:
    specs = list(models)
    inputs = {f"{m.slug}.input": described_input(m) for m in specs}
    submit = {
        "oneOf": [
            {
                "type": "object",
                "required": ["model", "input"],
                "additionalProperties": False,
                "properties": {
                    "model": {"const": m.slug},
                    "input": {"$ref": f"#/components/schemas/{m.slug}.input"},
                    "webhook_url": {"type": "string", **_URL},
                },
            }
            for m in specs
        ]
    }
    error = {
        "type": "object",
        "required": ["error", "request_id"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "param": {"type": "string"},
                },
            },
            "request_id": {"type": "string"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mindvideo-adapter",
            "version": version,
            "description": "A MindVideo-compatible video generation task API.",
        },
        "paths": {
            "/api/v1/tasks": {
                "post": _op("Submit a task", "The task", body=True),
                "get": _op("List tasks, newest first (limit, cursor, status)", "A page"),
            },
            "/api/v1/tasks/{task_id}": {"get": _op("Get a task", "The task", params=["task_id"])},
            "/api/v1/tasks/{task_id}/events": {
                "get": _op(
                    "A task's events; server-sent events with Accept: text/event-stream",
                    "The events",
                    params=["task_id"],
                )
            },
            "/api/v1/tasks/{task_id}/cancel": {
                "post": _op("Cancel a queued or processing task", "The task", params=["task_id"])
            },
            "/api/v1/models": {"get": _op("List the served models", "The models")},
            "/api/v1/models/{slug}": {
                "get": _op("A model's input schema and pricing", "The model", params=["slug"])
            },
            "/api/v1/usage": {
                "get": _op("The calling key's scope, limits and budget as it stands", "Usage")
            },
            "/api/v1/webhooks/secret": {
                "get": _op("The key's webhook signing secret", "The secret")
            },
            "/api/v1/webhooks/secret/rotate": {
                "post": _op("Rotate the webhook signing secret", "The new secret")
            },
            **_admin_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "MVA_ADMIN_TOKEN (the admin API answers 404 without it set)",
                },
            },
            "schemas": {
                "SubmitRequest": submit,
                "Error": error,
                "AdminKeyRequest": _KEY_FIELDS,
                **inputs,
            },
        },
    }
