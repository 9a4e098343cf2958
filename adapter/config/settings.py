"""Settings, built once from an environment mapping; nothing reads ``os.environ`` at import."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import msgspec
from starlette.datastructures import Secret

from adapter.config.providers import (
    SIMPLE_VARIABLES,
    ProviderConfig,
    ProviderConfigError,
    Upstreams,
    load_providers_file,
    providers_from_env,
)
from adapter.config.redis_topology import RedisTopology, RedisTopologyError, redis_topology
from adapter.core.values import IPNetwork, Strategy

ProbeMode = Literal["required", "best_effort"]
LogFormat = Literal["text", "json"]

#: Key prefixes: no ':' (the key separator) and no braces (Redis Cluster hash tags).
_NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
_DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


class SettingsError(ValueError):
    """A setting is missing or malformed, or what it names cannot be used; the message names
    the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the adapter. See the README's settings table."""

    redis_url: str | None = None
    #: ``MVA_REDIS_MODE`` and, for Sentinel, where the sentinels are and the master's name.
    redis_topology: RedisTopology = RedisTopology()
    #: The prefix of every Redis key and channel this adapter uses (several on one Redis).
    redis_namespace: str = "mva"
    #: The configured upstreams in order of preference; none: the built-in simulator.
    providers: tuple[ProviderConfig, ...] = ()
    #: Model -> how its providers are ordered, where not in file order (the providers file).
    strategies: dict[str, Strategy] = {}
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
    #: Where the simulator listens when ``serve`` runs it (``0.0.0.0`` to publish it).
    sim_host: str = "127.0.0.1"
    #: The simulator's address as clients reach it: the base of its output video links.
    sim_public_url: str = ""
    #: A running simulator: it serves test keys, and every key when no provider is configured
    #: (the one ``serve`` starts beside the API, or ``serve --workers`` for its workers).
    simulator_url: str | None = None
    schemas_dir: Path = _DEFAULT_SCHEMAS
    log_level: str = "info"
    #: ``text`` (one readable line per record) or ``json`` (one JSON object per line).
    log_format: LogFormat = "text"
    #: ``PROMETHEUS_MULTIPROC_DIR``: set by ``serve --workers`` for its workers, whose
    #: metrics are then added up across them.
    metrics_dir: str | None = None
    #: Seconds between SSE heartbeat comments on a quiet event stream.
    sse_heartbeat_s: float = 15.0
    #: Where upstreams can reach this adapter; set, every submission carries a callback URL.
    public_url: str | None = None
    callback_secret: Secret | None = None
    #: How long each day of a key's usage ledger is kept.
    usage_ttl_s: int = 400 * 86_400
    #: The admin API's bearer token; unset, the admin API answers 404.
    admin_token: Secret | None = None
    #: Unavailable submit answers in a row that open a provider's circuit for a model.
    circuit_failures: int = 5
    #: Seconds an open circuit skips its provider before one probe is let through.
    circuit_cooldown_s: float = 30.0
    #: Proxies whose ``X-Forwarded-For`` names the client (a key's ``allowed_ips``).
    trusted_proxies: tuple[IPNetwork, ...] = ()
    webhook_allow_hosts: frozenset[str] = frozenset()
    webhook_timeout_s: float = 10.0
    #: Whether ``serve`` runs the reconciler in each process (``worker`` always does).
    reconciler: bool = True
    reconcile_concurrency: int = 8
    reconcile_max_interval_s: float = 30.0
    #: An unfinished task older than this is checked upstream and failed with ``timeout``.
    task_deadline_s: float = 7_200.0
    #: The share of a core above which a ``serve`` process's reconciler starts no new work
    #: (requests come first); 1: no limit. ``worker`` has none.
    reconcile_cpu_share: float = 0.7
    #: Seconds the first query of a task waits until enough of its model's successes are
    #: known; ``None``: a default per model (``adapter.service.poll_plan``).
    poll_first_after_s: float | None = None

    @property
    def submit_window_s(self) -> float:
        """How long one submit can take at most: its media checks and its upstream call, each
        hard-bounded, plus a margin (recording the answer may wait out a store outage).

        A task still ``submitting`` after it, or a claim whose task is missing, belongs to a
        submit that ended without saying so (a process that died): recovery may settle it.
        """
        return self.upstream_timeout_s + 2 * self.media_timeout_s + 10

    @property
    def give_up_after_s(self) -> float:
        """How long a task whose submit answer was lost, and that no upstream can be asked
        about, waits before it ends ``failed`` with ``upstream_outcome_unknown``: ten submit
        windows, and never under ten minutes (an upstream may register a task late)."""
        return max(600.0, 10 * self.submit_window_s)

    @property
    def reconcile_hold_s(self) -> float:
        """How long a reconcile round holds a task or delivery from other processes.

        The round cuts each item off at half its hold, so half the hold must exceed the
        longest refresh or webhook attempt: a cut-off attempt is never recorded, and would be
        retried for ever instead of counting towards the 8.
        """
        return 2 * max(self.poll_timeout_s, self.webhook_timeout_s) + 30

    @property
    def redis_configured(self) -> bool:
        """True when a Redis of the operator's holds the data (``REDIS_URL``, or Sentinel's
        master); False: fakeredis inside this one process."""
        return self.redis_url is not None or self.redis_topology.mode == "sentinel"

    @property
    def uses_simulator(self) -> bool:
        """True when no upstream is configured: the built-in simulator stands in for all."""
        return not self.providers

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read settings from ``environ``; raise ``SettingsError`` naming a bad variable."""
        env = _Env(environ)
        upstreams = _upstreams(env, environ)
        providers = upstreams.providers
        probe_default: ProbeMode = "required" if providers else "best_effort"
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
        public_url = env.text("MVA_PUBLIC_URL")
        if public_url is not None and not public_url.startswith(("http://", "https://")):
            raise SettingsError("MVA_PUBLIC_URL must be an http:// or https:// URL.")
        redis_url, topology = _redis(env)
        callback_secret = env.text("MVA_CALLBACK_SECRET")
        if public_url and (redis_url or topology.mode != "standalone") and not callback_secret:
            # Several processes make and check callback tokens: they must share the secret.
            raise SettingsError(
                "MVA_PUBLIC_URL with REDIS_URL needs MVA_CALLBACK_SECRET, the same in every "
                "process (e.g. the output of: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')."
            )
        namespace = env.text("MVA_REDIS_NAMESPACE") or "mva"
        if not _NAMESPACE.fullmatch(namespace):
            raise SettingsError(
                f"MVA_REDIS_NAMESPACE must be 1-64 of a-z, A-Z, 0-9, '_' or '-', got {namespace!r}."
            )
        simulator_url = _simulator_url(env)
        sim_public_url = env.text("MVA_SIM_PUBLIC_URL") or ""
        if sim_public_url and not sim_public_url.startswith(("http://", "https://")):
            raise SettingsError("MVA_SIM_PUBLIC_URL must be an http:// or https:// URL.")
        log_level = (env.text("MVA_LOG_LEVEL") or "info").lower()
        if log_level not in _LOG_LEVELS:
            raise SettingsError(f"MVA_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}.")
        log_format = (env.text("MVA_LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            raise SettingsError("MVA_LOG_FORMAT must be 'text' or 'json'.")
        admin_token = env.text("MVA_ADMIN_TOKEN")
        if admin_token is not None and (
            len(admin_token) < 16 or admin_token.startswith(("mv_live_", "mv_test_"))
        ):
            raise SettingsError(
                "MVA_ADMIN_TOKEN must be at least 16 characters and not a client key (mv_...)."
            )
        reconciler = (env.text("MVA_RECONCILER") or "on").lower()
        if reconciler not in ("on", "off"):
            raise SettingsError("MVA_RECONCILER must be 'on' or 'off'.")
        return cls(
            redis_url=redis_url,
            redis_topology=topology,
            redis_namespace=namespace,
            providers=providers,
            strategies=upstreams.strategies,
            bootstrap_key=Secret(bootstrap) if bootstrap else None,
            media_probe=probe,  # type: ignore[arg-type]  # checked just above
            media_allow_hosts=env.hosts("MVA_MEDIA_ALLOW_HOSTS"),
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
            sim_host=env.text("MVA_SIM_HOST") or "127.0.0.1",
            sim_public_url=sim_public_url.rstrip("/"),
            simulator_url=simulator_url.rstrip("/") if simulator_url else None,
            schemas_dir=Path(env.text("MVA_SCHEMAS_DIR") or _DEFAULT_SCHEMAS),
            log_level=log_level,
            log_format=log_format,  # type: ignore[arg-type]  # checked just above
            metrics_dir=env.text("PROMETHEUS_MULTIPROC_DIR"),
            sse_heartbeat_s=env.number("MVA_SSE_HEARTBEAT", 15.0, minimum=0.05),
            public_url=public_url.rstrip("/") if public_url else None,
            callback_secret=Secret(callback_secret) if callback_secret else None,
            admin_token=Secret(admin_token) if admin_token else None,
            usage_ttl_s=int(env.number("MVA_USAGE_TTL", 400 * 86_400, minimum=86_400)),
            trusted_proxies=env.networks("MVA_TRUSTED_PROXIES"),
            circuit_failures=int(env.number("MVA_CIRCUIT_FAILURES", 5, minimum=1)),
            circuit_cooldown_s=env.number("MVA_CIRCUIT_COOLDOWN", 30.0, minimum=1),
            webhook_allow_hosts=env.hosts("MVA_WEBHOOK_ALLOW_HOSTS"),
            webhook_timeout_s=env.number("MVA_WEBHOOK_TIMEOUT", 10.0),
            reconciler=reconciler == "on",
            reconcile_concurrency=int(env.number("MVA_RECONCILE_CONCURRENCY", 8, minimum=1)),
            reconcile_max_interval_s=env.number("MVA_RECONCILE_MAX_INTERVAL", 30.0, minimum=0.05),
            task_deadline_s=env.number("MVA_TASK_DEADLINE", 7_200.0, minimum=1),
            reconcile_cpu_share=_share(env.number("MVA_RECONCILE_CPU_SHARE", 0.7, minimum=0.05)),
            poll_first_after_s=(
                env.number("MVA_POLL_FIRST_AFTER", 0.0, minimum=0.05)
                if env.text("MVA_POLL_FIRST_AFTER") is not None
                else None
            ),
        )


def _share(value: float) -> float:
    if value > 1:
        raise SettingsError(f"MVA_RECONCILE_CPU_SHARE must be at most 1 (a core), got {value:g}.")
    return value


def shown_url(url: str) -> str:
    """``url`` fit for a message or a banner: its password, if any, is replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _redis_url(url: str | None) -> str | None:
    """``REDIS_URL`` as redis-py reads it, refused when malformed (never echoed: it may hold
    a password)."""
    if url is None:
        return None
    parts = urlsplit(url)
    problem = ""
    if parts.scheme not in ("redis", "rediss", "unix"):
        problem = "it must start with redis://, rediss:// or unix://"
    elif parts.scheme == "unix" and not parts.path:
        problem = "a unix:// URL names the socket's path"
    elif parts.scheme != "unix":
        try:
            parts.port  # noqa: B018 - parsing it is the check
        except ValueError:
            problem = "its port is not a number from 0 to 65535"
        if parts.path.strip("/") and not parts.path.strip("/").isdigit():
            problem = "its path, the database, is not a number"
    if problem:
        raise SettingsError(
            f"REDIS_URL is not a Redis URL: {problem} (e.g. redis://127.0.0.1:6379/0)."
        )
    return url


