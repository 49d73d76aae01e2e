"""AntreaProxy side by side with the real kube-proxy (nftables and iptables), fed from one real
API server, each judged by its datapath answering a client pod.

One run starts etcd and the kube-apiserver of the pinned release on loopback and writes
Services and EndpointSlices into it (`bench.service_load`: selector-less Services, slices as
the EndpointSlice controller writes them, 16 concurrent writers). Three contenders
(`bench.proxy_nodes`) watch it, each in a node network namespace of its own with the same three
pods: AntreaProxy (the agent's datapath and its real proxier, `bench.antrea_node`, on the
node's own ovs-vswitchd, userspace datapath), kube-proxy `--proxy-mode nftables` and
kube-proxy `--proxy-mode iptables` (the lab's configuration, `lab.kubernetes.proxy`). Every
figure is taken from the client pod: new TCP connections through a ClusterIP, answered by an
endpoint pod that says its name. The machine is shared, so the contenders are measured in
turn, round after round in the same minutes, the two not measured stopped (SIGSTOP) meanwhile
and caught up (SIGCONT) before the next round.

- Full install after a restart, 4,000 Services / 28,000 endpoints: the contender is stopped, a
  Service (endpoint: a pod that listens) is created while it is down, and it is started again:
  from process start to that Service answering. Each contender installs everything in its
  first sync (AntreaProxy one bundle, kube-proxy a full nft transaction or iptables-restore),
  so the last Service answers once all are in. Target (AntreaProxy) <= 15 s; Antrea ~30 s.
- One Service change on top of 10,000 Services x 10 endpoints: the probe Service's endpoint
  moves to another pod (one EndpointSlice patch): from the write to the API server to a new
  connection through the ClusterIP answered by the new pod. Target (AntreaProxy) <= 150 ms at
  the median; kube-proxy nftables published ~141 ms for a Service added at 10k (PR #126013).
  kube-proxy keeps its defaults (minSyncPeriod 1 s, so rounds are 1.5 s apart).
- New connections per second through a ClusterIP from one pod (4 threads of short
  connections, each read to the end), each contender at 10,000 Services.
- Peak RSS (VmHWM) of each contender's process at 10,000 Services, after the changes and the
  connection rounds: AntreaProxy's process is the agent's datapath and proxier.
- Each scale starts fresh processes, and each is ready once a Service created before it
  started answers (the previous process's rules or flows still answer the others): that time
  is the first install at 10,000 Services. A contender that has not installed everything in
  `World.install_window` (300 s) is stopped and left out of that scale's figures, and a row
  says so (kube-proxy iptables at 10,000 Services x 10 endpoints, here).

With `--benchmark-disable` (the test command's smoke run) it runs once at a small scale.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from bench.apiserver import loopback_api_server
from bench.proxy_nodes import (
    ENDPOINT_A,
    ENDPOINT_B,
    AntreaNode,
    ContenderNode,
    KubeProxyNode,
    NodeFailed,
    Program,
)
from bench.proxy_nodes import PY as PYTHON
from bench.service_load import ServiceLoader
from bench.targets import Figures, at_most
from lab.kubernetes import binaries
from pyantrea_kube.resources import NODES

pytestmark = [pytest.mark.ovs, pytest.mark.slow, pytest.mark.timeout(1800)]
"""A full run loads 24,000 objects into etcd and starts each contender at 10,000 Services."""

NAMESPACE = "px"


@dataclass(frozen=True)
class Scale:
    install_services: int
    install_endpoints: int
    services: int
    endpoints: int
    restarts: int
    """Restarts per contender."""
    changes: int
    """Changes per contender."""
    rate_rounds: int
    rate_seconds: float


FULL = Scale(4_000, 7, 10_000, 10, restarts=3, changes=10, rate_rounds=3, rate_seconds=3.0)
SMOKE = Scale(40, 7, 100, 10, restarts=1, changes=1, rate_rounds=1, rate_seconds=0.5)
CHANGE_GAP = 1.5
"""Seconds between two changes: more than kube-proxy's minSyncPeriod (1 s), so it syncs at once."""


