"""Settings come from the environment only, and a bad one is named at start-up."""

from __future__ import annotations

import httpx
import pytest

from adapter.bootstrap.adapters import load_catalog, make_providers
from adapter.config.settings import Settings, SettingsError, shown_url


def test_no_configuration_means_the_simulator_and_best_effort_probing() -> None:
    """The embedded default needs nothing."""
    settings = Settings.from_env({})
    assert settings.uses_simulator
    assert settings.media_probe == "best_effort"
    assert settings.redis_url is None


def test_a_bearer_token_selects_the_gateway_dialect_and_required_probing() -> None:
    """KLING_BASE_URL + KLING_API_KEY: the Kling-style gateway."""
    settings = Settings.from_env(
        {"KLING_BASE_URL": "https://gw.example/", "KLING_API_KEY": "tok-123"}
    )
    [kling] = settings.providers
    assert (kling.name, kling.dialect, kling.base_url) == (
        "kling",
        "kling-gateway",
        "https://gw.example",
    )
    assert not settings.uses_simulator
    assert settings.media_probe == "required"
    assert "tok-123" not in repr(settings)


def test_access_and_secret_keys_select_the_official_dialect() -> None:
    """KLING_ACCESS_KEY + KLING_SECRET_KEY: the official API with JWTs."""
    settings = Settings.from_env(
        {
            "KLING_BASE_URL": "https://api-singapore.klingai.com",
            "KLING_ACCESS_KEY": "ak",
            "KLING_SECRET_KEY": "sk",
        }
    )
    [kling] = settings.providers
    assert kling.dialect == "kling-official" and kling.access_key == "ak"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KLING_BASE_URL": "https://gw.example"}, "KLING_API_KEY"),
        ({"KLING_BASE_URL": "https://gw.example", "KLING_ACCESS_KEY": "ak"}, "KLING_SECRET_KEY"),
        ({"KLING_API_KEY": "t"}, "KLING_BASE_URL"),
        ({"KLING_BASE_URL": "gw.example", "KLING_API_KEY": "t"}, "KLING_BASE_URL"),
        ({"MVA_MEDIA_PROBE": "sometimes"}, "MVA_MEDIA_PROBE"),
        ({"MVA_BOOTSTRAP_KEY": "secret"}, "MVA_BOOTSTRAP_KEY"),
        ({"MVA_REFRESH_INTERVAL": "soon"}, "MVA_REFRESH_INTERVAL"),
        ({"MVA_IDEMPOTENCY_TTL": "5"}, "MVA_IDEMPOTENCY_TTL"),
        ({"MVA_MEDIA_REWRITES": "example.com"}, "MVA_MEDIA_REWRITES"),
        ({"MVA_IDEMPOTENCY_TTL": "90000", "MVA_TASK_TTL": "3600"}, "MVA_IDEMPOTENCY_TTL"),
        ({"DASHSCOPE_BASE_URL": "https://ds.example"}, "DASHSCOPE_API_KEY"),
        ({"MVA_REDIS_NAMESPACE": "a:b"}, "MVA_REDIS_NAMESPACE"),
        ({"MVA_SIM_PUBLIC_URL": "localhost:9100"}, "MVA_SIM_PUBLIC_URL"),
        ({"MVA_LOG_LEVEL": "loud"}, "MVA_LOG_LEVEL"),
        ({"MVA_REDIS_NAMESPACE": "{tag}"}, "MVA_REDIS_NAMESPACE"),
        ({"DASHSCOPE_API_KEY": "k", "DASHSCOPE_BASE_URL": "ds.example"}, "DASHSCOPE_BASE_URL"),
        ({"MVA_PROVIDERS_FILE": "/nonexistent/providers.toml"}, "MVA_PROVIDERS_FILE"),
        ({"MVA_PUBLIC_URL": "adapter.example"}, "MVA_PUBLIC_URL"),
        (
            {"MVA_PUBLIC_URL": "https://adapter.example", "REDIS_URL": "redis://r:6379/0"},
            "MVA_CALLBACK_SECRET",
        ),
        ({"MVA_RECONCILER": "sometimes"}, "MVA_RECONCILER"),
        ({"MVA_SSE_HEARTBEAT": "0"}, "MVA_SSE_HEARTBEAT"),
        ({"MVA_RECONCILE_CONCURRENCY": "0"}, "MVA_RECONCILE_CONCURRENCY"),
        ({"MVA_TASK_DEADLINE": "never"}, "MVA_TASK_DEADLINE"),
        ({"MVA_CIRCUIT_FAILURES": "0"}, "MVA_CIRCUIT_FAILURES"),
        ({"MVA_CIRCUIT_FAILURES": "many"}, "MVA_CIRCUIT_FAILURES"),
        ({"MVA_CIRCUIT_COOLDOWN": "0.5"}, "MVA_CIRCUIT_COOLDOWN"),
        ({"MVA_SIMULATOR_URL": "localhost:9100"}, "MVA_SIMULATOR_URL"),
        ({"MVA_POLL_FIRST_AFTER": "later"}, "MVA_POLL_FIRST_AFTER"),
        ({"MVA_POLL_FIRST_AFTER": "0"}, "MVA_POLL_FIRST_AFTER"),
        ({"MVA_RECONCILE_CPU_SHARE": "1.5"}, "MVA_RECONCILE_CPU_SHARE"),
        ({"MVA_RECONCILE_CPU_SHARE": "0"}, "MVA_RECONCILE_CPU_SHARE"),
        ({"MVA_RECONCILE_CPU_SHARE": "most"}, "MVA_RECONCILE_CPU_SHARE"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    """Misconfiguration fails at start-up and says which variable to fix."""
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:6379",
        "http://:pw@127.0.0.1:6379/0",
        "redis://:pw@127.0.0.1:port/0",
        "redis://:pw@127.0.0.1:70000/0",
        "redis://:pw@127.0.0.1:6379/zero",
        "unix://",
    ],
)
def test_a_malformed_redis_url_is_refused_naming_it_and_not_its_password(url: str) -> None:
    """REDIS_URL must be one redis-py reads; the message never repeats it (a password)."""
    with pytest.raises(SettingsError, match="REDIS_URL is not a Redis URL") as refused:
        Settings.from_env({"REDIS_URL": url})
    assert "pw" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://u:p@redis.example:6380", "redis://r", "unix:///s.sock"],
)
def test_redis_urls_redis_py_reads_are_taken(url: str) -> None:
    """Host, port, database, TLS, credentials and sockets are all accepted."""
    assert Settings.from_env({"REDIS_URL": url}).redis_url == url


