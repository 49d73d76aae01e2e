"""The contract between the CNI service and the datapath for attaching pods.

The CNI service (agent/cniserver) creates the veth pair and runs IPAM; it then hands the host
end to a `PodDatapath`, which adds it to br-int with the pod recorded in the interface's
external_ids, installs the pod's flows and remembers it in the interface store. After an agent
restart the store is rebuilt from OVSDB, so DEL and CHECK still find pods attached before.
`pod_ports()` reads what OVSDB records of every pod port, also of those the store could not take
back (their device is gone), for the start-up clean-up of pods deleted while the agent was down.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PodAttachment:
    """Everything the datapath needs to attach one pod interface."""

    container_id: str
    pod_namespace: str
    pod_name: str
    host_ifname: str  # the OVS port: host end of the veth, <pod name[:8]>-<hash[:6]>
    ifname: str  # CNI_IFNAME, inside the pod
    netns: str  # CNI_NETNS path
    ip: IPv4Interface  # the pod's address with its subnet prefix
    mac: str  # MAC of the pod's own interface (the container end)
    gateway: IPv4Address  # the node's gw0 address
    pod_uid: str = ""  # the pod's metadata.uid when the runtime passed it (K8S_POD_UID), else ""


@dataclass(frozen=True, slots=True)
class PodInterface:
    """An attached pod: its attachment plus the OpenFlow port number Open vSwitch assigned."""

    attachment: PodAttachment
    ofport: int


@dataclass(frozen=True, slots=True)
class RecordedPort:
    """A pod's port on br-int as OVSDB records it, whether or not the interface store holds it."""

    port: str  # the port's (and host veth's) name
    container_id: str
    pod_namespace: str
    pod_name: str
    pod_uid: str  # "" when the runtime did not pass it
    ips: tuple[IPv4Address | IPv6Address, ...]


class PodInterfaces(Protocol):
    """The pods attached now (the pod datapath), for those that only read them."""

    def interfaces(self) -> list[PodInterface]: ...


class PodListener(Protocol):
    """Told of every pod attached or detached (the policy agent: a pod's rules follow it)."""

    async def pod_attached(self, interface: PodInterface) -> None:
        """After the pod's port and flows are in place."""
        ...

    async def pod_detached(self, interface: PodInterface) -> None:
        """After the pod's flows and port are gone."""
        ...


class PodDatapath(Protocol):
    """Attach and detach pod ports on br-int; implemented by agent.pods.datapath."""

    async def attach(self, attachment: PodAttachment) -> PodInterface:
        """Add the OVS port, wait for its ofport, install its flows, record it; undo all on failure."""
        ...

    async def detach(self, container_id: str) -> PodInterface | None:
        """Remove the pod's flows and OVS port; an unknown container is success (returns None)."""
        ...

    def get(self, container_id: str) -> PodInterface | None:
        """The attached pod of this container, if any."""
        ...

    def interfaces(self) -> list[PodInterface]:
        """Every attached pod on this node."""
        ...

    async def pod_ports(self) -> list[RecordedPort]:
        """Every pod port on the bridge as OVSDB records it, attached or not."""
        ...
