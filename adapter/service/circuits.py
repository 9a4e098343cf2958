"""``Circuits``: skip a provider that keeps answering "unavailable" for a model, at once.

Per provider and model, ``threshold`` unavailable (or rate-limited) submit answers in a row
open the circuit for ``cooldown_s``: the router skips the provider then, instead of spending a
timeout or a refusal on it, and falls through to the next. After the cool-down one submit,
the probe, is let through (half-open), by whichever process claims it first; its answer closes
the circuit or opens it again. The state lives in the store, shared by every process.

Reads are local: each process keeps a copy of the (usually empty) set of circuits that are
not plainly closed, read again at most every ``refresh_s``. A healthy deployment pays one
small read a second per process, and nothing per submit. The circuits are advice: while the
store cannot be reached they stay as last read, and a submit is never refused for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from adapter.core.errors import CircuitOpen, StoreUnavailable
from adapter.core.values import Circuit
from adapter.ports import CircuitStore, Metrics

log = logging.getLogger(__name__)

_CLOSED = Circuit()


class Circuits:
    """The shared circuits, as the router asks them."""

    __slots__ = (
        "_clock",
        "_cooldown_ms",
        "_known",
        "_metrics",
        "_read_at",
        "_refresh_s",
        "_store",
        "_threshold",
    )

    def __init__(
        self,
        store: CircuitStore,
        *,
        clock: Callable[[], datetime],
        threshold: int = 5,
        cooldown_s: float = 30.0,
        refresh_s: float = 1.0,
        metrics: Metrics | None = None,
    ) -> None:
        """``metrics`` counts each circuit this process opens and each provider it skips."""
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._threshold = threshold
        self._cooldown_ms = int(cooldown_s * 1000)
        self._refresh_s = refresh_s
        self._known: dict[tuple[str, str], Circuit] = {}
        self._read_at = -float("inf")

    async def admit(self, provider: str, model: str) -> None:
        """Return if a submit may go to ``provider`` for ``model``.

        Raises:
            CircuitOpen: the circuit is open (``retry_after``: until its cool-down ends), or
                half-open with another process's probe under way.
        """
        if time.monotonic() - self._read_at > self._refresh_s:
            self._read_at = time.monotonic()
            try:
                self._known = await self._store.circuits()
            except StoreUnavailable as exc:
                log.warning("circuits.unread reason=%s", exc.message)
        circuit = self._known.get((provider, model), _CLOSED)
        if not circuit.open_until_ms:
            return
        now_ms = self._now_ms()
        if circuit.open_until_ms <= now_ms and await self._probe(provider, model, now_ms):
            return
        wait_s = max(1, -(-(max(circuit.open_until_ms, circuit.probe_until_ms) - now_ms) // 1000))
        if self._metrics is not None:
            self._metrics.circuit_event(provider, model, "skipped")
        raise CircuitOpen(
            provider,
            f"not tried: it answered unavailable {circuit.failures} times in a row for "
            f"{model}; it is tried again after a {self._cooldown_ms / 1000:g} s cool-down",
            retry_after=wait_s,
        )

    async def _probe(self, provider: str, model: str, now_ms: int) -> bool:
        """Whether this submit is the half-open circuit's one probe."""
        try:
            return await self._store.claim_probe(
                provider, model, now_ms=now_ms, hold_ms=self._cooldown_ms
            )
        except StoreUnavailable as exc:
            log.warning("circuits.unread reason=%s", exc.message)
            return True

    async def current(self) -> dict[tuple[str, str], Circuit]:
        """Every circuit not plainly closed, as the store has it now (the providers page)."""
        return await self._store.circuits()

    async def failed(self, provider: str, model: str) -> None:
        """``provider`` answered a submit for ``model`` unavailable or rate-limited."""
        was_open = self._known.get((provider, model), _CLOSED).open_until_ms > 0
        try:
            circuit = await self._store.failed(
                provider,
                model,
                now_ms=self._now_ms(),
                threshold=self._threshold,
                cooldown_ms=self._cooldown_ms,
            )
        except StoreUnavailable as exc:
            log.warning("circuits.unwritten provider=%s reason=%s", provider, exc.message)
            return
        self._known[provider, model] = circuit
        if circuit.open_until_ms and not was_open:
            log.warning(
                "circuit.opened provider=%s model=%s failures=%s", provider, model, circuit.failures
            )
            if self._metrics is not None:
                self._metrics.circuit_event(provider, model, "opened")

    async def succeeded(self, provider: str, model: str) -> None:
        """``provider`` accepted a submit for ``model``: its circuit closes (a write only when
        this process knows of failures)."""
        if self._known.pop((provider, model), None) is None:
            return
        try:
            await self._store.close(provider, model)
        except StoreUnavailable as exc:
            log.warning("circuits.unwritten provider=%s reason=%s", provider, exc.message)

    def _now_ms(self) -> int:
        return int(self._clock().timestamp() * 1000)