def test_a_shown_url_hides_its_password() -> None:
    """Banners and messages show the user and host, never the password."""
    assert shown_url("redis://app:s3cret@r.example:6379/0") == "redis://app:***@r.example:6379/0"
    assert shown_url("redis://:s3cret@r.example/0") == "redis://:***@r.example/0"
    assert shown_url("redis://r.example:6379/0") == "redis://r.example:6379/0"


def test_rewrites_and_allowed_hosts_parse() -> None:
    """Lists are comma-separated; hosts are case-insensitive."""
    settings = Settings.from_env(
        {
            "MVA_MEDIA_REWRITES": "example.com=http://127.0.0.1:9100/media/",
            "MVA_MEDIA_ALLOW_HOSTS": "Media.Internal, 10.0.0.5",
        }
    )
    assert settings.media_rewrites == {"example.com": "http://127.0.0.1:9100/media"}
    assert settings.media_allow_hosts == {"media.internal", "10.0.0.5"}


def test_push_settings_parse() -> None:
    """Callbacks, webhooks and the reconciler read their variables once, here."""
    settings = Settings.from_env(
        {
            "MVA_PUBLIC_URL": "https://adapter.example/",
            "MVA_CALLBACK_SECRET": "s3cret",
            "MVA_WEBHOOK_ALLOW_HOSTS": "Hooks.Local, 127.0.0.1",
            "MVA_RECONCILER": "off",
            "MVA_TASK_DEADLINE": "60",
        }
    )
    assert settings.public_url == "https://adapter.example"
    assert settings.webhook_allow_hosts == frozenset({"hooks.local", "127.0.0.1"})
    assert settings.reconciler is False and settings.task_deadline_s == 60
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("timeout", ["5", "10", "30", "120"])
def test_a_reconcile_item_is_cut_off_only_after_its_longest_attempt(timeout: str) -> None:
    """Half the hold (the per-item cut-off) outlasts a webhook attempt or a refresh, however
    long MVA_WEBHOOK_TIMEOUT is set: an attempt is always recorded, never cut off unseen."""
    settings = Settings.from_env({"MVA_WEBHOOK_TIMEOUT": timeout, "MVA_POLL_TIMEOUT": timeout})
    assert settings.reconcile_hold_s / 2 > float(timeout)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"MVA_ADMIN_TOKEN": "short"}, "MVA_ADMIN_TOKEN"),
        ({"MVA_ADMIN_TOKEN": "mv_live_0123456789abcdef"}, "MVA_ADMIN_TOKEN"),
        ({"MVA_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, "MVA_TRUSTED_PROXIES"),
    ],
)
def test_admin_and_proxy_settings_are_checked(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_trusted_proxies_are_networks() -> None:
    settings = Settings.from_env({"MVA_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"})
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "127.0.0.1/32"]


def test_beside_configured_providers_the_simulator_serves_test_keys_under_test_names() -> None:
    """MVA_SIMULATOR_URL with a provider configured: live keys get the provider, test keys the
    simulator's providers, named apart."""
    settings = Settings.from_env(
        {
            "KLING_BASE_URL": "https://gw.example",
            "KLING_API_KEY": "t",
            "MVA_SIMULATOR_URL": "http://127.0.0.1:9100",
        }
    )
    live, test = make_providers(settings, httpx.AsyncClient(), load_catalog(settings))
    assert [p.name for p in live] == ["kling"]
    assert [p.name for p in test or ()] == ["test-kling", "test-dashscope", "test-newapi"]
    embedded = Settings.from_env({"MVA_SIMULATOR_URL": "http://127.0.0.1:9100"})
    live, test = make_providers(embedded, httpx.AsyncClient(), load_catalog(embedded))
    assert [p.name for p in live] == ["kling", "dashscope", "newapi"] and test is None


