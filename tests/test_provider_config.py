"""Providers come from a TOML file (credentials from variables) or from plain variables."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapter.config.providers import (
    DASHSCOPE_DEFAULT_URL,
    FAL_DEFAULT_URL,
    REPLICATE_DEFAULT_URL,
    ProviderConfigError,
    parse_providers,
    parse_upstreams,
)
from adapter.config.settings import Settings, SettingsError
from adapter.core.values import Strategy

REAL_SETUP = """
# Kling's own API first; a gateway when Kling is down or busy; Wan on DashScope, then through
# new-api, which also carries Vidu, Veo, Seedance and Hailuo (one of them under its own name).
[[provider]]
name = "kling"
dialect = "kling-official"
base_url = "https://api-singapore.klingai.com"
access_key_env = "KLING_ACCESS_KEY"
secret_key_env = "KLING_SECRET_KEY"
models = ["kling-v3", "kling-v2-6", "kling-v2-6-motion-control"]

[[provider]]
name = "ezmodel"
dialect = "kling-gateway"
base_url = "https://api.ezmodel.cloud/"
api_key_env = "EZMODEL_API_KEY"
models = ["kling-v3", "kling-v2-6-motion-control"]

[[provider]]
name = "dashscope"
dialect = "dashscope"
base_url = "https://dashscope-intl.aliyuncs.com"
api_key_env = "DASHSCOPE_API_KEY"
models = ["wan2-6-i2v-flash"]

[[provider]]
name = "newapi"
dialect = "newapi"
base_url = "https://newapi.example.com"
api_key_env = "NEWAPI_API_KEY"
models = [
  "wan2-6-i2v-flash", "viduq3", "veo3-1-fast", "doubao-seedance-1-5-pro", "minimax-hailuo-02",
]

