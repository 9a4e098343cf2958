"""Webhook deliveries: a task's terminal status, POSTed to its ``webhook_url``, at least once.

The store puts a delivery on its schedule in the same step that ends the task, so every
path (poll, callback, reconciler, cancel) queues it exactly once. A worker takes due
deliveries under a hold that expires by itself; each attempt is signed per Standard
Webhooks with the submitting key's secrets and recorded as a ``webhook`` event. Failures are
retried on ``SCHEDULE`` (about 27.5 hours in all), with jitter, then given up.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from adapter.core.errors import StoreUnavailable, WebhookUndeliverable
from adapter.core.task_body import TaskBody, encode, rfc3339, task_body
from adapter.core.values import Event, TaskRecord
from adapter.ports import Metrics, Schedules, TaskStore, WebhookSender
from adapter.service import signing
from adapter.service.keys import KeyService

log = logging.getLogger(__name__)

#: Seconds before each retry: attempt 1 at once, then these (the Standard Webhooks /
#: Svix schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
SCHEDULE = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000)
ATTEMPTS = len(SCHEDULE) + 1


class WebhookPayload(msgspec.Struct):
    """The body of every delivery: ``task.succeeded``, ``task.failed`` or ``task.cancelled``."""

    type: str
    timestamp: str
    data: TaskBody


def message_id(record: TaskRecord) -> str:
    """Stable across retries (receivers deduplicate on it), unique per task and outcome."""
    return f"msg_{record.task_id.removeprefix('task_')}_{record.status.value}"


class WebhookDispatcher:
    """Attempts one due delivery at a time; the reconciler's loop calls ``deliver``."""

    def __init__(
        self,
        *,
        store: TaskStore,
        schedules: Schedules,
        sender: WebhookSender,
        keys: KeyService,
        clock: Callable[[], datetime],
        metrics: Metrics,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._schedules = schedules
        self._sender = sender
        self._metrics = metrics
        self._keys = keys
        self._clock = clock
        self._jitter = jitter

    async def deliver(self, task_id: str) -> None:
        """Attempt the task's delivery once, record the attempt, schedule the next if any.

        Whatever goes wrong inside the attempt is a failed attempt, recorded and retried on
        the schedule like any other (an error that recurs must not retry forever unrecorded).
        Only the store's outage is not: nothing could be recorded, and the hold lapses.
        """
        record = await self._store.get_task(task_id)
        if record is None or record.webhook_url is None or not record.status.is_terminal:
            await self._schedules.unschedule("webhooks", task_id)
            return
        events = await self._store.list_events(task_id)
        attempt = 1 + sum(1 for e in events if e.type == "webhook")
        if attempt > ATTEMPTS:
            await self._schedules.unschedule("webhooks", task_id)
            return
        url = record.webhook_url
        # The payload's timestamp is when the task ended, the same on every retry (Standard
        # Webhooks); only the signed webhook-timestamp header is the attempt's.
        ended_at = next((e.at for e in events if e.is_final), record.updated_at)
        status: int | None = None
        try:
            status = await self._post(record, url, ended_at)
            outcome = f"HTTP {status}"
        except WebhookUndeliverable as exc:
            outcome = exc.message
        except StoreUnavailable:
            raise
        except Exception as exc:
            log.exception("webhook.attempt_error task_id=%s attempt=%d", task_id, attempt)
            outcome = f"an error in this adapter ({type(exc).__name__})"
        now = self._clock()
        delivered = status is not None and 200 <= status < 300
        next_at = None
        if delivered:
            message = f"Delivered to {url} ({outcome})."
        elif attempt == ATTEMPTS:
            message = f"Not delivered to {url} ({outcome}); gave up after {ATTEMPTS} attempts."
        else:
            wait = SCHEDULE[attempt - 1] * (0.9 + 0.2 * self._jitter())
            next_at = now + timedelta(seconds=wait)
            message = f"Not delivered to {url} ({outcome}); next attempt in {_span(wait)}."
        log.info("webhook.attempt task_id=%s attempt=%d outcome=%s", task_id, attempt, outcome)
        event = Event(
            type="webhook", at=now, message=message, attempt=attempt, response_status=status
        )
        await self._schedules.record_attempt(task_id, event, next_at)
        self._metrics.webhook_attempt(
            "delivered" if delivered else "gave_up" if next_at is None else "failed"
        )

    async def _post(self, record: TaskRecord, url: str, ended_at: datetime) -> int:
        if record.key_id is None:
            raise WebhookUndeliverable("the task has no API key to sign with")
        secrets = self._keys.secrets_in_use(await self._keys.signing_secrets(record.key_id))
        msg_id = message_id(record)
        now = self._clock()
        body = encode(
            WebhookPayload(
                type=f"task.{record.status.value}",
                timestamp=rfc3339(ended_at),
                data=task_body(record, msg_id),
            )
        )
        headers = signing.headers(secrets, msg_id, int(now.timestamp()), body)
        return await self._sender.post(url, body, headers)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5_400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3_600:.1f} h"
