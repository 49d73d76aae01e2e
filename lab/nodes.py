"""Several nodes on one machine: network namespaces on an underlay, each with its own Open vSwitch.

    with NodeSet(workdir, prefix="t1", count=2) as nodes:
        nodes.register(rest)                   # their Node objects, in the API server
        config = nodes[0].agent_config(kubeconfig=path, tunnel_type="geneve")

The addressing plan follows the introduction article: node i (from 1) holds 192.168.77.i/24 on
the underlay and the pod subnet 172.16.i.0/24. Every node namespace runs an `OvsInstance` on
the userspace datapath (internal ports are taps in ovs-vswitchd's namespace, so each node
needs its own), with its run directory under `workdir`. The agents are the caller's: in this
process (`agent.agent.Agent` with the node's namespace path) or as processes inside the
namespace (`ip netns exec <netns> pyantrea-agent --config <file>`). `stop()` stops every
daemon by pid and deletes every namespace, also after a failed start.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import yaml

from lab import netns
from lab.ovs import OvsInstance
from lab.underlay import Underlay
from pyantrea_kube.resources import NODES
from pyantrea_kube.rest import RestClient

UNDERLAY = IPv4Network("192.168.77.0/24")
CLUSTER_CIDR = IPv4Network("172.16.0.0/16")
SERVICE_CIDR = IPv4Network("10.96.0.0/12")
TRANSPORT_INTERFACE = "eth0"


@dataclass(frozen=True, slots=True)
class NodeHost:
    """One node: its namespace, Open vSwitch, underlay address and pod subnet."""

    index: int
    name: str
    """The Kubernetes Node name."""
    netns: str
    ovs: OvsInstance
    address: IPv4Interface
    pod_cidr: IPv4Network

    @property
    def netns_path(self) -> Path:
        return netns.netns_path(self.netns)

    @property
    def gateway_ip(self) -> IPv4Address:
        return self.pod_cidr.network_address + 1

    def node_object(self) -> dict[str, Any]:
        """The Node as kubelet and the node IPAM controller would leave it."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": {"kubernetes.io/hostname": self.name}},
            "spec": {"podCIDR": str(self.pod_cidr), "podCIDRs": [str(self.pod_cidr)]},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": str(self.address.ip)},
                    {"type": "Hostname", "address": self.name},
                ]
            },
        }

    def agent_config(
        self, *, kubeconfig: Path | None, tunnel_type: str = "vxlan", api_port: int = 0
    ) -> dict[str, Any]:
        """The agent's configuration document for this node (userspace datapath); without a
        kubeconfig, the agent takes the in-cluster configuration, as in a pod."""
        state = self.ovs.paths.rundir.parent / "agent"
        document: dict[str, Any] = {} if kubeconfig is None else {"kubeconfig": str(kubeconfig)}
        return document | {
            "nodeName": self.name,
            "ovsBridge": "br-int",
            "ovsDatapathType": "netdev",
            "ovsRunDir": str(self.ovs.paths.rundir),
            "hostGateway": "gw0",
            "tunnelType": tunnel_type,
            "defaultMTU": 1450,
            "serviceCIDR": str(SERVICE_CIDR),
            "transportInterface": TRANSPORT_INTERFACE,
            "cniSocket": str(state / "cni.sock"),
            "cniStateDir": str(state / "cni"),
            "policyStateDir": str(state / "policies"),
            "apiPort": api_port,
            # Every address of the node: the controller (trace) and pyantctl reach the agent's API at the
            # node address it reports in its heartbeats; the kubelet checks its health on 127.0.0.1.
            "apiBindAddress": "0.0.0.0",
        }

    def write_agent_config(self, path: Path, **options: Any) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.agent_config(**options), sort_keys=False))
        return path


class NodeSet:
    """`count` nodes named `<prefix>-n<i>` (namespaces) joined by the underlay `<prefix>-ul`."""

    def __init__(self, workdir: Path, *, prefix: str, count: int, names: list[str] | None = None) -> None:
        if not 1 <= count <= 200:
            raise ValueError(f"count must be 1..200 nodes, got {count}")
        if names is not None and len(names) != count:
            raise ValueError(f"names must name {count} nodes, got {names}")
        self.workdir = workdir
        self.underlay = Underlay(f"{prefix}-ul")
        self.nodes = [
            NodeHost(
                index=i,
                name=names[i - 1] if names else f"node{i}",
                netns=f"{prefix}-n{i}",
                ovs=OvsInstance(workdir / f"node{i}" / "ovs", netns=f"{prefix}-n{i}"),
                address=IPv4Interface(f"{UNDERLAY.network_address + i}/{UNDERLAY.prefixlen}"),
                pod_cidr=list(CLUSTER_CIDR.subnets(new_prefix=24))[i],
            )
            for i in range(1, count + 1)
        ]
        self._created: list[str] = []
        """Namespaces this set made (and so deletes), in order."""

    def __getitem__(self, index: int) -> NodeHost:
        return self.nodes[index]

    def __iter__(self) -> Iterator[NodeHost]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def start(self, *, ovs: bool = True) -> NodeSet:
        """Make the namespaces and the underlay, and start each node's Open vSwitch (unless
        `ovs` is false: the caller runs the daemons, from `node.ovs.command`)."""
        try:
            self.underlay.create()
            self._created.append(self.underlay.name)
            for node in self.nodes:
                netns.create(node.netns)
                self._created.append(node.netns)
                self.underlay.attach(node.netns, port=f"n{node.index}", address=node.address)
                if ovs:
                    node.ovs.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every Open vSwitch daemon (by pid) and delete every namespace this set made."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.ovs.stop()
        while self._created:
            netns.delete(self._created.pop())

    def __enter__(self) -> NodeSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register(self, rest: RestClient) -> None:
        """Create every node's Node object."""
        for node in self.nodes:
            rest.create(NODES, None, node.node_object())
