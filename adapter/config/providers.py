"""Which upstreams to use: a providers file (TOML), or the simple environment variables.

A providers file lists providers in order of preference: for each model, the first provider
that serves it is tried first. Credentials are never written in the file; each is named by
the environment variable that holds it (``api_key_env = "EZMODEL_API_KEY"``)::

    [[provider]]
    name = "kling"
    dialect = "kling-official"
    base_url = "https://api-singapore.klingai.com"
    access_key_env = "KLING_ACCESS_KEY"
    secret_key_env = "KLING_SECRET_KEY"
    models = ["kling-v3", "kling-v2-6"]

A ``newapi`` provider (new-api's generic task route) may name the models its channels call
otherwise than the catalogue does, in a ``[provider.model_names]`` table (slug = name).

A provider's ``queries_per_s`` (a number above 0) caps the task queries a second that the
reconcilers of every process send it together (a list page counts as one); without it they
are unpaced.

A provider's ``[provider.prices]`` table says what the host charges per second of video, by
model (slug = a decimal string): the ``cheapest`` strategy and each task's ``upstream_cost``
read it. A top-level ``[strategy]`` table picks, per model, how its providers are ordered:
``"order"`` (file order, the default), ``"cheapest"`` (by price; unpriced ones last, in file
order) or a table of percentages (``{kling = 90, fal = 10}``: the first provider tried is
drawn by weight, the others follow in file order)::

    [strategy]
    kling-v3 = "cheapest"
    kling-v2-6-motion-control = { kling = 90, fal = 10 }

Without a file, ``KLING_BASE_URL`` (+ ``KLING_API_KEY``, or ``KLING_ACCESS_KEY`` and
``KLING_SECRET_KEY``) configures one Kling provider, ``DASHSCOPE_API_KEY`` (+
``DASHSCOPE_BASE_URL``) one DashScope provider and ``NEWAPI_BASE_URL`` + ``NEWAPI_API_KEY``
one new-api provider, ``FAL_KEY`` (+ ``FAL_BASE_URL``) one fal provider and
``REPLICATE_API_TOKEN`` (+ ``REPLICATE_BASE_URL``) one Replicate provider, preferred in that
order.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import msgspec
from starlette.datastructures import Secret

from adapter.core.values import Strategy

Dialect = Literal["kling-gateway", "kling-official", "dashscope", "newapi", "fal", "replicate"]
DIALECTS: tuple[Dialect, ...] = (
    "kling-gateway",
    "kling-official",
    "dashscope",
    "newapi",
    "fal",
    "replicate",
)

#: Alibaba Model Studio's Beijing endpoint; keys are per region (upstream-contracts.md 4.1).
DASHSCOPE_DEFAULT_URL = "https://dashscope.aliyuncs.com"
#: fal's queue host (providers-research.md 1.1).
FAL_DEFAULT_URL = "https://queue.fal.run"
#: Replicate's API host (providers-research.md 3.1).
REPLICATE_DEFAULT_URL = "https://api.replicate.com"

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
#: The names of the simulator's providers that serve test keys beside configured ones.
TEST_PREFIX = "test-"
#: Credentials each dialect needs, as the file's ``*_env`` keys.
_NEEDS: dict[Dialect, tuple[str, ...]] = {
    "kling-gateway": ("api_key_env",),
    "kling-official": ("access_key_env", "secret_key_env"),
    "dashscope": ("api_key_env",),
    "newapi": ("api_key_env",),
    "fal": ("api_key_env",),
    "replicate": ("api_key_env",),
}


class ProviderConfigError(ValueError):
    """The provider configuration is wrong; the message says where and what to fix."""


class ProviderConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One configured upstream."""

    name: str
    dialect: Dialect
    base_url: str
    #: The models it serves; ``None``: every model its dialect can make.
    models: tuple[str, ...] | None = None
    api_key: Secret | None = None
    access_key: str | None = None
    secret_key: Secret | None = None
    #: Slug -> the upstream's name for it, where not the catalogue's (``newapi`` only).
    model_names: dict[str, str] = {}
    #: Slug -> what the host charges per second of video (``[provider.prices]``).
    prices: dict[str, Decimal] = {}
    #: The most task queries a second the reconcilers of every process send it together
    #: (``queries_per_s``); ``None``: unpaced.
    queries_per_s: float | None = None


class Upstreams(msgspec.Struct, frozen=True):
    """A providers file: the providers, and each model's strategy where it is not ``order``."""

    providers: tuple[ProviderConfig, ...]
    strategies: dict[str, Strategy] = {}


