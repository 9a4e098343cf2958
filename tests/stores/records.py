"""The task records and first events the store tests write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from adapter.core.values import Event, TaskRecord, TaskStatus

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def task_record(task_id: str = "task_1", *, created_s: float = 0, **changes: Any) -> TaskRecord:
    """A queued task of alice's, created ``created_s`` seconds after NOW."""
    created = NOW + timedelta(seconds=created_s)
    base = TaskRecord(
        task_id=task_id,
        owner="alice",
        model="m",
        input=msgspec.Raw(b'{"mode":"std"}'),
        status=TaskStatus.QUEUED,
        cost_estimate=Decimal("0.06426"),
        created_at=created,
        updated_at=created,
        version=1,
    )
    return msgspec.structs.replace(base, **changes)


def queued() -> Event:
    return Event(type="status", status=TaskStatus.QUEUED, at=NOW)
