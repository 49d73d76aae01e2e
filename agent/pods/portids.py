"""What a pod's OVS interface records about the pod, in its external_ids.

These keys are the agent's persistent memory of pod attachments: after a restart it lists the
bridge's ports and rebuilds its interface store from them. The key names follow Antrea's
(`container-id`, `pod-name`, ...), so `ovs-vsctl list Interface` reads the same; `pod-uid` is
pyantrea's own: the pod's metadata.uid, which tells a pod created again under the same name
apart from the one the port was made for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

CONTAINER_ID = "container-id"
POD_NAME = "pod-name"
POD_NAMESPACE = "pod-namespace"
IP_ADDRESS = "ip-address"
MAC = "attached-mac"
IF_DEV = "if-dev"
NETNS = "net-ns"
POD_UID = "pod-uid"


@dataclass(frozen=True, slots=True)
class PodPortIds:
    """The pod behind an interface: who it is, where its end of the veth lives, its addresses."""

    container_id: str
    pod_name: str
    pod_namespace: str
    ips: tuple[IPv4Address | IPv6Address, ...]
    mac: str
    """The MAC address of the pod's own interface (the container end of the veth)."""
    if_dev: str
    """The pod's interface name inside its network namespace (CNI_IFNAME)."""
    netns: str
    """The pod's network namespace path (CNI_NETNS)."""
    pod_uid: str = ""
    """The pod's metadata.uid, "" when unknown (written only when known)."""

    def to_external_ids(self) -> dict[str, str]:
        ids = {
            CONTAINER_ID: self.container_id,
            POD_NAME: self.pod_name,
            POD_NAMESPACE: self.pod_namespace,
            IP_ADDRESS: ",".join(str(ip) for ip in self.ips),
            MAC: self.mac,
            IF_DEV: self.if_dev,
            NETNS: self.netns,
        }
        if self.pod_uid:
            ids[POD_UID] = self.pod_uid
        return ids

    @classmethod
    def from_external_ids(cls, external_ids: Mapping[str, str]) -> PodPortIds | None:
        """The pod recorded in an interface's external_ids; None for an interface of no pod."""
        if CONTAINER_ID not in external_ids:
            return None
        ips = external_ids.get(IP_ADDRESS, "")
        return cls(
            container_id=external_ids[CONTAINER_ID],
            pod_name=external_ids.get(POD_NAME, ""),
            pod_namespace=external_ids.get(POD_NAMESPACE, ""),
            ips=tuple(ip_address(ip) for ip in ips.split(",") if ip),
            mac=external_ids.get(MAC, ""),
            if_dev=external_ids.get(IF_DEV, ""),
            netns=external_ids.get(NETNS, ""),
            pod_uid=external_ids.get(POD_UID, ""),
        )
