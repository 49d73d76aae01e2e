"""Test helpers for multi-node datapath tests: agents in-process on a loop thread, and pods.

A `Cluster` is a `lab.nodes.NodeSet` plus a real Kubernetes control plane on the host's loopback
(tests.kubecluster) and one in-process `Agent` per node,
all agents running on one background event loop (`LoopThread`) so that they keep serving while
a test blocks on `ping`. Pods are network namespaces wired the way the CNI service wires them:
a veth pair made with `pyantrea_netlink`, the host end attached through the agent's
`PodDatapath`, then the pod's address and default route configured inside the pod.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any, TypeVar

from agent.agent import Agent
from agent.pods.api import PodInterface
from lab import netns
from lab.nodes import NodeHost, NodeSet
from pyantrea_config.agent import AgentConfig
from pyantrea_config.loader import load_document
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import NODES
from pyantrea_kube.rest import RestClient
from pyantrea_netlink import NetlinkClient
from pyantrea_testing.podwiring import wire_pod
from tests.kubecluster import LoopbackCluster

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop in a thread of its own; `run(coro)` from blocking test code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-agents-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@dataclass(frozen=True)
class Pod:
    name: str
    netns: str
    ip: IPv4Interface
    interface: PodInterface
    node: NodeHost

    def run(self, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return netns.run(self.netns, *argv, check=check, timeout=timeout)


class Cluster:
    """Nodes, a real control plane, and an agent per node; `stop()` undoes everything."""

    def __init__(self, workdir: Path, *, prefix: str, count: int, tunnel_type: str = "vxlan") -> None:
        self.workdir = workdir
        self.prefix = prefix
        self.tunnel_type = tunnel_type
        self.nodes = NodeSet(workdir, prefix=prefix, count=count)
        self.kubernetes = LoopbackCluster(workdir / "kubernetes")
        self.loop = LoopThread()
        self.agents: dict[str, Agent] = {}
        self.pods: list[Pod] = []
        self._pod_ips: dict[str, int] = {}

    def start(self, *, joined: int | None = None) -> Cluster:
        """Start every node; the first `joined` (default: all) also get their Node and agent."""
        try:
            self.nodes.start()
            self.kubernetes.start()
            self.kubeconfig = self.kubernetes.admin_kubeconfig
            self.api = load_api_client(self.kubeconfig)
            self.rest = RestClient(self.api)
            for node in list(self.nodes)[:joined]:
                self.join(node)
        except BaseException:
            self.stop()
            raise
        return self

    def join(self, node: NodeHost) -> Agent:
        """Create the node's Node object and start its agent, as a node joining the cluster."""
        self.rest.create(NODES, None, node.node_object())
        return self.start_agent(node)

    def config(self, node: NodeHost) -> AgentConfig:
        document = node.agent_config(kubeconfig=self.kubeconfig, tunnel_type=self.tunnel_type)
        return load_document(AgentConfig, document)

    def start_agent(self, node: NodeHost) -> Agent:
        agent = Agent(self.config(node), netns=node.netns_path, api_client=self.api)
        self.loop.run(agent.start())
        self.agents[node.name] = agent
        return agent

    def stop_agent(self, node: NodeHost) -> None:
        agent = self.agents.pop(node.name)
        self.loop.run(agent.stop())

    def agent(self, node: NodeHost) -> Agent:
        return self.agents[node.name]

    def stop(self) -> None:
        for name in list(self.agents):
            agent = self.agents.pop(name)
            try:
                self.loop.run(agent.stop(), timeout=30)
            except Exception as exc:  # keep tearing down
                print(f"stopping the agent of {name} failed: {exc!r}")
        for pod in self.pods:
            netns.delete(pod.netns)
        self.loop.stop()
        self.kubernetes.stop()
        self.nodes.stop()

    def add_pod(self, node: NodeHost, name: str) -> Pod:
        """A pod on `node` with the next free address of its subnet, attached and configured."""
        index = self._pod_ips[node.name] = self._pod_ips.get(node.name, 1) + 1
        ip = IPv4Interface(f"{node.pod_cidr.network_address + index}/{node.pod_cidr.prefixlen}")
        pod_netns = f"{self.prefix}-{name}"
        path = netns.create(pod_netns)
        pod = self.loop.run(self._attach(node, name, pod_netns, path, ip))
        self.pods.append(pod)
        return pod

    async def _attach(self, node: NodeHost, name: str, pod_netns: str, path: Path, ip: IPv4Interface) -> Pod:
        async with NetlinkClient(node.netns_path) as netlink:
            interface = await wire_pod(self.agent(node), netlink, namespace="default", name=name,
                                       container_id=f"c-{name}", netns=path, ip=ip)  # fmt: skip
        return Pod(name, pod_netns, ip, interface, node)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ping(
    source_netns: str, address: object, *, count: int = 1, wait: float = 2, source: str | None = None
) -> bool:
    argv = ["ping", "-c", str(count), "-W", str(wait), "-i", "0.2"]
    if source is not None:
        argv += ["-I", source]
    return netns.run(source_netns, *argv, str(address), check=False).returncode == 0


def tcp_exchange(server: Pod, client: Pod, *, port: int = 5201) -> str:
    """Send a line from `client` to a one-shot TCP server in `server`; returns what came back."""
    listener = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            server.netns,
            "sh",
            "-c",
            f"echo from-{server.name} | timeout 10 nc -l -p {port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(50):
            if f":{port}" in netns.run(server.netns, "ss", "-ltn").stdout:
                break
            threading.Event().wait(0.05)
        result = client.run(
            "sh", "-c", f"echo from-{client.name} | timeout 5 nc -q1 {server.ip.ip} {port}", check=False
        )
        received, _ = listener.communicate(timeout=15)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    assert f"from-{client.name}" in received, f"server got {received!r}"
    return result.stdout.strip()


def flows_of_table(text: str, table: int) -> list[str]:
    return [line.strip() for line in text.splitlines() if re.search(rf"\btable={table},", line)]


def wait_until(condition: Callable[[], bool], *, timeout: float = 15, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