class _Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ``[[provider]]`` table as written; unknown keys (an inline ``api_key``) are refused."""

    name: str
    dialect: str
    base_url: str
    models: list[str]
    api_key_env: str | None = None
    access_key_env: str | None = None
    secret_key_env: str | None = None
    model_names: dict[str, str] = {}
    prices: dict[str, str] = {}
    queries_per_s: float | None = None


class _File(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    provider: list[_Entry]
    strategy: dict[str, str | dict[str, int]] = {}


def load_providers_file(path: Path, environ: Mapping[str, str]) -> Upstreams:
    """Read a providers file, taking each credential from the variable it names."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProviderConfigError(f"cannot read the providers file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProviderConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_upstreams(raw, environ, source=str(path))


def parse_upstreams(
    raw: Mapping[str, Any], environ: Mapping[str, str], *, source: str
) -> Upstreams:
    """The providers of a parsed providers file, and its strategies."""
    providers = parse_providers(raw, environ, source=source)
    given = msgspec.convert(raw, _File).strategy  # checked by parse_providers already
    return Upstreams(
        providers,
        {model: _strategy(model, rule, providers, source) for model, rule in given.items()},
    )


def parse_providers(
    raw: Mapping[str, Any], environ: Mapping[str, str], *, source: str
) -> tuple[ProviderConfig, ...]:
    try:
        file = msgspec.convert(raw, _File)
    except msgspec.ValidationError as exc:
        hint = ""
        if any(k in str(exc) for k in ("api_key", "access_key", "secret_key")):
            hint = " Credentials are never written in the file: name their variable with *_env."
        raise ProviderConfigError(f"{source}: {exc}.{hint}") from None
    if not file.provider:
        raise ProviderConfigError(f"{source} lists no [[provider]].")
    configs: list[ProviderConfig] = []
    for index, entry in enumerate(file.provider):
        where = f"{source}, provider {entry.name!r}"
        if not _NAME.fullmatch(entry.name):
            raise ProviderConfigError(
                f"{source}, provider #{index + 1}: name {entry.name!r} must be 1-40 of a-z, 0-9, "
                "'-' or '_', starting with a letter or digit."
            )
        if entry.name.startswith(TEST_PREFIX):
            raise ProviderConfigError(
                f"{where}: names starting with {TEST_PREFIX!r} are those of the simulator's "
                "providers, which serve test keys; choose another."
            )
        if any(c.name == entry.name for c in configs):
            raise ProviderConfigError(f"{where}: the name is used twice.")
        if entry.dialect not in DIALECTS:
            raise ProviderConfigError(
                f"{where}: unknown dialect {entry.dialect!r}; use one of {', '.join(DIALECTS)}."
            )
        dialect: Dialect = entry.dialect
        if not entry.models:
            raise ProviderConfigError(f"{where}: models must list at least one model.")
        creds = {key: _credential(entry, key, environ, where) for key in _NEEDS[dialect]}
        _check_model_names(entry, dialect, where)
        configs.append(
            ProviderConfig(
                name=entry.name,
                dialect=dialect,
                base_url=_base_url(entry.base_url, where),
                models=tuple(entry.models),
                api_key=Secret(creds["api_key_env"]) if "api_key_env" in creds else None,
                access_key=creds.get("access_key_env"),
                secret_key=Secret(creds["secret_key_env"]) if "secret_key_env" in creds else None,
                model_names=dict(entry.model_names),
                prices=_prices(entry, where),
                queries_per_s=_queries_per_s(entry, where),
            )
        )
    return tuple(configs)


def _queries_per_s(entry: _Entry, where: str) -> float | None:
    rate = entry.queries_per_s
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        raise ProviderConfigError(
            f"{where}: queries_per_s must be a number above 0 (queries a second), got {rate!r}."
        )
    return rate


def _prices(entry: _Entry, where: str) -> dict[str, Decimal]:
    if stray := sorted(entry.prices.keys() - set(entry.models)):
        raise ProviderConfigError(
            f"{where}: prices names {', '.join(stray)}, which models does not list."
        )
    prices = {}
    for slug, text in entry.prices.items():
        try:
            price = Decimal(text)
        except InvalidOperation:
            price = Decimal("NaN")
        if not price.is_finite() or price < 0:
            raise ProviderConfigError(
                f"{where}: prices.{slug} must be a decimal string of 0 or more (per second), "
                f"got {text!r}."
            )
        prices[slug] = price
    return prices


def _strategy(
    model: str, rule: str | dict[str, int], providers: tuple[ProviderConfig, ...], source: str
) -> Strategy:
    where = f"{source}, strategy.{model}"
    serving = [p.name for p in providers if p.models is None or model in p.models]
    if not serving:
        raise ProviderConfigError(f"{where}: no provider of the file lists {model}.")
    if isinstance(rule, str):
        if rule not in ("order", "cheapest"):
            raise ProviderConfigError(
                f'{where} must be "order", "cheapest" or a table of percentages, got {rule!r}.'
            )
        return Strategy("order" if rule == "order" else "cheapest")
    if stray := sorted(rule.keys() - set(serving)):
        raise ProviderConfigError(
            f"{where} weighs {', '.join(stray)}, which does not list {model} "
            f"(its providers: {', '.join(serving)})."
        )
    if any(weight < 0 for weight in rule.values()) or sum(rule.values()) != 100:
        raise ProviderConfigError(f"{where}: the percentages must be 0 or more and add up to 100.")
    return Strategy("weighted", dict(rule))


