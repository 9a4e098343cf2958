"""Shared by the simulated DashScope tests: its paths, and a submit that must succeed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Synthesis = Callable[..., dict[str, Any]]
SUBMIT = "/api/v1/services/aigc/video-generation/video-synthesis"
TASKS = "/api/v1/tasks/"


async def submit(client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]) -> str:
    """POST a synthesis; return the new task id."""
    response = await client.post(SUBMIT, json=body, headers=auth)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["output"]["task_id"]
    return task_id
