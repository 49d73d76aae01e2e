"""A pod's /etc/resolv.conf, as the kubelet writes it for dnsPolicy ClusterFirst: the cluster DNS
(the kube-dns Service's cluster IP), the search path of the pod's namespace, ndots 5.

It goes to /etc/netns/<sandbox>/resolv.conf, which `ip netns exec` bind-mounts over
/etc/resolv.conf for every program it starts in the pod's namespace (the pod's program,
`pyantctl lab exec`); `lab.netns.delete` removes that directory with the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab import netns

ETC_NETNS = netns.ETC_NETNS_DIR
CLUSTER_FIRST = ("ClusterFirst", "ClusterFirstWithHostNet")


@dataclass(frozen=True, slots=True)
class ClusterDns:
    server: str
    """The kube-dns Service's cluster IP (the kubelet's clusterDNS)."""
    domain: str = "cluster.local"


def resolv_conf(dns: ClusterDns, namespace: str) -> str:
    search = f"{namespace}.svc.{dns.domain} svc.{dns.domain} {dns.domain}"
    return f"search {search}\nnameserver {dns.server}\noptions ndots:5\n"


def write_resolv_conf(netns: str, text: str, etc_netns: Path = ETC_NETNS) -> Path:
    directory = etc_netns / netns
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "resolv.conf"
    path.write_text(text)
    return path
