"""The agent's datapath, put together: the first part of the agent's composition (`agent.main`),
shared by the program and the tests.

`Agent` wires the edges (OVSDB, OpenFlow, netlink, the Node informer) to the node's networking
and the pod datapath, and owns every long-running task it starts:

    async with Agent(config, netns=Path("/var/run/netns/node1")) as agent:
        iface = await agent.pods.attach(attachment)   # the PodDatapath the CNI service uses
        await agent.wait()                            # until a task fails (TaskFailed)

`netns` is the node's network namespace for all netlink work (None: the one the agent runs in,
as in production and in `ip netns exec node1 pyantrea-agent`); Open vSwitch is reached through
the unix sockets under `ovsRunDir`, which work from any namespace.

Start-up, in order: watch Nodes and wait for this node's pod subnet; on the userspace datapath
move the node address onto the uplink bridge (and fill OVS's tunnel neighbour cache with every
peer's next hop, kept up to date); create or adopt br-int, tun0 and gw0 and start the next flow
round; connect OpenFlow; give gw0 its address; masquerade pod traffic that leaves the node
other than through gw0 (agent.node.masquerade); install the pipeline, gateway and
tunnel flows, the flows of every pod found in OVSDB and of every peer node, with the peers'
host routes; clear flow-restore-wait. The stale-round cleanup runs once every convergence gate
is open (the policy agent adds one for its initial policies). After an Open vSwitch restart,
the replay listener restores flow-restore-wait, the uplink's and gw0's addresses and the routes.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TypeVar

from kubernetes.client import ApiClient

from agent.node.bridge import BridgeSettings, BridgeState, setup_bridge
from agent.node.gateway import configure_gateway
from agent.node.local import LocalNode, local_node
from agent.node.masquerade import install_masquerade
from agent.node.neighbours import TunnelNeighbours
from agent.node.peers import PeerContext, PeerNodes
from agent.node.uplink import Uplink
from agent.observe.appctl import Appctl
from agent.openflow.client import FlowClient, FlowMetrics
from agent.openflow.cookies import Cookies
from agent.openflow.features import GatewayPort, gateway_flows, pipeline_flows, tunnel_flows
from agent.pods.datapath import OvsPodDatapath
from fastpath import Flow
from pyantrea_config.agent import AgentConfig, OvsDatapathType
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.service import Service
from pyantrea_kube.config import load_api_client
from pyantrea_kube.informer import Informer
from pyantrea_kube.objects import Node, trim_node
from pyantrea_kube.resources import NODES
from pyantrea_netlink import NetlinkClient
from pyantrea_ovsdb import DatapathType, OvsdbClient, SetFlowRestoreWait, TunnelType

log = logging.getLogger(__name__)

T = TypeVar("T")

PIPELINE_OWNER = "pipeline"
GATEWAY_OWNER = "gateway"
TUNNEL_OWNER = "tunnel"


class Agent(Service):
    """One node's agent; `start()` returns once the datapath is installed. Start it once."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        netns: Path | None = None,
        api_client: ApiClient | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(logger=log)
        self.config = config
        self.netns = netns
        self._api_client = api_client
        self._flow_metrics = FlowMetrics.declare(metrics) if metrics is not None else None
        self._gates: dict[str, asyncio.Event] = {}
        self._started = False
        self._ovsdb: OvsdbClient | None = None
        self._netlink: NetlinkClient | None = None
        self._flows: FlowClient | None = None
        self._pods: OvsPodDatapath | None = None
        self._peers: PeerNodes | None = None
        self._uplink: Uplink | None = None
        self._neighbours: TunnelNeighbours | None = None
        self._local: LocalNode | None = None
        self._bridge: BridgeState | None = None

    # -- what the rest of the agent uses -----------------------------------------------------------

    @property
    def pods(self) -> OvsPodDatapath:
        return _started(self._pods, "pods")

    @property
    def flows(self) -> FlowClient:
        return _started(self._flows, "flows")

    @property
    def ovsdb(self) -> OvsdbClient:
        return _started(self._ovsdb, "ovsdb")

    @property
    def local(self) -> LocalNode:
        return _started(self._local, "local")

    @property
    def bridge(self) -> BridgeState:
        return _started(self._bridge, "bridge")

    @property
    def peers(self) -> PeerNodes:
        return _started(self._peers, "peers")

    @property
    def netlink(self) -> NetlinkClient:
        return _started(self._netlink, "netlink")

    @property
    def api_client(self) -> ApiClient:
        """The Kubernetes API client the agent's informers use (given, or from the kubeconfig)."""
        return _started(self._api_client, "api_client")

    @property
    def uplink(self) -> Uplink | None:
        return self._uplink

    @property
    def userspace(self) -> bool:
        return self.config.ovs_datapath_type is OvsDatapathType.NETDEV

    def add_convergence_gate(self, name: str) -> asyncio.Event:
        """An event the stale-round cleanup waits for; set it once `name` has installed its flows."""
        if self._started:
            raise RuntimeError(f"convergence gate {name!r} added after the agent started")
        return self._gates.setdefault(name, asyncio.Event())

    def add_readiness_checks(self, readiness: Readiness) -> None:
        readiness.add_check("datapath", lambda: None if self._started else "setting up the datapath")
        readiness.add_check(
            "openflow",
            lambda: (
                None if self._flows is not None and self._flows.connected else "not connected to ovs-vswitchd"
            ),
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def stop(self) -> None:
        await super().stop()
        self._started = False

    async def _start(self) -> None:
        config = self.config
        self._ovsdb = await OvsdbClient.connect(f"unix:{config.ovs_run_dir / 'db.sock'}")
        self._stack.push_async_callback(self._ovsdb.close)
        self._netlink = NetlinkClient(self.netns)
        self._stack.push_async_callback(self._netlink.close)
        if self._api_client is None:
            self._api_client = load_api_client(config.kubeconfig)
            self._stack.callback(self._api_client.close)

        self._peers = PeerNodes(local_name=config.node_name, netlink=self._netlink)
        informer: Informer[Node] = Informer(
            self._api_client, NODES, trim_node, handler=self._peers, name="nodes"
        )
        self._tasks.spawn(informer.run(), name="node-informer")
        self._local = await self._wait_for_local_node(informer)
        log.info(
            "node %s: pod subnet %s, address %s", self._local.name, self._local.subnet, self._local.node_ip
        )

        if self.userspace:
            self._uplink = Uplink(self._ovsdb, self._netlink, self.netns)
            await self._uplink.attach(transport=config.transport_interface, node_ip=self._local.node_ip)
            self._neighbours = TunnelNeighbours(
                netlink=self._netlink, cache=Appctl(config.ovs_run_dir), bridge=self._uplink.bridge
            )

        settings = BridgeSettings(
            bridge=config.ovs_bridge,
            datapath_type=DatapathType(config.ovs_datapath_type.value),
            tunnel_type=TunnelType(config.tunnel_type.value),
            gateway=config.host_gateway,
            mtu=config.default_mtu,
        )
        self._bridge = await setup_bridge(self._ovsdb, settings, self._local.gateway_mac)
        log.info("bridge %s ready, flow round %d", config.ovs_bridge, self._bridge.round)

        mgmt = config.ovs_run_dir / f"{config.ovs_bridge}.mgmt"
        self._flows = FlowClient(mgmt, Cookies(self._bridge.round), metrics=self._flow_metrics)
        await self._flows.connect()
        self._stack.push_async_callback(self._flows.close)
        await configure_gateway(self._netlink, config.host_gateway, self._local.gateway)
        await install_masquerade(self._local.subnet, config.host_gateway, netns=self.netns)
        await self._flows.sync_many(self._node_flows())

        self._pods = OvsPodDatapath(
            ovsdb=self._ovsdb,
            flows=self._flows,
            bridge=config.ovs_bridge,
            gateway=self._local.gateway,
            gateway_mac=self._local.gateway_mac,
            userspace=self.userspace,
        )
        await self._pods.restore()
        await self._peers.start(self._peer_context())
        await self._ovsdb.execute(SetFlowRestoreWait(False))

        self._flows.add_replay_listener(self._after_replay)
        self._tasks.spawn(self._flows.run(), name="openflow-connection")
        self._tasks.spawn(self._peers.run(), name="peer-nodes")
        if self._neighbours is not None:
            self._tasks.spawn(self._neighbours.run(), name="tunnel-neighbours")
        self._tasks.spawn(self._delete_stale_rounds(), name="stale-flow-cleanup", finishable=True)
        self._started = True
        log.info("datapath ready")

    async def _wait_for_local_node(self, informer: Informer[Node]) -> LocalNode:
        peers = _started(self._peers, "peers")
        waiting_logged = False
        while True:
            peers.local_changed.clear()
            if informer.synced:
                node = informer.get(self.config.node_name)
                local = local_node(node) if node is not None else None
                if local is not None:
                    return local
                if not waiting_logged:
                    log.info(
                        "waiting for Node %s to have a pod subnet and an InternalIP", self.config.node_name
                    )
                    waiting_logged = True
            await peers.local_changed.wait()

    def _node_flows(self) -> dict[str, list[Flow]]:
        local, bridge, cookies = self.local, self.bridge, self.flows.cookies
        gateway = GatewayPort(bridge.gateway_ofport, local.gateway, local.gateway_mac)
        return {
            PIPELINE_OWNER: pipeline_flows(cookies, antrea_proxy=self.config.antrea_proxy.enable),
            TUNNEL_OWNER: tunnel_flows(bridge.tunnel_ofport, cookies),
            GATEWAY_OWNER: gateway_flows(
                gateway, self.config.service_cidr, cookies, antrea_proxy=self.config.antrea_proxy.enable
            ),
        }

    def _peer_context(self) -> PeerContext:
        return PeerContext(
            flows=self.flows,
            gateway=self.config.host_gateway,
            gateway_mac=self.local.gateway_mac,
            tunnel_ofport=self.bridge.tunnel_ofport,
            neighbours=self._neighbours,
        )

    async def _after_replay(self) -> None:
        """Open vSwitch may have restarted: its devices came back without addresses and routes."""
        netlink = _started(self._netlink, "netlink")
        await self.ovsdb.execute(SetFlowRestoreWait(False))
        if self._uplink is not None:
            await self._uplink.restore()
        await configure_gateway(netlink, self.config.host_gateway, self.local.gateway)
        await self.peers.restore_routes()
        if self._neighbours is not None:
            self._neighbours.restore()
        log.info("node networking restored after the OpenFlow replay")

    async def _delete_stale_rounds(self) -> None:
        for name, gate in self._gates.items():
            if not gate.is_set():
                log.info("stale flows kept until %s has converged", name)
                await gate.wait()
        await self.flows.delete_stale_rounds()


def _started(value: T | None, what: str) -> T:
    if value is None:
        raise RuntimeError(f"the agent is not started ({what} is not set up)")
    return value
