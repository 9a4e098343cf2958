"""A compact OpenAPI 3.1 description of the surface, with each model's input schema."""

from __future__ import annotations

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


def build_openapi(models: Iterable[ModelSpec], version: str) -> dict[str, Any]:
    specs = list(models)
    inputs = {f"{m.slug}.input": m.schema for m in specs}
    submit = {
        "oneOf": [
            {
                "type": "object",
                "required": ["model", "input"],
                "additionalProperties": False,
                "properties": {
                    "model": {"const": m.slug},
                    "input": {"$ref": f"#/components/schemas/{m.slug}.input"},
                    "webhook_url": {"type": "string", "format": "uri"},
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
            "/api/v1/webhooks/secret": {
                "get": _op("The key's webhook signing secret", "The secret")
            },
            "/api/v1/webhooks/secret/rotate": {
                "post": _op("Rotate the webhook signing secret", "The new secret")
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"SubmitRequest": submit, "Error": error, **inputs},
        },
    }