def test_redis_mode_is_standalone_by_default_and_takes_each_mode_by_name() -> None:
    assert Settings.from_env({}).redis_topology.mode == "standalone"
    assert not Settings.from_env({}).redis_configured
    cluster = Settings.from_env({"MVA_REDIS_MODE": "Cluster", "REDIS_URL": "redis://n1:7000"})
    assert cluster.redis_topology.mode == "cluster" and cluster.redis_configured


def test_sentinel_mode_reads_the_sentinels_and_the_master_and_needs_no_redis_url() -> None:
    settings = Settings.from_env(
        {
            "MVA_REDIS_MODE": "sentinel",
            "REDIS_SENTINELS": "s1:26379, 10.0.0.2:26380,[::1]:26381",
            "REDIS_SENTINEL_MASTER": "mymaster",
        }
    )
    topology = settings.redis_topology
    assert topology.sentinels == (("s1", 26379), ("10.0.0.2", 26380), ("::1", 26381))
    assert topology.master == "mymaster"
    assert settings.redis_url is None and settings.redis_configured


def test_sentinel_mode_takes_the_masters_password_and_database_from_redis_url() -> None:
    env = {
        "MVA_REDIS_MODE": "sentinel",
        "REDIS_SENTINELS": "s1:26379",
        "REDIS_SENTINEL_MASTER": "mymaster",
        "REDIS_URL": "redis://:pw@mymaster/2",
    }
    assert Settings.from_env(env).redis_url == "redis://:pw@mymaster/2"


_SENTINEL = {"MVA_REDIS_MODE": "sentinel", "REDIS_SENTINEL_MASTER": "m"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MVA_REDIS_MODE": "replicated"}, "MVA_REDIS_MODE must be 'standalone', 'cluster'"),
        ({"MVA_REDIS_MODE": "cluster"}, "MVA_REDIS_MODE=cluster needs REDIS_URL"),
        (
            {"MVA_REDIS_MODE": "cluster", "REDIS_URL": "unix:///r.sock"},
            "MVA_REDIS_MODE=cluster needs a redis:// or rediss:// REDIS_URL",
        ),
        (
            {"MVA_REDIS_MODE": "cluster", "REDIS_URL": "redis://n1:7000/3"},
            "REDIS_URL names database 3, but a Redis Cluster has only database 0",
        ),
        ({"MVA_REDIS_MODE": "sentinel"}, "MVA_REDIS_MODE=sentinel needs REDIS_SENTINELS"),
        (
            {"MVA_REDIS_MODE": "sentinel", "REDIS_SENTINELS": "s1:26379"},
            "MVA_REDIS_MODE=sentinel needs REDIS_SENTINEL_MASTER",
        ),
        ({**_SENTINEL, "REDIS_SENTINELS": "s1"}, "REDIS_SENTINELS entries look like host:port"),
        ({**_SENTINEL, "REDIS_SENTINELS": "s1:0"}, "REDIS_SENTINELS entries look like host:port"),
        ({**_SENTINEL, "REDIS_SENTINELS": ":26379"}, "REDIS_SENTINELS entries look like"),
        ({**_SENTINEL, "REDIS_SENTINELS": " , "}, "REDIS_SENTINELS names no sentinel"),
        (
            {**_SENTINEL, "REDIS_SENTINELS": "s1:26379", "REDIS_URL": "rediss://:pw@m/0"},
            "With MVA_REDIS_MODE=sentinel, REDIS_URL gives only the master's user, password",
        ),
        ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINELS would be ignored"),
        (
            {
                "REDIS_URL": "redis://n1:7000",
                "MVA_REDIS_MODE": "cluster",
                "REDIS_SENTINEL_MASTER": "m",
            },
            "REDIS_SENTINEL_MASTER would be ignored: MVA_REDIS_MODE is cluster",
        ),
    ],
)
def test_a_redis_topology_that_cannot_work_is_refused_naming_the_variable(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_callbacks_on_a_sentinel_redis_need_the_shared_secret_as_on_one_server() -> None:
    env = {
        **_SENTINEL,
        "REDIS_SENTINELS": "s1:26379",
        "MVA_PUBLIC_URL": "https://adapter.example",
    }
    with pytest.raises(SettingsError, match="MVA_CALLBACK_SECRET"):
        Settings.from_env(env)


def test_a_serve_reconciler_leaves_requests_three_tenths_of_a_core_unless_set() -> None:
    assert Settings.from_env({}).reconcile_cpu_share == 0.7
    assert Settings.from_env({"MVA_RECONCILE_CPU_SHARE": "1"}).reconcile_cpu_share == 1.0


def test_the_first_poll_waits_for_a_default_per_model_unless_set() -> None:
    assert Settings.from_env({}).poll_first_after_s is None
    assert Settings.from_env({"MVA_POLL_FIRST_AFTER": "90"}).poll_first_after_s == 90.0
