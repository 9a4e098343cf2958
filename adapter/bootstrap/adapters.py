"""The concrete adapters, made from settings: the providers, media checks, webhooks (Redis's
client is ``redis_clients``'s).

Also what the built-in simulator looks like to them (its keys, its providers, its config).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import Secret

from adapter.config.providers import TEST_PREFIX, Dialect, ProviderConfig
from adapter.config.settings import Settings, SettingsError
from adapter.core.values import Mode
from adapter.media.inspector import HttpMediaInspector
from adapter.outbound.addresses import Resolver, system_resolve
from adapter.outbound.client import build_http_client
from adapter.outbound.resolver import PublicAddressResolver
from adapter.ports import VideoProvider
from adapter.providers.dashscope.provider import DashScopeProvider
from adapter.providers.fal.provider import FalProvider
from adapter.providers.kling.provider import KlingProvider
from adapter.providers.newapi.provider import NewApiProvider
from adapter.providers.replicate.provider import ReplicateProvider
from adapter.service.catalog import Catalog, CatalogError
from adapter.simulator.config import SimulatorConfig
from adapter.webhooks.sender import HttpWebhookSender

#: The simulator's credentials, used when the embedded default points the providers at it.
SIMULATOR_KEY = SimulatorConfig().api_key
SIMULATOR_DASHSCOPE_KEY = SimulatorConfig().dashscope_api_key
SIMULATOR_FAL_KEY = SimulatorConfig().fal_api_key
SIMULATOR_REPLICATE_TOKEN = SimulatorConfig().replicate_api_token
#: Where the simulator's new-api gateway lives, under its base URL.
SIMULATOR_NEWAPI_PATH = "/newapi"


def simulator_config(settings: Settings) -> SimulatorConfig:
    """The built-in simulator as the settings shape it (``serve``'s and ``simulate``'s)."""
    return SimulatorConfig(
        queue_s=settings.sim_queue_s,
        process_s=settings.sim_process_s,
        public_url=settings.sim_public_url,
    )


def _kling(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return KlingProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        dialect="gateway" if config.dialect == "kling-gateway" else "official",
        api_key=str(config.api_key) if config.api_key else None,
        access_key=config.access_key,
        secret_key=str(config.secret_key) if config.secret_key else None,
        carried=catalog.carried_by("kling"),
        models=config.models,
    )


def _dashscope(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return DashScopeProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_key=str(config.api_key) if config.api_key else "",
        carried=catalog.carried_by("dashscope"),
        models=config.models,
    )


def _newapi(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return NewApiProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_key=str(config.api_key) if config.api_key else "",
        carried=catalog.carried_by("newapi"),
        models=config.models,
        model_names=config.model_names,
    )


def _fal(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return FalProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_key=str(config.api_key) if config.api_key else "",
        carried=catalog.carried_by("fal"),
        models=config.models,
    )


def _replicate(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return ReplicateProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_token=str(config.api_key) if config.api_key else "",
        carried=catalog.carried_by("replicate"),
        models=config.models,
    )


#: How each dialect is built, making the models the catalogue says its API carries. A new
#: upstream is a provider package and a row here.
PROVIDER_FACTORIES: dict[
    Dialect, Callable[[ProviderConfig, httpx.AsyncClient, Catalog], VideoProvider]
] = {
    "kling-gateway": _kling,
    "kling-official": _kling,
    "dashscope": _dashscope,
    "newapi": _newapi,
    "fal": _fal,
    "replicate": _replicate,
}


def simulator_providers(simulator_url: str, *, prefix: str = "") -> tuple[ProviderConfig, ...]:
    """A provider of each dialect but fal and Replicate, aimed at the built-in simulator: the
    embedded default's, or (named with ``prefix``) test mode's beside configured providers.

    fal and Replicate make no model the others do not, so here they could only be fall-backs;
    and a fall-back would take the task whose refusal the pytest plugin scripted for one
    submit (``refuse_next``). Their simulated APIs are reached from a providers file instead
    (``base_url = "{simulator}/fal"``, key ``SIMULATOR_FAL_KEY``; ``"{simulator}/replicate"``,
    token ``SIMULATOR_REPLICATE_TOKEN``)."""
    return (
        ProviderConfig(
            name=f"{prefix}kling",
            dialect="kling-gateway",
            base_url=simulator_url,
            api_key=Secret(SIMULATOR_KEY),
        ),
        ProviderConfig(
            name=f"{prefix}dashscope",
            dialect="dashscope",
            base_url=simulator_url,
            api_key=Secret(SIMULATOR_DASHSCOPE_KEY),
        ),
        ProviderConfig(
            name=f"{prefix}newapi",
            dialect="newapi",
            base_url=f"{simulator_url}{SIMULATOR_NEWAPI_PATH}",
            api_key=Secret(SIMULATOR_KEY),
        ),
    )


def load_catalog(settings: Settings) -> Catalog:
    """The models of ``MVA_SCHEMAS_DIR``; a broken spec stops the program naming its file."""
    try:
        return Catalog.load(settings.schemas_dir)
    except CatalogError as exc:
        raise SettingsError(f"MVA_SCHEMAS_DIR: {exc}") from None


def make_providers(
    settings: Settings, http: httpx.AsyncClient, catalog: Catalog
) -> tuple[list[VideoProvider], list[VideoProvider] | None]:
    """The live providers in order of preference (the configured ones, or the simulator's),
    and the test mode's: the simulator's beside configured ones (none without a simulator),
    ``None`` when the simulator's serve both modes."""
    if not settings.providers:
        if settings.simulator_url is None:
            raise ValueError(
                "no upstream configured: set KLING_BASE_URL, DASHSCOPE_API_KEY, "
                "NEWAPI_BASE_URL, FAL_KEY or REPLICATE_API_TOKEN, or run the simulator"
            )
        return _built(simulator_providers(settings.simulator_url), http, catalog), None
    test: tuple[ProviderConfig, ...] = ()
    if settings.simulator_url is not None:
        test = simulator_providers(settings.simulator_url, prefix=TEST_PREFIX)
    return _built(settings.providers, http, catalog), _built(test, http, catalog)


def _built(
    configs: tuple[ProviderConfig, ...], http: httpx.AsyncClient, catalog: Catalog
) -> list[VideoProvider]:
    providers = []
    for config in configs:
        try:
            providers.append(PROVIDER_FACTORIES[config.dialect](config, http, catalog))
        except ValueError as exc:
            raise SettingsError(f"provider {config.name!r}: {exc}") from None
    return providers


def make_media(
    settings: Settings, mode: Mode = "live", *, resolve: Resolver = system_resolve
) -> tuple[HttpMediaInspector, httpx.AsyncClient]:
    """The media checks of ``mode``'s tasks, and their client (the caller closes it): every
    lookup is ``resolve``, the check's and the connection's, and the connection goes only to
    vetted addresses."""
    rewrites = dict(settings.media_rewrites)
    allow = set(settings.media_allow_hosts)
    simulator_url = settings.simulator_url
    if simulator_url is not None and (mode == "test" or settings.uses_simulator):
        # example.com is reserved for documentation (RFC 2606): the seeds' media URLs live
        # there, so the simulator's tasks take them from its test media. Never a live task's
        # beside configured providers: a real upstream could not fetch what passed here.
        rewrites.setdefault("example.com", f"{simulator_url}/media")
        allow.add(urlsplit(simulator_url).hostname or "127.0.0.1")
    # Rewrite targets are the operator's (a mirror, the simulator): connected to as they are.
    trusted = allow | {host for base in rewrites.values() if (host := urlsplit(base).hostname)}
    http = build_http_client(
        timeout_s=settings.media_timeout_s,
        max_connections=64,
        resolver=PublicAddressResolver(resolve, trusted=frozenset(trusted)),
    )
    inspector = HttpMediaInspector(
        http,
        allow_hosts=frozenset(allow),
        rewrites=rewrites,
        resolve=resolve,
        timeout=settings.media_timeout_s,
    )
    return inspector, http


def make_webhook_sender(
    settings: Settings, *, resolve: Resolver = system_resolve
) -> tuple[HttpWebhookSender, httpx.AsyncClient]:
    """The webhook sender and its client (the caller closes it), connecting as media does."""
    allow = settings.webhook_allow_hosts
    http = build_http_client(
        timeout_s=settings.webhook_timeout_s,
        max_connections=64,
        resolver=PublicAddressResolver(resolve, trusted=allow),
    )
    sender = HttpWebhookSender(
        http, allow_hosts=allow, resolve=resolve, timeout_s=settings.webhook_timeout_s
    )
    return sender, http
