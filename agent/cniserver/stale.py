"""Which pod ports and addresses outlived their pods: the decisions of the start-up clean-up.

When a pod is deleted while its node's agent is down, the runtime's CNI DEL fails or never comes,
and its port, flows, host veth and host-local address would stay for good. At start-up the agent
compares what it holds with the Pods bound to its node (as Antrea's CNI server reconciles):

- a pod port is stale when no Pod of its namespace and name is on this node (a hostNetwork Pod
  of that name is another pod: it has no port), or when that Pod was created again: both the
  port and the Pod know a uid, and they differ. The Pod's status plays no part: the kubelet
  writes it after the ADD, and a restart in between must not cost a running pod its interface;
- an address is released when neither a pod port that stays nor a Pod's status.podIPs holds it
  (the status alone is not enough, for the same reason: Antrea's #5660 and its later fix).
  host-local's DEL frees all of a holder's addresses, so a holder keeping one keeps them all.

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from agent.cniserver.ipam import Allocation, Holder
from agent.pods.api import RecordedPort
from pyantrea_kube.objects import Pod

Address = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class StalePort:
    """A pod port to remove, and why (for the log)."""

    port: RecordedPort
    reason: str


def stale_ports(ports: Iterable[RecordedPort], pods: Iterable[Pod]) -> list[StalePort]:
    """The ports whose pod is gone; `pods` are all the Pods bound to this node."""
    by_name = {(pod.namespace, pod.name): pod for pod in pods}
    stale = []
    for port in ports:
        pod = by_name.get((port.pod_namespace, port.pod_name))
        if pod is None:
            stale.append(StalePort(port, "no longer exists on this node"))
        elif pod.host_network:
            stale.append(StalePort(port, "was replaced by a hostNetwork pod of the same name"))
        elif port.pod_uid and pod.uid and port.pod_uid != pod.uid:
            stale.append(StalePort(port, f"was created again (uid {pod.uid}, the port's {port.pod_uid})"))
    return stale


def held_addresses(ports: Iterable[RecordedPort], pods: Iterable[Pod]) -> frozenset[Address]:
    """The addresses in use: those of the pod ports that stay and those in the Pods' status."""
    held: set[Address] = {ip for port in ports for ip in port.ips}
    for pod in pods:
        if pod.host_network:  # its status shows the node's address, not one of the pod subnet's
            continue
        for text in pod.pod_ips:
            try:
                held.add(ip_address(text))
            except ValueError:
                continue
    return frozenset(held)


def releasable(allocations: Iterable[Allocation], held: Set[Address]) -> Mapping[Holder, list[Address]]:
    """The holders to release with their addresses: those that hold no address of `held`."""
    by_holder: dict[Holder, list[Address]] = {}
    for allocation in allocations:
        by_holder.setdefault(allocation.holder, []).append(allocation.ip)
    return {
        holder: addresses
        for holder, addresses in by_holder.items()
        if not any(address in held for address in addresses)
    }
