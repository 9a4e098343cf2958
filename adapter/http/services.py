"""What the endpoints reach through ``app.state.services``: built in ``adapter.bootstrap.app``."""

from __future__ import annotations

from typing import Any

import msgspec

from adapter.core.values import IPNetwork
from adapter.ports import Metrics, TaskStore
from adapter.service.admin import AdminKeys
from adapter.service.callbacks import CallbackTokens
from adapter.service.events import EventStream
from adapter.service.keys import KeyService
from adapter.service.models import ModelDirectory
from adapter.service.provider_board import ProviderBoard
from adapter.service.tasks import TaskService


class Services(msgspec.Struct, frozen=True):
    tasks: TaskService
    events: EventStream
    callbacks: CallbackTokens
    keys: KeyService
    admin: AdminKeys
    models: ModelDirectory
    store: TaskStore
    metrics: Metrics
    board: ProviderBoard
    openapi: dict[str, Any]
    #: ``MVA_ADMIN_TOKEN``; ``None``: the admin API answers 404.
    admin_token: str | None = None
    #: Proxies whose ``X-Forwarded-For`` is believed (``MVA_TRUSTED_PROXIES``).
    trusted_proxies: tuple[IPNetwork, ...] = ()
