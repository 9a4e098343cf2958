"""The whole HTTP surface at a glance."""

from __future__ import annotations

from starlette.routing import Route

from adapter.http import admin, endpoints

ROUTES = [
    Route("/api/v1/tasks", endpoints.submit_task, methods=["POST"]),
    Route("/api/v1/tasks", endpoints.list_tasks, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}", endpoints.get_task, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}/events", endpoints.list_events, methods=["GET"]),
    Route("/api/v1/tasks/{task_id}/cancel", endpoints.cancel_task, methods=["POST"]),
    Route("/api/v1/models", endpoints.list_models, methods=["GET"]),
    Route("/api/v1/models/{slug}", endpoints.get_model, methods=["GET"]),
    Route("/api/v1/usage", endpoints.get_usage, methods=["GET"]),
    Route("/api/v1/webhooks/secret", endpoints.get_webhook_secret, methods=["GET"]),
    Route("/api/v1/webhooks/secret/rotate", endpoints.rotate_webhook_secret, methods=["POST"]),
    Route("/callbacks/{provider}/{task_id}", endpoints.upstream_callback, methods=["POST"]),
    Route("/admin/v1/usage", admin.usage, methods=["GET"]),
    Route("/admin/v1/tasks", admin.list_tasks, methods=["GET"]),
    Route("/admin/v1/keys", admin.create_key, methods=["POST"]),
    Route("/admin/v1/keys", admin.list_keys, methods=["GET"]),
    Route("/admin/v1/keys/{key_id}", admin.get_key, methods=["GET"]),
    Route("/admin/v1/keys/{key_id}", admin.update_key, methods=["PATCH"]),
    Route("/admin/v1/keys/{key_id}", admin.delete_key, methods=["DELETE"]),
    Route("/admin/v1/keys/{key_id}/disable", admin.disable_key, methods=["POST"]),
    Route("/admin/v1/keys/{key_id}/enable", admin.enable_key, methods=["POST"]),
    Route("/healthz", endpoints.healthz, methods=["GET"]),
    Route("/readyz", endpoints.readyz, methods=["GET"]),
    Route("/metrics", endpoints.metrics, methods=["GET"]),
    Route("/openapi.json", endpoints.openapi, methods=["GET"]),
]
