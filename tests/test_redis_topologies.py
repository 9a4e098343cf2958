"""The session's real Redis topologies (tests/redis_topologies.py) are what they claim, survive
losing a master, and the adapter's client builder reaches each mode, through a failover too."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from adapter.bootstrap.redis_clients import SentinelMaster, check_redis, make_redis
from adapter.config.settings import Settings, SettingsError
from adapter.core.values import ApiKey
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_keyspace import KeySpace
from tests.conftest import topology_settings
from tests.redis_topologies import LocalCluster, LocalSentinel, _cluster_info

pytestmark = pytest.mark.anyio


def api_key(name: str, minute: int = 0) -> ApiKey:
    return ApiKey(
        id=f"key_{secrets.token_hex(6)}",
        name=name,
        owner=name,
        key_hash=secrets.token_hex(32),
        status="active",
        created_at=datetime(2026, 11, 23, 8, minute, tzinfo=UTC),
    )


def test_the_cluster_has_three_masters_each_with_a_synced_replica(
    redis_cluster: LocalCluster,
) -> None:
    masters = redis_cluster.masters()
    assert len(masters) == 3
    for node in redis_cluster.nodes:
        info = _cluster_info(node)
        assert (info["cluster_state"], info["cluster_slots_ok"]) == ("ok", "16384")
        if node not in masters:
            assert node.info("replication")["master_link_status"] == "up"


def test_the_cluster_spreads_keys_over_its_three_masters(redis_cluster: LocalCluster) -> None:
    assert redis_cluster.client is not None
    ports = {redis_cluster.client.get_node_from_key(f"k{i}").port for i in range(30)}
    assert len(ports) == 3


def test_the_sentinels_watch_one_master_with_its_replica(redis_sentinel: LocalSentinel) -> None:
    master = redis_sentinel.master()
    assert master.info("replication")["role"] == "master"
    [replica] = [node for node in redis_sentinel.servers if node is not master]
    assert replica.info("replication")["master_link_status"] == "up"
    assert redis_sentinel.client is not None and redis_sentinel.client.ping()


async def test_each_mode_builds_its_client_and_stores_through_it(
    request: pytest.FixtureRequest, redis_cluster: LocalCluster, redis_sentinel: LocalSentinel
) -> None:
    standalone = Settings.from_env({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    kinds = [
        (standalone, aioredis.Redis),
        (topology_settings(request, "cluster"), RedisCluster),
        (topology_settings(request, "sentinel"), SentinelMaster),
    ]
    for settings, kind in kinds:
        client = make_redis(settings)
        try:
            assert isinstance(client, kind)
            keys = RedisKeyStore(client, namespace=f"mvatest{secrets.token_hex(6)}")
            key = api_key("builder")
            await keys.add_key(key)
            assert await keys.key_by_hash(key.key_hash) == key
            assert await keys.delete_key(key.id)
        finally:
            await client.aclose()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL redis://127.0.0.1:1/0 cannot be"),
        (
            {"MVA_REDIS_MODE": "cluster", "REDIS_URL": "redis://127.0.0.1:1"},
            r"REDIS_URL redis://127.0.0.1:1 \(Redis Cluster\) cannot be",
        ),
        (
            {
                "MVA_REDIS_MODE": "sentinel",
                "REDIS_SENTINELS": "127.0.0.1:1",
                "REDIS_SENTINEL_MASTER": "m",
            },
            "REDIS_SENTINELS: master m via sentinels 127.0.0.1:1",
        ),
    ],
)
def test_start_up_stops_naming_the_variable_when_the_redis_of_any_mode_is_not_there(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        check_redis(Settings.from_env(env))


def test_start_up_passes_when_each_mode_answers(
    request: pytest.FixtureRequest, redis_cluster: LocalCluster, redis_sentinel: LocalSentinel
) -> None:
    check_redis(topology_settings(request, "cluster"))
    check_redis(topology_settings(request, "sentinel"))


@pytest.mark.parametrize("topology", ["cluster", "sentinel"])
async def test_keys_written_before_a_master_dies_are_found_after_the_failover(
    request: pytest.FixtureRequest, topology: str
) -> None:
    """A failover drill: SIGKILL the master holding a key; once its replica took over, the
    same client (the adapter's) finds the key and writes new ones; the dead node comes back
    as a replica."""
    setup: LocalCluster | LocalSentinel = request.getfixturevalue(f"redis_{topology}")
    client = make_redis(topology_settings(request, topology))
    namespace = f"mvatest{secrets.token_hex(6)}"
    keys = RedisKeyStore(client, namespace=namespace)
    before, after = api_key("before"), api_key("after", minute=1)
    try:
        await keys.add_key(before)
        document = KeySpace(namespace).api_key(before.key_hash)
        await client.execute_command("WAIT", 1, 2000, **_routed(client, document))
        if isinstance(setup, LocalCluster):
            dead = setup.kill_master(document)
        else:
            dead = setup.kill_master()
        try:
            assert await keys.key_by_hash(before.key_hash) == before
            await keys.add_key(after)
            assert [k.id for k in await keys.list_keys()] == [before.id, after.id]
        finally:
            setup.revive(dead)
        for key in (before, after):
            assert await keys.delete_key(key.id)
    finally:
        await client.aclose()


def _routed(client: object, key: str) -> dict[str, object]:
    """WAIT goes to the node of ``key`` on a cluster; to the one master otherwise."""
    if isinstance(client, RedisCluster):
        return {"target_nodes": client.get_node_from_key(key)}
    return {}
