"""kube-proxy in a lab node, as a cluster runs it: pure functions of the lab's settings.

`pyantctl lab up --proxy kube-proxy` runs the real kube-proxy of the pinned release in each node's
network namespace, with the in-cluster configuration of the `kube-proxy` ServiceAccount (bound to
the `system:node-proxier` ClusterRole, as kubeadm does: lab/addons/kube-proxy.yaml) and the
cluster CIDR. The agents then run with `antreaProxy.enable: false`, so table 40 sends Service
traffic out of gw0 to it, the introduction article's design. Its conntrack sysctls are left alone
(they are the host's, not a node namespace's, to set).
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

ANTREA = "antrea"
KUBE_PROXY = "kube-proxy"
PROXIES = (ANTREA, KUBE_PROXY)
KUBE_PROXY_MODES = ("nftables", "iptables")
ACCOUNT = "kube-proxy"
KUBE_PROXY_MANIFEST = Path(__file__).parents[1] / "addons" / "kube-proxy.yaml"
HEALTHZ_PORT = 10256
METRICS_PORT = 10249


def kube_proxy_config(*, node_name: str, cluster_cidr: IPv4Network, mode: str = "nftables") -> dict[str, Any]:
    """The KubeProxyConfiguration of one node's kube-proxy (in-cluster client, node addresses only)."""
    if mode not in KUBE_PROXY_MODES:
        raise ValueError(f"kube-proxy mode must be one of {', '.join(KUBE_PROXY_MODES)}, not {mode!r}")
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": ""},
        "hostnameOverride": node_name,
        "mode": mode,
        "clusterCIDR": str(cluster_cidr),
        "nodePortAddresses": ["primary"],
        "healthzBindAddress": f"127.0.0.1:{HEALTHZ_PORT}",
        "metricsBindAddress": f"127.0.0.1:{METRICS_PORT}",
        # 0: leave the conntrack table size and timeouts as they are (a namespace cannot set them)
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
    }


def kube_proxy(binary: Path, config: Path) -> list[str]:
    return [str(binary), f"--config={config}", "--v=1"]
