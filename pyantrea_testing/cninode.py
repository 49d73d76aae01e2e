"""A pyantrea node for the CNI tests and benchmarks: br-int with gw0 and the pipeline's flows, the real
`OvsPodDatapath`, and the agent's `CniServer` on a unix socket, wired the way the agent wires
them and run on an event loop (uvloop, as in the agent) of a thread of its own, so a test can
exec the plugin synchronously while the server answers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from agent.cniserver import CniServer, StartupGate
from agent.cniserver.nodepods import NodePods
from agent.node.bridge import BridgeSettings, setup_bridge
from agent.node.gateway import configure_gateway
from agent.node.local import gateway_mac
from agent.openflow.client import FlowClient
from agent.openflow.cookies import Cookies
from agent.openflow.features import GatewayPort, gateway_flows, pipeline_flows
from agent.pods.api import PodDatapath
from agent.pods.datapath import OvsPodDatapath
from lab import netns
from lab.ovs import OvsInstance
from pyantrea_netlink import NetlinkClient
from pyantrea_ovsdb import DatapathType, OvsdbClient, TunnelType

T = TypeVar("T")

BRIDGE = "br-int"
GATEWAY = "gw0"
MTU = 1450
SERVICE_CIDR = IPv4Network("10.96.0.0/12")
POD_CIDR = IPv4Network("10.244.1.0/24")


class LoopThread:
    """An event loop running on a daemon thread; `run` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="cni-test-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass(frozen=True)
class NodeSettings:
    pod_cidr: IPv4Network = POD_CIDR
    gate_open: bool = True
    gate_timeout: float = 30.0
    ipam_plugin_dirs: tuple[Path, ...] = (Path("/usr/lib/cni"),)
    wrap_datapath: Callable[[PodDatapath], PodDatapath] | None = None
    """Replaces the datapath the CNI server gets (only to inject a datapath failure)."""
    node_pods: NodePods | None = None
    """This node's Pods: given, each start runs the stale pod clean-up, as the agent does."""


class Node:
    """One node's agent side; `start`, `restart` (a new agent process's worth of state), `stop`."""

    def __init__(self, ovs: OvsInstance, workdir: Path, settings: NodeSettings | None = None) -> None:
        self.ovs = ovs
        self.settings = settings or NodeSettings()
        self.socket = workdir / "run" / "cni.sock"
        self.state_dir = workdir / "state"
        self.gateway = IPv4Interface(
            f"{self.settings.pod_cidr.network_address + 1}/{self.settings.pod_cidr.prefixlen}"
        )
        self.loop = LoopThread()
        self.gate: StartupGate | None = None
        self.datapath: OvsPodDatapath | None = None
        self._ovsdb: OvsdbClient | None = None
        self._flows: FlowClient | None = None
        self._flow_task: asyncio.Task[None] | None = None
        self._netlink: NetlinkClient | None = None
        self._server: CniServer | None = None

    @property
    def netns(self) -> str:
        """The node's network namespace (ovs-vswitchd's): host ends of pod veths live here."""
        assert self.ovs.netns is not None
        return self.ovs.netns

    def start(self) -> None:
        self.loop.run(self._start())

    def stop(self) -> None:
        self.loop.run(self._stop())

    def restart(self) -> None:
        """Stop everything the agent holds in memory, then start again from OVSDB and the state dir."""
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.loop.close()

    def open_gate(self) -> None:
        assert self.gate is not None
        self.loop.loop.call_soon_threadsafe(self.gate.open)

    async def _start(self) -> None:
        self._ovsdb = await OvsdbClient.connect(self.ovs.paths.db_remote)
        self._netlink = NetlinkClient(netns.netns_path(self.netns))
        mac = gateway_mac(self.gateway.ip)
        bridge = await setup_bridge(
            self._ovsdb,
            BridgeSettings(BRIDGE, DatapathType.NETDEV, TunnelType.VXLAN, GATEWAY, MTU),
            mac,
        )
        await configure_gateway(self._netlink, GATEWAY, self.gateway)
        self._flows = FlowClient(self.ovs.paths.mgmt_socket(BRIDGE), Cookies(bridge.round))
        await self._flows.connect()
        self._flow_task = asyncio.create_task(self._flows.run(), name="openflow-connection")
        cookies = self._flows.cookies
        await self._flows.sync("pipeline", pipeline_flows(cookies))
        gateway = GatewayPort(bridge.gateway_ofport, self.gateway, mac)
        await self._flows.sync("gateway", gateway_flows(gateway, SERVICE_CIDR, cookies))
        self.datapath = OvsPodDatapath(
            ovsdb=self._ovsdb,
            flows=self._flows,
            bridge=BRIDGE,
            gateway=self.gateway,
            gateway_mac=mac,
            userspace=True,
        )
        await self.datapath.restore()
        await self._flows.delete_stale_rounds()  # the agent does this once it has converged
        self.gate = StartupGate(opened=self.settings.gate_open)
        wrap = self.settings.wrap_datapath
        self._server = CniServer(
            socket_path=self.socket,
            state_dir=self.state_dir,
            pod_cidr=self.settings.pod_cidr,
            gateway=self.gateway.ip,
            mtu=MTU,
            datapath=wrap(self.datapath) if wrap is not None else self.datapath,
            netlink=self._netlink,
            gate=self.gate,
            gate_timeout=self.settings.gate_timeout,
            ipam_plugin_dirs=self.settings.ipam_plugin_dirs,
            node_pods=self.settings.node_pods,
        )
        await self._server.start()

    async def _stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None
        if self._flow_task is not None:
            self._flow_task.cancel()
            await asyncio.gather(self._flow_task, return_exceptions=True)
            self._flow_task = None
        if self._flows is not None:
            await self._flows.close()
            self._flows = None
        if self._netlink is not None:
            await self._netlink.close()
            self._netlink = None
        if self._ovsdb is not None:
            await self._ovsdb.close()
            self._ovsdb = None
        self.datapath = None