@dataclass
class World:
    """The API server, its objects and the three contenders of one run."""

    workdir: Path
    loader: ServiceLoader
    contenders: list[ContenderNode]
    services: int = 0
    endpoints: int = 0
    probe_ip: str = ""
    probe_on: str = "ep-a"
    restarts: int = 0
    install_window: float = 300.0
    """Seconds a fresh contender has to install everything before it is left out."""
    dropped: dict[str, float] = field(default_factory=dict)
    """Contenders that did not install everything in `install_window` (seconds) at this scale."""
    started: dict[str, float] = field(default_factory=dict)
    """Seconds from process start to everything installed, at each contender's last start."""

    def grow(self, services: int, endpoints: int) -> None:
        """The API server holds `services` filler Services of `endpoints` endpoints each, and
        every contender is a fresh process that listed them (stopped during the load)."""
        if (services, endpoints) == (self.services, self.endpoints):
            return
        for node in self.contenders:
            node.stop()
        if endpoints != self.endpoints:
            self.loader.resize_slices(range(min(self.services, services)), endpoints=endpoints)
        self.loader.create_services(range(self.services, services), endpoints=endpoints)
        self.services, self.endpoints = services, endpoints
        if not self.probe_ip:
            self.probe_ip = self.loader.create_service("probe", [str(ENDPOINT_A.ip)])
        # A Service none of them has seen: answered only once a fresh process has installed all
        # (the rules or flows of the previous process are still there, and answer the probe).
        self.restarts += 1
        fresh_ip = self.loader.create_service(f"late{self.restarts}", [str(ENDPOINT_B.ip)])
        for node in list(self.contenders):
            started = node.start()
            try:
                self.started[node.name] = node.until(fresh_ip, "ep-b", self.install_window) - started
            except NodeFailed:
                # Not installed in the window: left out of the figures at this scale, and said so.
                node.kill()
                self.contenders.remove(node)
                self.dropped[node.name] = self.install_window
                continue
            if isinstance(node, AntreaNode):
                node.installed(60)
        self.caught_up()

    def alone(self, node: ContenderNode) -> ExitStack:
        """A context in which only `node` runs: the others are paused, then resumed."""
        stack = ExitStack()
        for other in self.contenders:
            if other is not node:
                other.pause()
                stack.callback(other.resume)
        return stack

    def caught_up(self) -> None:
        for node in self.contenders:
            node.until(self.probe_ip, self.probe_on, 600)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    workdir = Path(tempfile.mkdtemp(prefix="pb-", dir="/tmp"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        kubeconfig = cleanup.enter_context(loopback_api_server(workdir / "kubernetes"))
        loader = ServiceLoader(str(kubeconfig), namespace=NAMESPACE)
        cleanup.callback(loader.close)
        loader.create_namespace()
        kube_proxy = binaries.program("kube-proxy")
        contenders: list[ContenderNode] = [
            AntreaNode("antrea", "pba", workdir, kubeconfig=kubeconfig),
            KubeProxyNode("kp-nft", "pbn", workdir, mode="nftables", kubeconfig=kubeconfig,
                          binary=kube_proxy, node_ip=IPv4Address("192.168.50.2")),
            KubeProxyNode("kp-ipt", "pbi", workdir, mode="iptables", kubeconfig=kubeconfig,
                          binary=kube_proxy, node_ip=IPv4Address("192.168.50.3")),
        ]  # fmt: skip
        for node in contenders:
            cleanup.callback(node.close)
            node.create()
            loader.rest.create(NODES, None, node.node_object())
        port = kubeconfig_port(kubeconfig)
        relay = Program.start(
            [PYTHON, "-m", "bench.apirelay", str(port), *(node.node_netns for node in contenders)],
            workdir / "apirelay.log",
        )
        cleanup.callback(relay.stop)
        relay.line(30)
        yield World(workdir, loader, contenders)


def kubeconfig_port(kubeconfig: Path) -> int:
    import yaml

    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return int(server.rsplit(":", 1)[1])


def _scale(figures: Figures) -> Scale:
    return FULL if figures.timing else SMOKE


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _names(world: World) -> list[str]:
    return [node.name for node in world.contenders]


def _kube_proxies(world: World) -> list[str]:
    """The kube-proxy contenders still in the run (one may have been left out at this scale)."""
    return [name for name in _names(world) if name != "antrea"]


LABELS = {"antrea": "AntreaProxy", "kp-nft": "kube-proxy nftables", "kp-ipt": "kube-proxy iptables"}


def test_full_install_after_restart(benchmark, figures, world) -> None:
    scale = _scale(figures)
    world.grow(scale.install_services, scale.install_endpoints)
    seconds: dict[str, list[float]] = {name: [] for name in _names(world)}
    installed: list[float] = []

    def rounds() -> None:
        for _ in range(scale.restarts):
            for node in world.contenders:
                with world.alone(node):
                    node.stop()
                    world.restarts += 1
                    late = f"late{world.restarts}"
                    cluster_ip = world.loader.create_service(late, [str(ENDPOINT_B.ip)])
                    started = node.start()
                    answered = node.until(cluster_ip, "ep-b", 300)
                    seconds[node.name].append(answered - started)
                    if isinstance(node, AntreaNode):
                        installed.append(node.installed(60) - started)
                world.caught_up()

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    endpoints = scale.install_services * scale.install_endpoints
    what = f"{scale.install_services:,} Services / {endpoints:,} endpoints"
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    figures.record(
        "antrea_restart_s",
        round(medians["antrea"], 2),
        "s",
        f"AntreaProxy full install after a restart, {what}: process start to the last Service "
        "answering, median (Antrea ~30 s)",
        target=at_most(15.0),
    )
    for name in _kube_proxies(world):
        figures.record(
            f"{name}_restart_s",
            round(medians[name], 2),
            "s",
            f"{LABELS[name]}, same window: {medians[name] / medians['antrea']:.2f}x AntreaProxy's",
        )
    figures.info(
        all_seconds={name: [round(v, 3) for v in values] for name, values in seconds.items()},
        antrea_installed_seconds=[round(v, 3) for v in installed],
    )
    figures.check()


def test_one_service_change_at_10000_services(benchmark, figures, world) -> None:
    scale = _scale(figures)
    world.grow(scale.services, scale.endpoints)
    latencies: dict[str, list[float]] = {name: [] for name in _names(world)}

    def rounds() -> None:
        for _ in range(scale.changes):
            for node in world.contenders:
                time.sleep(CHANGE_GAP)
                with world.alone(node):
                    moved_to = "ep-b" if world.probe_on == "ep-a" else "ep-a"
                    address = ENDPOINT_B.ip if moved_to == "ep-b" else ENDPOINT_A.ip
                    node.begin_until(world.probe_ip, moved_to, 300)
                    written = time.monotonic()
                    world.loader.set_endpoints("probe", [str(address)])
                    world.probe_on = moved_to
                    latencies[node.name].append(node.end_until(300) - written)
                world.caught_up()

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    what = f"{scale.services:,} Services x {scale.endpoints} endpoints"
    p50 = {name: statistics.median(values) for name, values in latencies.items()}
    figures.record(
        "antrea_change_p50_ms",
        _ms(p50["antrea"]),
        "ms",
        f"AntreaProxy: one endpoint replaced on top of {what}, API write to a connection "
        "answered by the new endpoint, median",
        target=at_most(150.0),
    )
    figures.record("antrea_change_max_ms", _ms(max(latencies["antrea"])), "ms", "AntreaProxy, same, worst")
    for name in _kube_proxies(world):
        figures.record(
            f"{name}_change_p50_ms",
            _ms(p50[name]),
            "ms",
            f"{LABELS[name]}, same change, median: {p50[name] / p50['antrea']:.1f}x AntreaProxy's "
            f"(worst {_ms(max(latencies[name]))} ms)",
        )
    figures.info(all_ms={name: [_ms(v) for v in values] for name, values in latencies.items()})
    figures.check()


def test_connections_per_second_through_a_cluster_ip(benchmark, figures, world) -> None:
    scale = _scale(figures)
    world.grow(scale.services, scale.endpoints)
    rates: dict[str, list[float]] = {name: [] for name in _names(world)}
    failures: dict[str, int] = dict.fromkeys(_names(world), 0)

    def rounds() -> None:
        for _ in range(scale.rate_rounds):
            for node in world.contenders:
                with world.alone(node):
                    done = node.rate(world.probe_ip, scale.rate_seconds, workers=4)
                rates[node.name].append(done["connections"] / done["seconds"])
                failures[node.name] += done["failures"]

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    best = {name: max(values) for name, values in rates.items()}
    assert all(value > 0 for value in best.values()), rates
    figures.record(
        "antrea_connections_per_s",
        round(best["antrea"]),
        "conn/s",
        f"AntreaProxy: new TCP connections per second through a ClusterIP from one pod, "
        f"{scale.services:,} Services (best of {scale.rate_rounds} rounds)",
    )
    for name in _kube_proxies(world):
        figures.record(
            f"{name}_connections_per_s",
            round(best[name]),
            "conn/s",
            f"{LABELS[name]}, same: AntreaProxy does {best['antrea'] / best[name]:.2f}x",
        )
    figures.info(all_rates={name: [round(v) for v in values] for name, values in rates.items()},
                 failures=failures)  # fmt: skip
    figures.check()


def test_memory_at_10000_services(benchmark, figures, world) -> None:
    scale = _scale(figures)
    world.grow(scale.services, scale.endpoints)
    peaks = benchmark.pedantic(
        lambda: {node.name: node.peak_rss_mb() for node in world.contenders}, rounds=1, iterations=1
    )
    figures.record(
        "antrea_peak_rss_mb",
        round(peaks["antrea"], 1),
        "MB",
        f"AntreaProxy process (agent datapath and proxier) at {scale.services:,} Services x "
        f"{scale.endpoints} endpoints, peak RSS",
    )
    for name in _kube_proxies(world):
        figures.record(
            f"{name}_peak_rss_mb",
            round(peaks[name], 1),
            "MB",
            f"{LABELS[name]} process, same: {peaks[name] / peaks['antrea']:.2f}x AntreaProxy's",
        )
    for name, window in world.dropped.items():
        figures.record(
            f"{name}_first_install_s",
            window,
            "s (unfinished)",
            f"{LABELS[name]}: had not installed {scale.services:,} Services in this window after its "
            "start, so it is left out of the figures at this scale",
        )
    for name, seconds in world.started.items():
        figures.record(
            f"{name}_first_install_s",
            round(seconds, 2),
            "s",
            f"{LABELS[name]}: those processes' start to a Service created before it answering "
            f"(all {scale.services:,} Services installed)",
        )
    figures.check()
