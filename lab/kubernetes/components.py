"""The command lines of the lab's control plane programs: pure functions of the lab's settings.

The flags are the ones verified in docs/kubernetes-build.md. What the lab needs beyond a plain
cluster: the API server audits every request (the RBAC tests read the log) and skips the
TaintNodesByCondition admission plugin, since no node lifecycle controller runs to lift the
not-ready taint of new Nodes; the controller manager runs only the controllers a cluster of
kubelet-less nodes needs (no node lifecycle, which would evict its pods), with node IPAM
handing out the pod subnets.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from lab.kubernetes.pki import Pki

CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "endpointslice-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    "root-ca-certificate-publisher-controller",
    "node-ipam-controller",
    "service-cidr-controller",
)
SERVICE_CIDR = IPv4Network("10.96.0.0/12")
CLUSTER_CIDR = IPv4Network("172.16.0.0/16")
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
"""


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    api_address: IPv4Address
    api_port: int = 6443
    service_cidr: IPv4Network = SERVICE_CIDR
    cluster_cidr: IPv4Network = CLUSTER_CIDR
    node_cidr_mask: int = 24
    etcd_client_port: int = 2379
    etcd_peer_port: int = 2380
    serve_health: bool = True
    """Whether the controller manager and the scheduler serve their health ports (10257, 10259);
    tests that run control planes side by side on the host's loopback turn them off."""

    @property
    def api_url(self) -> str:
        return f"https://{self.api_address}:{self.api_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_client_port}"


def etcd(binary: Path, data_dir: Path, settings: ClusterSettings) -> list[str]:
    """One etcd member on the loopback of the namespace it runs in (no fsync: a lab's data)."""
    peer = f"http://127.0.0.1:{settings.etcd_peer_port}"
    return [
        str(binary), "--name=lab", f"--data-dir={data_dir}",
        f"--listen-client-urls={settings.etcd_url}", f"--advertise-client-urls={settings.etcd_url}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=lab={peer}",
        "--auto-compaction-retention=1", "--unsafe-no-fsync=true", "--log-level=warn",
    ]  # fmt: skip


def apiserver(
    binary: Path, pki: Pki, settings: ClusterSettings, *, audit_policy: Path, audit_log: Path
) -> list[str]:
    server = pki.pair("apiserver")
    return [
        str(binary), f"--etcd-servers={settings.etcd_url}",
        f"--bind-address={settings.api_address}", f"--advertise-address={settings.api_address}",
        f"--secure-port={settings.api_port}",
        f"--tls-cert-file={server.cert}", f"--tls-private-key-file={server.key}",
        f"--client-ca-file={pki.ca.cert}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.service_account_public_key}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={settings.service_cidr}",
        "--authorization-mode=Node,RBAC", "--allow-privileged=true",
        "--enable-admission-plugins=NodeRestriction", "--disable-admission-plugins=TaintNodesByCondition",
        f"--audit-policy-file={audit_policy}", f"--audit-log-path={audit_log}", "--audit-log-format=json",
        "--audit-log-maxsize=200", "--audit-log-maxbackup=1",
        # the endpoint reconciler refuses a loopback address (the tests' control planes)
        *(["--endpoint-reconciler-type=none"] if settings.api_address.is_loopback else []),
    ]  # fmt: skip


def controller_manager(binary: Path, pki: Pki, settings: ClusterSettings, kubeconfig: Path) -> list[str]:
    return [
        str(binary), f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--use-service-account-credentials=true",
        f"--service-account-private-key-file={pki.service_account_key}", f"--root-ca-file={pki.ca.cert}",
        f"--controllers={','.join(CONTROLLERS)}",
        "--allocate-node-cidrs=true", f"--cluster-cidr={settings.cluster_cidr}",
        f"--node-cidr-mask-size={settings.node_cidr_mask}",
        f"--service-cluster-ip-range={settings.service_cidr}",
        "--leader-elect=false", "--bind-address=127.0.0.1",
        *([] if settings.serve_health else ["--secure-port=0"]),
    ]  # fmt: skip


def scheduler_config(kubeconfig: Path) -> str:
    return (
        "apiVersion: kubescheduler.config.k8s.io/v1\n"
        "kind: KubeSchedulerConfiguration\n"
        f"clientConnection: {{kubeconfig: {kubeconfig}}}\n"
        "leaderElection: {leaderElect: false}\n"
    )


def scheduler(binary: Path, settings: ClusterSettings, config: Path, kubeconfig: Path) -> list[str]:
    return [
        str(binary), f"--config={config}",
        f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        *([] if settings.serve_health else ["--secure-port=0"]),
    ]  # fmt: skip