def providers_from_env(environ: Mapping[str, str]) -> tuple[ProviderConfig, ...]:
    """The simple case: one Kling and/or one DashScope provider from plain variables."""
    configs: list[ProviderConfig] = []
    base_url = _text(environ, "KLING_BASE_URL")
    api_key = _text(environ, "KLING_API_KEY")
    access_key = _text(environ, "KLING_ACCESS_KEY")
    secret_key = _text(environ, "KLING_SECRET_KEY")
    if base_url is None and (api_key or access_key or secret_key):
        raise ProviderConfigError("KLING_BASE_URL is required when Kling credentials are set.")
    if base_url is not None:
        url = _base_url(base_url, "KLING_BASE_URL")
        if api_key is not None:
            configs.append(
                ProviderConfig(
                    name="kling", dialect="kling-gateway", base_url=url, api_key=Secret(api_key)
                )
            )
        elif access_key is not None and secret_key is not None:
            configs.append(
                ProviderConfig(
                    name="kling",
                    dialect="kling-official",
                    base_url=url,
                    access_key=access_key,
                    secret_key=Secret(secret_key),
                )
            )
        else:
            raise ProviderConfigError(
                "KLING_BASE_URL needs KLING_API_KEY (a gateway's bearer token) or "
                "KLING_ACCESS_KEY and KLING_SECRET_KEY (the official Kling API)."
            )
    dashscope = _keyed(
        environ, "dashscope", "DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL", DASHSCOPE_DEFAULT_URL
    )
    configs.extend([dashscope] if dashscope else [])
    newapi_url = _text(environ, "NEWAPI_BASE_URL")
    newapi_key = _text(environ, "NEWAPI_API_KEY")
    if (newapi_url is None) != (newapi_key is None):
        raise ProviderConfigError("NEWAPI_BASE_URL and NEWAPI_API_KEY are needed together.")
    if newapi_url is not None and newapi_key is not None:
        configs.append(
            ProviderConfig(
                name="newapi",
                dialect="newapi",
                base_url=_base_url(newapi_url, "NEWAPI_BASE_URL"),
                api_key=Secret(newapi_key),
            )
        )
    fal = _keyed(environ, "fal", "FAL_KEY", "FAL_BASE_URL", FAL_DEFAULT_URL)
    configs.extend([fal] if fal else [])
    replicate = _keyed(
        environ, "replicate", "REPLICATE_API_TOKEN", "REPLICATE_BASE_URL", REPLICATE_DEFAULT_URL
    )
    configs.extend([replicate] if replicate else [])
    return tuple(configs)


def _keyed(
    environ: Mapping[str, str], dialect: Dialect, key_var: str, url_var: str, default_url: str
) -> ProviderConfig | None:
    """The provider of ``dialect`` (named after it) that ``key_var`` configures, on
    ``url_var`` or its default host; ``None`` without the key."""
    key = _text(environ, key_var)
    url = _text(environ, url_var)
    if url is not None and key is None:
        raise ProviderConfigError(f"{url_var} needs {key_var}.")
    if key is None:
        return None
    base_url = _base_url(url or default_url, url_var)
    return ProviderConfig(name=dialect, dialect=dialect, base_url=base_url, api_key=Secret(key))


#: The variables that configure providers without a file; a file replaces them.
SIMPLE_VARIABLES = (
    "KLING_BASE_URL",
    "DASHSCOPE_BASE_URL",
    "NEWAPI_BASE_URL",
    "FAL_BASE_URL",
    "REPLICATE_BASE_URL",
)


def _check_model_names(entry: _Entry, dialect: Dialect, where: str) -> None:
    if not entry.model_names:
        return
    if dialect != "newapi":
        raise ProviderConfigError(f"{where}: model_names is for the newapi dialect only.")
    if stray := sorted(entry.model_names.keys() - set(entry.models)):
        raise ProviderConfigError(
            f"{where}: model_names names {', '.join(stray)}, which models does not list."
        )
    if blank := sorted(slug for slug, name in entry.model_names.items() if not name.strip()):
        raise ProviderConfigError(f"{where}: model_names gives {', '.join(blank)} an empty name.")


def _credential(entry: _Entry, key: str, environ: Mapping[str, str], where: str) -> str:
    variable = getattr(entry, key)
    if variable is None:
        raise ProviderConfigError(f"{where}: the {entry.dialect} dialect needs {key}.")
    value = _text(environ, variable)
    if value is None:
        raise ProviderConfigError(f"{where}: {key} names {variable}, which is not set.")
    return value


def _base_url(value: str, where: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ProviderConfigError(f"{where}: the base URL must be an http(s) URL, got {value!r}.")
    return value.rstrip("/")


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None