def _redis(env: _Env) -> tuple[str | None, RedisTopology]:
    """``REDIS_URL`` and the topology of ``MVA_REDIS_MODE`` (with Sentinel's variables)."""
    url = _redis_url(env.text("REDIS_URL"))
    try:
        topology = redis_topology(
            env.text("MVA_REDIS_MODE"),
            url=url,
            sentinels=env.text("REDIS_SENTINELS"),
            master=env.text("REDIS_SENTINEL_MASTER"),
        )
    except RedisTopologyError as exc:
        raise SettingsError(str(exc)) from None
    return url, topology


def _simulator_url(env: _Env) -> str | None:
    url = env.text("MVA_SIMULATOR_URL")
    if url is None:
        return None
    if not url.startswith(("http://", "https://")):
        raise SettingsError("MVA_SIMULATOR_URL must be an http:// or https:// URL.")
    return url


def _upstreams(env: _Env, environ: Mapping[str, str]) -> Upstreams:
    path = env.text("MVA_PROVIDERS_FILE")
    try:
        if path is None:
            return Upstreams(providers_from_env(environ))
        if clashing := [name for name in SIMPLE_VARIABLES if env.text(name)]:
            raise SettingsError(
                f"MVA_PROVIDERS_FILE is set, so {' and '.join(clashing)} would be ignored; "
                "configure that provider in the file (its credentials may stay in variables)."
            )
        return load_providers_file(Path(path), environ)
    except ProviderConfigError as exc:
        raise SettingsError(f"MVA_PROVIDERS_FILE: {exc}" if path else str(exc)) from None


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def networks(self, name: str) -> tuple[IPNetwork, ...]:
        """``10.0.0.0/8,127.0.0.1`` -> networks (an address is a network of one)."""
        found: list[IPNetwork] = []
        for item in (self.text(name) or "").split(","):
            if not item.strip():
                continue
            try:
                found.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                message = f"{name} entries are addresses or CIDRs, got {item!r}."
                raise SettingsError(message) from None
        return tuple(found)

    def hosts(self, name: str) -> frozenset[str]:
        """``host,host2`` -> lower-cased host names."""
        return frozenset(h.strip().lower() for h in (self.text(name) or "").split(",") if h.strip())

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
