"""Real Redis topologies started for the test session, and stopped after it: a Redis Cluster of
three masters with a replica each, and a Sentinel setup (one master, one replica, three
sentinels). All local, each process a daemonized ``redis-server`` of a temporary directory.

Fixtures (session-scoped, started on first use):

- ``redis_cluster`` -> :class:`LocalCluster`: ``.url`` names one node, ``.client`` is a ready
  ``redis.cluster.RedisCluster`` (synchronous), ``.nodes`` the six :class:`RedisNode`.
- ``redis_sentinel`` -> :class:`LocalSentinel`: ``.sentinels`` ((host, port) each),
  ``.master_name``, ``.client`` a ready synchronous client of the current master.

Both can kill their master (SIGKILL) and wait for the failover, then bring the dead node back
as a replica (``kill_master()`` and ``revive(node)``), for failover drills.

Tests delete only the keys they made (a namespace of their own), as on the shared Redis.
Ports: cluster from 7301 (bus ports +10000), Sentinel's servers from 7311 and sentinels from
27311; a base taken by something else moves up in steps of 20.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

#: Seconds a topology may take to form, or to fail over.
READY_S = 30.0
FAILOVER_S = 30.0


def wait_for(what: str, check: Callable[[], bool], within_s: float = READY_S) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {within_s} s")
        time.sleep(0.1)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(base: int, count: int, *, bus: bool = False) -> list[int]:
    """``count`` consecutive free ports from ``base`` (and their bus ports, +10000), moving up
    in steps of 20 while some are taken."""
    for start in range(base, base + 400, 20):
        ports = list(range(start, start + count))
        wanted = ports + [p + 10_000 for p in ports] if bus else ports
        if all(_port_free(p) for p in wanted):
            return ports
    raise RuntimeError(f"no {count} free ports from {base}")


class RedisNode:
    """One daemonized ``redis-server`` (or sentinel) with its own directory and pid file."""

    def __init__(self, port: int, directory: Path, *args: str) -> None:
        self.port = port
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._args = args
        self.pid_file = self.dir / "redis.pid"

    def start(self) -> None:
        self.pid_file.unlink(missing_ok=True)
        subprocess.run(
            [
                "redis-server",
                *self._args,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--daemonize", "yes", "--pidfile", str(self.pid_file)),
                *("--logfile", str(self.dir / "redis.log"), "--dir", str(self.dir)),
            ],
            check=True,
        )
        wait_for(f"redis on port {self.port}", self.client().ping, within_s=10)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1, retry=None)

    def info(self, section: str) -> dict[str, str]:
        with self.client() as client:
            found: dict[str, str] = client.info(section)
            return found

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL, as a machine that dies; returns once the process is gone."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_for(f"redis {pid} to die", lambda: not _alive(pid), within_s=10)
        self.pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of a daemon reparented to init is reaped by it; /proc tells a zombie apart.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class LocalCluster:
    """Six nodes, three masters with a replica each, slots spread by ``redis-cli --cluster``."""

    def __init__(self, directory: Path, base_port: int = 7301) -> None:
        ports = free_ports(base_port, 6, bus=True)
        self.nodes = [
            RedisNode(
                port,
                directory / str(port),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                *("--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no"),
            )
            for port in ports
        ]
        self.url = f"redis://127.0.0.1:{ports[0]}/0"
        self.client: RedisCluster | None = None

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                *("--cluster-replicas", "1", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
        )
        self.wait_healthy()
        self.client = RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        for node in self.nodes:
            node.kill()

    def live(self) -> list[RedisNode]:
        return [node for node in self.nodes if node.pid() is not None]

    def masters(self) -> list[RedisNode]:
        return [n for n in self.live() if n.info("replication")["role"] == "master"]

    def wait_healthy(self, within_s: float = READY_S) -> None:
        """Every live node says ``cluster_state:ok`` with all 16384 slots served, and three
        masters each have a replica in sync."""

        def healthy() -> bool:
            for node in self.live():
                info = _cluster_info(node)
                if info["cluster_state"] != "ok" or info["cluster_slots_ok"] != "16384":
                    return False
            masters = self.masters()
            synced = [
                n for n in self.live() if n.info("replication").get("master_link_status") == "up"
            ]
            return len(masters) == 3 and len(synced) == len(self.live()) - 3

        wait_for("the cluster to be healthy", healthy, within_s)

    def kill_master(self, key: str | None = None) -> RedisNode:
        """SIGKILL a master (the one serving ``key``'s slot, if given), and return once its
        replica serves its slots."""
        victim = self.masters()[0]
        if key is not None:
            assert self.client is not None
            port = self.client.get_node_from_key(key).port
            victim = next(node for node in self.nodes if node.port == port)
        victim.kill()
        survivor = self.live()[0]

        def failed_over() -> bool:
            info = _cluster_info(survivor)
            return (
                info["cluster_state"] == "ok"
                and info["cluster_slots_ok"] == "16384"
                and len(self.masters()) == 3
            )

        wait_for("the cluster to fail over", failed_over, FAILOVER_S)
        return victim

    def revive(self, node: RedisNode) -> None:
        """Start a killed node again: it rejoins (its nodes.conf) as a replica."""
        node.start()
        self.wait_healthy()


def _cluster_info(node: RedisNode) -> dict[str, str]:
    with node.client() as client:
        raw = client.execute_command("CLUSTER", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


class LocalSentinel:
    """A master, its replica, and three sentinels (quorum 2) watching it as ``master_name``."""

    master_name = "mvatest"

    def __init__(self, directory: Path, base_port: int = 7311, sentinel_port: int = 27311) -> None:
        data = ("--save", "", "--appendonly", "no")
        first, second = free_ports(base_port, 2)
        self.servers = [
            RedisNode(first, directory / str(first), *data),
            RedisNode(
                second, directory / str(second), *data, "--replicaof", "127.0.0.1", str(first)
            ),
        ]
        self.sentinel_nodes = []
        for port in free_ports(sentinel_port, 3):
            conf = directory / f"sentinel-{port}" / "sentinel.conf"
            conf.parent.mkdir(parents=True)
            conf.write_text(
                f"sentinel monitor {self.master_name} 127.0.0.1 {first} 2\n"
                f"sentinel down-after-milliseconds {self.master_name} 1000\n"
                f"sentinel failover-timeout {self.master_name} 5000\n"
                f"sentinel parallel-syncs {self.master_name} 1\n"
            )
            self.sentinel_nodes.append(RedisNode(port, conf.parent, str(conf), "--sentinel"))
        self.sentinels = [("127.0.0.1", node.port) for node in self.sentinel_nodes]
        self.client: redis.Redis | None = None
        self._sentinel: Sentinel | None = None

    def start(self) -> None:
        for node in [*self.servers, *self.sentinel_nodes]:
            node.start()
        self.wait_healthy()
        self._sentinel = Sentinel(self.sentinels, socket_timeout=2)
        self.client = self._sentinel.master_for(self.master_name, socket_timeout=2)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        for node in [*self.sentinel_nodes, *self.servers]:
            node.kill()

    def master(self) -> RedisNode:
        """The server the sentinels name as master now."""
        with self.sentinel_nodes[0].client() as client:
            _, port = client.sentinel_get_master_addr_by_name(self.master_name)
        return next(node for node in self.servers if node.port == int(port))

    def wait_healthy(self, within_s: float = READY_S) -> None:
        """Every sentinel knows the master, its replica in sync, and the two other sentinels."""

        def healthy() -> bool:
            master = self.master()
            replicas = [n for n in self.servers if n is not master and n.pid() is not None]
            if any(n.info("replication").get("master_link_status") != "up" for n in replicas):
                return False
            for node in self.sentinel_nodes:
                with node.client() as client:
                    state = client.sentinel_master(self.master_name)
                    known = client.sentinel_slaves(self.master_name)
                ok = [r for r in known if not r["is_odown"] and not r["is_sdown"]]
                if state["num-other-sentinels"] != 2 or len(ok) != len(replicas):
                    return False
            return True

        wait_for("the sentinels to see the master, its replica and each other", healthy, within_s)

    def kill_master(self) -> RedisNode:
        """SIGKILL the master, and return once every sentinel names its replica instead, as
        a master up and not failing over (what a client's discovery asks of one)."""
        victim = self.master()
        victim.kill()

        def failed_over() -> bool:
            for node in self.sentinel_nodes:
                with node.client() as client:
                    state = client.sentinel_master(self.master_name)
                if (
                    int(state["port"]) == victim.port
                    or not state["is_master"]
                    or state["is_sdown"]
                    or state["is_odown"]
                    or "failover_in_progress" in state["flags"]
                ):
                    return False
            return self.master().info("replication")["role"] == "master"

        wait_for("the sentinels to fail over", failed_over, FAILOVER_S)
        return victim

    def revive(self, node: RedisNode) -> None:
        """Start a killed server again, as a replica of the new master (what the sentinels
        would make of it, only sooner)."""
        node.start()
        with node.client() as client:
            client.replicaof("127.0.0.1", self.master().port)
        self.wait_healthy()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local Redis Cluster (3 masters, 3 replicas) for the session; stopped after it."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("needs redis-server and redis-cli on PATH")
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSentinel]:
    """A local master, replica and three sentinels for the session; stopped after it."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH")
    setup = LocalSentinel(tmp_path_factory.mktemp("sentinel"))
    try:
        setup.start()
        yield setup
    finally:
        setup.stop()
