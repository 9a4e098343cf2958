"""Settings, built once from an environment mapping; nothing reads ``os.environ`` at import."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec
from starlette.datastructures import Secret

ProbeMode = Literal["required", "best_effort"]

_DEFAULT_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the adapter. See the README's settings table."""

    redis_url: str | None = None
    kling_base_url: str | None = None
    kling_api_key: Secret | None = None
    kling_access_key: str | None = None
    kling_secret_key: Secret | None = None
    bootstrap_key: Secret | None = None
    media_probe: ProbeMode = "best_effort"
    media_allow_hosts: frozenset[str] = frozenset()
    #: host -> base URL: media on ``host`` is fetched from the base instead (test setups).
    media_rewrites: dict[str, str] = {}
    media_timeout_s: float = 10.0
    idempotency_ttl_s: int = 86_400
    idempotency_wait_s: float = 5.0
    task_ttl_s: int = 7 * 86_400
    refresh_interval_s: float = 1.0
    upstream_timeout_s: float = 30.0
    poll_timeout_s: float = 5.0
    upstream_max_connections: int = 512
    sim_queue_s: float = 0.5
    sim_process_s: float = 2.0
    sim_port: int = 0
    schemas_dir: Path = _DEFAULT_SCHEMAS
    log_level: str = "info"

    @property
    def uses_simulator(self) -> bool:
        """True when no upstream is configured: the built-in simulator stands in for Kling."""
        return self.kling_base_url is None

    @property
    def kling_dialect(self) -> Literal["gateway", "official"]:
        return "gateway" if self.kling_api_key is not None else "official"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read settings from ``environ``; raise ``SettingsError`` naming a bad variable."""
        env = _Env(environ)
        base_url = env.text("KLING_BASE_URL")
        api_key = env.text("KLING_API_KEY")
        access_key = env.text("KLING_ACCESS_KEY")
        secret_key = env.text("KLING_SECRET_KEY")
        if base_url is None and (api_key or access_key or secret_key):
            raise SettingsError("KLING_BASE_URL is required when Kling credentials are set.")
        if base_url is not None:
            if not base_url.startswith(("http://", "https://")):
                raise SettingsError("KLING_BASE_URL must be an http(s) URL.")
            if api_key is None and (access_key is None or secret_key is None):
                raise SettingsError(
                    "KLING_BASE_URL needs KLING_API_KEY (a gateway's bearer token) or "
                    "KLING_ACCESS_KEY and KLING_SECRET_KEY (the official Kling API)."
                )
        probe_default: ProbeMode = "best_effort" if base_url is None else "required"
        probe = env.text("MVA_MEDIA_PROBE") or probe_default
        if probe not in ("required", "best_effort"):
            raise SettingsError("MVA_MEDIA_PROBE must be 'required' or 'best_effort'.")
        bootstrap = env.text("MVA_BOOTSTRAP_KEY")
        if bootstrap is not None and not bootstrap.startswith(("mv_live_", "mv_test_")):
            raise SettingsError("MVA_BOOTSTRAP_KEY must start with mv_live_ or mv_test_.")
        idempotency_ttl = int(env.number("MVA_IDEMPOTENCY_TTL", 86_400, minimum=60))
        task_ttl = int(env.number("MVA_TASK_TTL", 7 * 86_400, minimum=3_600))
        if idempotency_ttl > task_ttl:
            # A claim that outlives its task could not tell "expired" from "never stored",
            # and a retry would be submitted (and charged) again.
            raise SettingsError("MVA_IDEMPOTENCY_TTL must not be longer than MVA_TASK_TTL.")
        return cls(
            redis_url=env.text("REDIS_URL"),
            kling_base_url=base_url.rstrip("/") if base_url else None,
            kling_api_key=Secret(api_key) if api_key else None,
            kling_access_key=access_key,
            kling_secret_key=Secret(secret_key) if secret_key else None,
            bootstrap_key=Secret(bootstrap) if bootstrap else None,
            media_probe=probe,  # type: ignore[arg-type]  # checked just above
            media_allow_hosts=frozenset(
                h.strip().lower()
                for h in (env.text("MVA_MEDIA_ALLOW_HOSTS") or "").split(",")
                if h.strip()
            ),
            media_rewrites=env.pairs("MVA_MEDIA_REWRITES"),
            media_timeout_s=env.number("MVA_MEDIA_TIMEOUT", 10.0),
            idempotency_ttl_s=idempotency_ttl,
            idempotency_wait_s=env.number("MVA_IDEMPOTENCY_WAIT", 5.0, minimum=0),
            task_ttl_s=task_ttl,
            refresh_interval_s=env.number("MVA_REFRESH_INTERVAL", 1.0, minimum=0.05),
            upstream_timeout_s=env.number("MVA_UPSTREAM_TIMEOUT", 30.0),
            poll_timeout_s=env.number("MVA_POLL_TIMEOUT", 5.0),
            upstream_max_connections=int(env.number("MVA_UPSTREAM_MAX_CONNECTIONS", 512, 1)),
            sim_queue_s=env.number("MVA_SIM_QUEUE_SECONDS", 0.5, minimum=0),
            sim_process_s=env.number("MVA_SIM_PROCESS_SECONDS", 2.0, minimum=0),
            sim_port=int(env.number("MVA_SIM_PORT", 0, minimum=0)),
            schemas_dir=Path(env.text("MVA_SCHEMAS_DIR") or _DEFAULT_SCHEMAS),
            log_level=(env.text("MVA_LOG_LEVEL") or "info").lower(),
        )


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def pairs(self, name: str) -> dict[str, str]:
        """``host=base,host2=base2`` -> a dict; a malformed entry names the variable."""
        pairs: dict[str, str] = {}
        for item in (self.text(name) or "").split(","):
            if not item.strip():
                continue
            host, sep, base = item.partition("=")
            if not sep or not host.strip() or not base.strip().startswith(("http://", "https://")):
                raise SettingsError(f"{name} entries look like host=http://base, got {item!r}.")
            pairs[host.strip().lower()] = base.strip().rstrip("/")
        return pairs

    def number(self, name: str, default: float, minimum: float = 0.001) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}.") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}.")
        return value
