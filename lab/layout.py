"""Where one lab keeps its state, and the names it gives to what it makes.

A lab lives in one directory (default `/var/run/pyantrea-lab`, or `$PYANTREA_LAB_DIR`) and
names its network namespaces with one prefix (default `pyantrea`, or `$PYANTREA_LAB_PREFIX`):
`<prefix>-ul` for the underlay, `<prefix>-n<i>` for node i, `<prefix>-p<uid>` for a pod. Two
labs with different directories and prefixes run side by side: everything else they use
(addresses, ports, sockets, Open vSwitch instances) lives inside their own namespaces or
directory.

    <dir>/lab.json                 the record of what `up` made (lab.record)
    <dir>/kubeconfig               the admin's kubeconfig for kubectl (`lab kubeconfig`)
    <dir>/kubernetes/              the control plane: PKI, kubeconfigs, etcd's data, logs, audit log
    <dir>/controller/              pyantrea-controller: config, log, TLS, CA, its ServiceAccount
                                   (mounted where a pod has it)
    <dir>/nodes/<node>/ovs/        that node's Open vSwitch run directory
    <dir>/nodes/<node>/agent*      the agent's config, log and state (CNI socket, IPAM)
    <dir>/nodes/<node>/serviceaccount/  the agent's ServiceAccount (token bound to its Node, for
                                   the API and the controller), mounted where a pod has it
    <dir>/nodes/<node>/root/       the node's /opt/cni/bin and /etc/cni/net.d
    <dir>/nodes/<node>/kubelet*    the lab kubelet's config and log
    <dir>/nodes/<node>/pods/<uid>/ one pod sandbox: its record and its server's log
    <dir>/programs/<role>[@<node>]/ one program's supervisor (lab.supervised): its spec, the
                                   state file (current pid, restarts, last exit), its own log
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DIR = Path("/var/run/pyantrea-lab")
DEFAULT_PREFIX = "pyantrea"
DIR_ENV = "PYANTREA_LAB_DIR"
PREFIX_ENV = "PYANTREA_LAB_PREFIX"
MAX_PREFIX = 12
"""Namespace names stay short enough for `ip netns` and readable in listings."""


def pod_netns(prefix: str, uid: str) -> str:
    """The network namespace of the pod with this uid (the kubelet makes it, `exec` enters it)."""
    return f"{prefix}-p{uid.replace('-', '')[:12]}"


@dataclass(frozen=True, slots=True)
class NodePaths:
    """One node's files under the lab directory."""

    root: Path

    @property
    def ovs(self) -> Path:
        return self.root / "ovs"

    @property
    def agent_config(self) -> Path:
        return self.root / "agent.conf"

    @property
    def agent_log(self) -> Path:
        return self.root / "agent.log"

    @property
    def agent_state(self) -> Path:
        return self.root / "agent"

    @property
    def cni_socket(self) -> Path:
        return self.agent_state / "cni.sock"

    @property
    def host_root(self) -> Path:
        """Stands for the node's `/`: the CNI install step writes opt/cni/bin and etc/cni/net.d here."""
        return self.root / "root"

    @property
    def agent_service_account(self) -> Path:
        """What the agent's pod would have mounted: its ServiceAccount's token (bound to the
        Node; for the API and the controller), the cluster's CA, its namespace."""
        return self.root / "serviceaccount"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.json"

    @property
    def kubelet_log(self) -> Path:
        return self.root / "kubelet.log"

    @property
    def pods(self) -> Path:
        return self.root / "pods"


@dataclass(frozen=True, slots=True)
class LabLayout:
    """The paths of one lab directory."""

    root: Path

    @classmethod
    def from_environment(cls) -> LabLayout:
        return cls(Path(os.environ.get(DIR_ENV) or DEFAULT_DIR))

    @property
    def record(self) -> Path:
        return self.root / "lab.json"

    @property
    def kubernetes(self) -> Path:
        """The control plane's directory (lab.kubernetes.ControlPlane)."""
        return self.root / "kubernetes"

    @property
    def kubeconfig(self) -> Path:
        """The admin's kubeconfig (system:masters) for the lab's own commands, which reach the API
        server from inside the underlay namespace."""
        return self.kubernetes / "admin.kubeconfig"

    @property
    def kubectl_kubeconfig(self) -> Path:
        """The admin's kubeconfig for kubectl on the host: the API server through lab.apiforward."""
        return self.root / "kubeconfig"

    @property
    def apiforward_log(self) -> Path:
        return self.kubernetes / "apiforward.log"

    @property
    def controller(self) -> Path:
        return self.root / "controller"

    @property
    def controller_config(self) -> Path:
        return self.controller / "controller.conf"

    @property
    def controller_log(self) -> Path:
        return self.controller / "controller.log"

    @property
    def controller_service_account(self) -> Path:
        """What the controller's pod would have mounted: its ServiceAccount's token, the CA."""
        return self.controller / "serviceaccount"

    @property
    def controller_ca(self) -> Path:
        """The CA of the controller's serving certificate, published by the controller for agents."""
        return self.controller / "ca.crt"

    def node(self, name: str) -> NodePaths:
        return NodePaths(self.root / "nodes" / name)

    def supervision(self, role: str, node: str = "") -> Path:
        """The directory of the supervisor of `role` (on `node`)."""
        return self.root / "programs" / (f"{role}@{node}" if node else role)


def prefix_from_environment() -> str:
    """The namespace prefix for a new lab; raises ValueError for one that cannot name namespaces."""
    prefix = os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX
    if not (prefix.isascii() and prefix.replace("-", "").isalnum()) or len(prefix) > MAX_PREFIX:
        raise ValueError(f"{PREFIX_ENV}={prefix!r}: use up to {MAX_PREFIX} letters, digits or '-'")
    return prefix