[provider.model_names]
minimax-hailuo-02 = "hailuo-02"
"""
SECRETS = {
    "KLING_ACCESS_KEY": "ak-1",
    "KLING_SECRET_KEY": "sk-secret",
    "EZMODEL_API_KEY": "sk-ezmodel",
    "DASHSCOPE_API_KEY": "sk-dashscope",
    "NEWAPI_API_KEY": "sk-newapi",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_providers_file_keeps_order_and_reads_credentials_from_variables(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, REAL_SETUP)
    settings = Settings.from_env({"MVA_PROVIDERS_FILE": str(path), **SECRETS})
    kling, ezmodel, dashscope, newapi = settings.providers
    assert [p.name for p in settings.providers] == ["kling", "ezmodel", "dashscope", "newapi"]
    assert newapi.dialect == "newapi" and newapi.model_names == {"minimax-hailuo-02": "hailuo-02"}
    assert kling.dialect == "kling-official" and kling.access_key == "ak-1"
    assert str(kling.secret_key) == "sk-secret"
    assert ezmodel.base_url == "https://api.ezmodel.cloud"
    assert ezmodel.models == ("kling-v3", "kling-v2-6-motion-control")
    assert str(dashscope.api_key) == "sk-dashscope"
    assert settings.media_probe == "required" and not settings.uses_simulator
    secrets = [v for k, v in SECRETS.items() if k != "KLING_ACCESS_KEY"]  # the JWT's issuer
    assert not any(secret in repr(settings) for secret in secrets)


def test_the_readme_shows_this_providers_file() -> None:
    """The README's real setup is this test's file, so the two cannot drift apart."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert REAL_SETUP.strip() in readme


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            REAL_SETUP.replace('api_key_env = "EZMODEL_API_KEY"', 'api_key = "sk-inline"'),
            "never written in the file",
        ),
        (REAL_SETUP.replace('dialect = "dashscope"', 'dialect = "openai"'), "unknown dialect"),
        (REAL_SETUP.replace('name = "ezmodel"', 'name = "kling"'), "used twice"),
        (REAL_SETUP.replace('name = "ezmodel"', 'name = "Ez Model"'), "must be 1-40"),
        (REAL_SETUP.replace('"https://api.ezmodel.cloud/"', '"api.ezmodel.cloud"'), "http(s)"),
        (REAL_SETUP.replace('models = ["wan2-6-i2v-flash"]', "models = []"), "at least one"),
        (REAL_SETUP.replace('api_key_env = "DASHSCOPE_API_KEY"\n', ""), "needs api_key_env"),
        (REAL_SETUP.replace("DASHSCOPE_API_KEY", "UNSET_VARIABLE"), "UNSET_VARIABLE"),
        (
            REAL_SETUP.replace('minimax-hailuo-02 = "hailuo-02"', 'kling-v3 = "x"'),
            "model_names names kling-v3, which models does not list",
        ),
        (
            REAL_SETUP.replace(
                'models = ["wan2-6-i2v-flash"]\n',
                'models = ["wan2-6-i2v-flash"]\nmodel_names = {wan2-6-i2v-flash = "w"}\n',
                1,
            ),
            "model_names is for the newapi dialect only",
        ),
        ("[provider]\nname = 'x'", "Expected `array`"),
        ("", "provider"),
    ],
    ids=[
        "inline-secret",
        "dialect",
        "duplicate",
        "bad-name",
        "bad-url",
        "no-models",
        "no-credential",
        "unset-variable",
        "stray-model-name",
        "model-names-elsewhere",
        "not-a-list",
        "empty",
    ],
)
def test_a_bad_providers_file_is_refused_saying_what_to_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError, match="MVA_PROVIDERS_FILE") as caught:
        Settings.from_env({"MVA_PROVIDERS_FILE": str(path), **SECRETS})
    assert message in str(caught.value)


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[[provider]\nname=")
    with pytest.raises(SettingsError, match="not valid TOML"):
        Settings.from_env({"MVA_PROVIDERS_FILE": str(path)})


def test_a_file_and_the_simple_variables_together_are_refused(tmp_path: Path) -> None:
    """KLING_BASE_URL beside a file would be silently ignored; say so instead."""
    path = write(tmp_path, REAL_SETUP)
    env = {"MVA_PROVIDERS_FILE": str(path), "KLING_BASE_URL": "https://gw.example", **SECRETS}
    with pytest.raises(SettingsError, match="KLING_BASE_URL"):
        Settings.from_env(env)


def test_dashscope_alone_from_variables_defaults_to_its_beijing_endpoint() -> None:
    settings = Settings.from_env({"DASHSCOPE_API_KEY": "sk-ds"})
    [dashscope] = settings.providers
    assert dashscope.dialect == "dashscope" and dashscope.base_url == DASHSCOPE_DEFAULT_URL


def test_kling_and_dashscope_from_variables_make_two_providers() -> None:
    settings = Settings.from_env(
        {
            "KLING_BASE_URL": "https://gw.example",
            "KLING_API_KEY": "t",
            "DASHSCOPE_API_KEY": "sk-ds",
            "DASHSCOPE_BASE_URL": "https://dashscope-intl.aliyuncs.com/",
        }
    )
    assert [(p.name, p.dialect) for p in settings.providers] == [
        ("kling", "kling-gateway"),
        ("dashscope", "dashscope"),
    ]
    assert settings.providers[1].base_url == "https://dashscope-intl.aliyuncs.com"


def test_a_parsed_file_without_a_provider_table_is_refused() -> None:
    with pytest.raises(ProviderConfigError, match="no \\[\\[provider\\]\\]"):
        parse_providers({"provider": []}, {}, source="test.toml")


def test_new_api_from_variables_comes_after_kling_and_dashscope() -> None:
    settings = Settings.from_env(
        {
            "NEWAPI_BASE_URL": "https://newapi.example.com/",
            "NEWAPI_API_KEY": "sk-na",
            "DASHSCOPE_API_KEY": "sk-ds",
            "KLING_BASE_URL": "https://gw.example",
            "KLING_API_KEY": "t",
        }
    )
    assert [(p.name, p.dialect) for p in settings.providers] == [
        ("kling", "kling-gateway"),
        ("dashscope", "dashscope"),
        ("newapi", "newapi"),
    ]
    newapi = settings.providers[2]
    assert newapi.base_url == "https://newapi.example.com" and str(newapi.api_key) == "sk-na"
    assert newapi.models is None  # every model new-api carries


@pytest.mark.parametrize("given", ["NEWAPI_BASE_URL", "NEWAPI_API_KEY"])
def test_new_api_needs_its_url_and_key_together(given: str) -> None:
    with pytest.raises(SettingsError, match="NEWAPI_BASE_URL and NEWAPI_API_KEY"):
        Settings.from_env({given: "https://newapi.example.com"})


def test_fal_from_its_key_comes_last_on_the_queue_host() -> None:
    settings = Settings.from_env(
        {"FAL_KEY": "fal-k", "NEWAPI_BASE_URL": "https://newapi.example.com", "NEWAPI_API_KEY": "n"}
    )
    assert [(p.name, p.dialect) for p in settings.providers] == [
        ("newapi", "newapi"),
        ("fal", "fal"),
    ]
    fal = settings.providers[1]
    assert fal.base_url == FAL_DEFAULT_URL == "https://queue.fal.run"
    assert str(fal.api_key) == "fal-k" and fal.models is None


def test_fal_base_url_needs_fal_key_and_clashes_with_a_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FAL_BASE_URL needs FAL_KEY"):
        Settings.from_env({"FAL_BASE_URL": "https://fal.example"})
    path = tmp_path / "providers.toml"
    path.write_text(REAL_SETUP, encoding="utf-8")
    env = {"MVA_PROVIDERS_FILE": str(path), "FAL_BASE_URL": "https://fal.example", **SECRETS}
    with pytest.raises(SettingsError, match="FAL_BASE_URL"):
        Settings.from_env(env)


def test_a_fal_provider_in_a_file_takes_its_key_from_a_variable() -> None:
    raw = {
        "provider": [
            {
                "name": "fal",
                "dialect": "fal",
                "base_url": "https://queue.fal.run",
                "api_key_env": "FAL_KEY",
                "models": ["kling-v2-6-motion-control"],
            }
        ]
    }
    [fal] = parse_providers(raw, {"FAL_KEY": "fal-k"}, source="test.toml")
    assert (fal.dialect, str(fal.api_key), fal.models) == (
        "fal",
        "fal-k",
        ("kling-v2-6-motion-control",),
    )


def _two_hosts(**extra: Any) -> dict[str, Any]:
    """A file with a Kling gateway and fal, both serving kling-v3, and ``extra`` tables."""
    entry = {"api_key_env": "K", "models": ["kling-v3", "kling-v2-6"]}
    return {
        "provider": [
            {"name": "kling", "dialect": "kling-gateway", "base_url": "https://k.test", **entry},
            {"name": "fal", "dialect": "fal", "base_url": "https://f.test", **entry},
        ],
        **extra,
    }


def test_price_rows_and_strategies_are_read_from_the_file() -> None:
    raw = _two_hosts(strategy={"kling-v3": "cheapest", "kling-v2-6": {"kling": 90, "fal": 10}})
    raw["provider"][1]["prices"] = {"kling-v3": "0.084"}
    upstreams = parse_upstreams(raw, {"K": "k"}, source="test.toml")
    assert upstreams.providers[1].prices == {"kling-v3": Decimal("0.084")}
    assert upstreams.providers[0].prices == {}
    assert upstreams.strategies == {
        "kling-v3": Strategy("cheapest"),
        "kling-v2-6": Strategy("weighted", {"kling": 90, "fal": 10}),
    }


@pytest.mark.parametrize(
    ("prices", "strategy", "said"),
    [
        ({"viduq3": "1"}, {}, "prices names viduq3, which models does not list"),
        ({"kling-v3": "cheap"}, {}, "prices.kling-v3 must be a decimal string"),
        ({"kling-v3": "-1"}, {}, "prices.kling-v3 must be a decimal string"),
        ({}, {"kling-v3": "fastest"}, 'must be "order", "cheapest" or a table of percentages'),
        ({}, {"viduq3": "cheapest"}, "strategy.viduq3: no provider of the file lists viduq3"),
        ({}, {"kling-v3": {"kling": 50, "ezmodel": 50}}, "weighs ezmodel, which does not list"),
        ({}, {"kling-v3": {"kling": 50, "fal": 40}}, "must be 0 or more and add up to 100"),
    ],
)
def test_a_bad_price_row_or_strategy_names_what_to_fix(
    prices: dict[str, str], strategy: dict[str, Any], said: str
) -> None:
    raw = _two_hosts(strategy=strategy)
    raw["provider"][1]["prices"] = prices
    with pytest.raises(ProviderConfigError, match=re.escape(said)):
        parse_upstreams(raw, {"K": "k"}, source="test.toml")


def test_a_query_budget_is_read_per_provider() -> None:
    raw = _two_hosts()
    raw["provider"][0]["queries_per_s"] = 20
    raw["provider"][1]["queries_per_s"] = 0.5
    upstreams = parse_upstreams(raw, {"K": "k"}, source="test.toml")
    assert [p.queries_per_s for p in upstreams.providers] == [20.0, 0.5]
    assert parse_upstreams(_two_hosts(), {"K": "k"}, source="t").providers[0].queries_per_s is None


@pytest.mark.parametrize(
    ("rate", "said"),
    [
        (0, "provider 'kling': queries_per_s must be a number above 0"),
        (-2.5, "provider 'kling': queries_per_s must be a number above 0"),
        (float("inf"), "provider 'kling': queries_per_s must be a number above 0"),
        ("fast", "queries_per_s"),
    ],
)
def test_a_bad_query_budget_names_the_provider_and_the_key(rate: object, said: str) -> None:
    raw = _two_hosts()
    raw["provider"][0]["queries_per_s"] = rate
    with pytest.raises(ProviderConfigError, match=re.escape(said)):
        parse_upstreams(raw, {"K": "k"}, source="test.toml")


def test_replicate_from_its_token_comes_after_fal_on_the_api_host() -> None:
    settings = Settings.from_env({"REPLICATE_API_TOKEN": "r8_t", "FAL_KEY": "fal-k"})
    assert [(p.name, p.dialect) for p in settings.providers] == [
        ("fal", "fal"),
        ("replicate", "replicate"),
    ]
    replicate = settings.providers[1]
    assert replicate.base_url == REPLICATE_DEFAULT_URL == "https://api.replicate.com"
    assert str(replicate.api_key) == "r8_t" and replicate.models is None


def test_replicate_base_url_is_taken_with_its_token_and_clashes_with_a_file(
    tmp_path: Path,
) -> None:
    env = {"REPLICATE_API_TOKEN": "r8_t", "REPLICATE_BASE_URL": "http://sim.test/replicate/"}
    [replicate] = Settings.from_env(env).providers
    assert replicate.base_url == "http://sim.test/replicate"
    with pytest.raises(SettingsError, match="REPLICATE_BASE_URL needs REPLICATE_API_TOKEN"):
        Settings.from_env({"REPLICATE_BASE_URL": "https://replicate.example"})
    path = tmp_path / "providers.toml"
    path.write_text(REAL_SETUP, encoding="utf-8")
    env = {"MVA_PROVIDERS_FILE": str(path), "REPLICATE_BASE_URL": "https://r.example", **SECRETS}
    with pytest.raises(SettingsError, match="REPLICATE_BASE_URL"):
        Settings.from_env(env)


def test_a_replicate_provider_in_a_file_takes_its_token_from_a_variable() -> None:
    raw = {
        "provider": [
            {
                "name": "replicate",
                "dialect": "replicate",
                "base_url": "https://api.replicate.com",
                "api_key_env": "REPLICATE_API_TOKEN",
                "models": ["kling-v3", "wan2-6-i2v-flash"],
            }
        ]
    }
    [replicate] = parse_providers(raw, {"REPLICATE_API_TOKEN": "r8_t"}, source="test.toml")
    assert (replicate.dialect, str(replicate.api_key), replicate.models) == (
        "replicate",
        "r8_t",
        ("kling-v3", "wan2-6-i2v-flash"),
    )
    with pytest.raises(ProviderConfigError, match="needs api_key_env"):
        parse_providers(
            {"provider": [{**raw["provider"][0], "api_key_env": None}]}, {}, source="t.toml"
        )


def test_a_provider_may_not_take_a_name_of_the_simulators_test_providers() -> None:
    raw = _two_hosts()
    raw["provider"][0]["name"] = "test-kling"
    with pytest.raises(ProviderConfigError, match="names starting with 'test-' are those of"):
        parse_upstreams(raw, {"K": "k"}, source="test.toml")
