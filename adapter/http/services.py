"""What the endpoints reach through ``app.state.services``: built in ``adapter.bootstrap.app``."""

from __future__ import annotations

from typing import Any

import msgspec

from adapter.http.metrics import Metrics
from adapter.ports import TaskStore
from adapter.service.callbacks import CallbackTokens
from adapter.service.events import EventStream
from adapter.service.keys import KeyService
from adapter.service.models import ModelDirectory
from adapter.service.tasks import TaskService


class Services(msgspec.Struct, frozen=True):
    tasks: TaskService
    events: EventStream
    callbacks: CallbackTokens
    keys: KeyService
    models: ModelDirectory
    store: TaskStore
    metrics: Metrics
    openapi: dict[str, Any]
