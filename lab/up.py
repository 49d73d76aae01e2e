"""`pyantctl lab up`: a whole cluster on this machine, built one recorded step at a time.

    underlay namespace <prefix>-ul (bridge, 192.168.77.254: the Kubernetes control plane runs
    here: etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
      ├─ node1  <prefix>-n1  192.168.77.1   ovsdb-server, ovs-vswitchd, pyantrea-agent, kubelet,
      │                                     pyantrea-controller
      ├─ node2  <prefix>-n2  192.168.77.2   ...
      └─ ...

Each step is written to the lab's record before (namespaces) or right after (processes) it
happens, so `down` can undo a lab that failed or was killed half-way. The control plane is the
real one (lab.kubernetes), with the ServiceAccounts and RBAC of manifests/pyantrea.yml. Every
program runs under a supervisor of its own (lab.supervised), which starts it again if it exits,
with back-off, and records its restarts; `up` itself still fails at the first exit. The
nodes join one after the other: each kubelet registers its Node with the node's own
certificate and the controller manager's node IPAM gives it a pod subnet (172.16.0.0/24 for
the first). The first node is the control plane and runs pyantrea-controller, which agents
reach over the underlay with TLS (the CA it publishes) and their ServiceAccount tokens, bound
to their Node, which the controller checks with TokenReview. Each node gets the CNI install
step's files (plugin and conflist) under its own root, the agent's configuration (userspace
datapath, the chosen tunnel, the controller), and a kubelet. `up` returns when the controller
is ready and every node is Ready; a program that exits on the way fails it at once with its
last log lines.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Interface
from pathlib import Path

import yaml
from kubernetes.client import ApiClient, ApiException

from cni.install import install
from lab import netns
from lab.crds import install_crds
from lab.health import get_in_netns
from lab.identities import (
    AGENT_ACCOUNT,
    CONTROLLER_ACCOUNT,
    SERVICE_ACCOUNT_MOUNT,
    in_pod,
    install_identities,
    request_token,
    write_service_account_dir,
)
from lab.kubelet.settings import KubeletSettings
from lab.kubernetes.binaries import PROGRAMS, BinariesMissing, program
from lab.kubernetes.components import ClusterSettings
from lab.kubernetes.controlplane import ControlPlane, ControlPlaneFailed
from lab.kubernetes.kubeconfigs import write_kubeconfig
from lab.layout import LabLayout
from lab.nodes import UNDERLAY, NodeHost, NodeSet
from lab.ovs import OvsError
from lab.processes import ProcessId, is_running
from lab.programs import lab_programs
from lab.record import RUNNING, LabRecord, NodeRecord, ProcessRecord, save
from lab.supervised import SupervisorFailed, start_supervised
from lab.waiting import Progress, WaitFailed, progress_of_node, wait_for
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import NODES
from pyantrea_kube.rest import PatchType, RestClient

API_ADDRESS = IPv4Interface(f"{UNDERLAY.network_address + 254}/{UNDERLAY.prefixlen}")
API_PORT = 6443
AGENT_API_PORT = 10350
CONTROLLER_API_PORT = 10349
CONTROLLER_HTTP_PORT = 10351
MTU = 1450
TUNNELS = ("vxlan", "geneve", "gre")
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
CNI_PLUGIN_DIR = Path("/usr/lib/cni")
_BIN = Path(sys.executable).parent
_REGISTER_SECONDS = 30.0
_LOG_LINES = 15


class UpFailed(Exception):
    """The lab could not be started; the message says which step failed and why."""


@dataclass(frozen=True, slots=True)
class UpOptions:
    nodes: int = 3
    tunnel: str = "vxlan"
    timeout: float = 180.0


def log_tail(path: str | Path, lines: int = _LOG_LINES) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or f"(empty log {path})"


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def controller_progress(record: LabRecord) -> Progress:
    """Whether pyantrea-controller answers its /readyz with 200."""
    process = record.process("controller", record.nodes[0].name)
    if process is None:
        return Progress(False, "not started")
    status, body = get_in_netns(record.nodes[0].netns, f"http://127.0.0.1:{CONTROLLER_HTTP_PORT}/readyz")
    return (
        Progress(True, "ready") if status == 200 else Progress(False, f"not ready: {body.strip() or status}")
    )


def check_processes(record: LabRecord) -> None:
    """Raise WaitFailed for the first recorded program that exited (even if started again)."""
    for now in lab_programs(record):
        if not now.running or now.restarts:
            raise WaitFailed(f"{now.title} exited; the end of {now.log}:\n{log_tail(now.log)}")


class LabStarter:
    def __init__(
        self, layout: LabLayout, prefix: str, options: UpOptions, report: Callable[[str], None]
    ) -> None:
        if options.tunnel not in TUNNELS:
            raise UpFailed(f"--tunnel must be one of {', '.join(TUNNELS)}, not {options.tunnel!r}")
        try:
            self._nodes = NodeSet(layout.root / "nodes", prefix=prefix, count=options.nodes)
        except ValueError as exc:
            raise UpFailed(f"--nodes: {exc}") from exc
        self.layout = layout
        self.options = options
        self._report = report
        self._api: ApiClient | None = None
        self._plane = ControlPlane(
            layout.kubernetes,
            ClusterSettings(API_ADDRESS.ip, api_port=API_PORT),
            netns=self._nodes.underlay.name,
            launch=lambda role, argv, log: self._launch(role, "", argv, log, netns=self._nodes.underlay.name),
        )
        self.claimed = False
        """Whether this start made the lab's record (only then may it undo the lab)."""
        self.record = LabRecord(
            prefix=prefix,
            tunnel=options.tunnel,
            underlay=self._nodes.underlay.name,
            api_url=self._plane.settings.api_url,
            nodes=tuple(
                NodeRecord(name=n.name, netns=n.netns, address=str(n.address), pod_cidr="")
                for n in self._nodes
            ),
            made_dir=not layout.root.exists(),
        )

    def start(self) -> LabRecord:
        """Bring the lab up; on failure, once `claimed`, the caller tears down what `self.record` lists."""
        self._check_machine()
        self.layout.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(self.layout.record, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise UpFailed(f"another `pyantctl lab up` is starting a lab in {self.layout.root}") from None
        self.claimed = True
        for name in (self._nodes.underlay.name, *(n.netns for n in self._nodes)):
            self.record = self.record.with_namespace(name)
        self._save()
        self._start_nodes()
        self._start_control_plane()
        rest = self._api_client()
        applied = install_identities(rest)
        self._report(f"applied the ServiceAccounts and RBAC of manifests/pyantrea.yml: {', '.join(applied)}")
        crds = install_crds(rest)
        self._report(f"installed the CRDs of manifests/crds: {', '.join(crds)}")
        self._start_controller(rest)
        for node in self._nodes:
            self._start_node_programs(node, rest)
        self._wait_for_nodes(rest)
        self.record = replace(self.record, state=RUNNING)
        self._save()
        return self.record

    # -- steps -------------------------------------------------------------------------------

    def _check_machine(self) -> None:
        if os.geteuid() != 0:
            raise UpFailed("the lab needs root (network namespaces, Open vSwitch)")
        for tool in ("ip", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl"):
            if shutil.which(tool) is None:
                raise UpFailed(f"{tool} is not installed: run ./scripts/setup.sh")
        try:
            for name in PROGRAMS:
                program(name)
        except BinariesMissing as exc:
            raise UpFailed(str(exc)) from exc
        if not (CNI_PLUGIN_DIR / "host-local").exists():
            raise UpFailed(f"the host-local IPAM plugin is not in {CNI_PLUGIN_DIR}: run ./scripts/setup.sh")
        taken = [name for name in self._namespace_names() if netns.exists(name)]
        if taken:
            raise UpFailed(
                f"network namespace {taken[0]} already exists (another lab with prefix "
                f"{self.record.prefix!r}?); set PYANTREA_LAB_PREFIX for a second lab"
            )
        if self.layout.root.exists() and any(self.layout.root.iterdir()):
            raise UpFailed(f"{self.layout.root} is not empty and holds no lab; use an empty directory")

    def _namespace_names(self) -> list[str]:
        return [self._nodes.underlay.name, *(n.netns for n in self._nodes)]

    def _start_nodes(self) -> None:
        self._nodes.start(ovs=False)
        for node in self._nodes:
            self._start_ovs(node)
            self._report(
                f"{node.name}: namespace {node.netns}, address {node.address}, "
                f"Open vSwitch {node.ovs.paths.rundir}"
            )
        self._nodes.underlay.set_address(API_ADDRESS)
        self._report(f"underlay {self._nodes.underlay.name}: bridge with {UNDERLAY}")

    def _start_ovs(self, node: NodeHost) -> None:
        """ovsdb-server, then ovs-vswitchd, each under its supervisor in the node's namespace."""
        ovs = node.ovs
        ovs.prepare()
        for daemon in ("ovsdb-server", "ovs-vswitchd"):
            process = self._launch(
                daemon, node.name, ovs.command(daemon), ovs.paths.log_file(daemon),
                output=ovs.paths.output(daemon), netns=node.netns, env=ovs.paths.env_overrides(),
            )  # fmt: skip
            try:
                ovs.wait_ready(daemon, alive=lambda process=process: is_running(process))
            except OvsError as exc:
                raise UpFailed(f"{node.name}: {exc}") from exc
            if daemon == "ovsdb-server":
                ovs.vsctl("--no-wait", "init")

    def _start_control_plane(self) -> None:
        self._plane.prepare(nodes=[node.name for node in self._nodes])
        try:
            self._plane.start(lambda role, process, log: None)  # recorded as launched
        except ControlPlaneFailed as exc:
            raise UpFailed(str(exc)) from exc
        self._report(
            f"Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) "
            f"in {self._nodes.underlay.name}, API server at {self.record.api_url}"
        )
        port = free_loopback_port()
        target = f"{API_ADDRESS.ip}:{API_PORT}"
        argv = [sys.executable, "-m", "lab.apiforward", "--listen-port", str(port),
                "--netns", self._nodes.underlay.name, "--target", target]  # fmt: skip
        self._launch("apiforward", "", argv, self.layout.apiforward_log)
        pair = self._plane.pki.pair("admin")
        write_kubeconfig(
            self.layout.kubectl_kubeconfig, server=f"https://127.0.0.1:{port}", ca=self._plane.pki.ca.cert,
            user="kubernetes-admin", cert=pair.cert, key=pair.key,
        )  # fmt: skip
        self._report(f"kubectl: KUBECONFIG={self.layout.kubectl_kubeconfig} (API server on 127.0.0.1:{port})")

    def _api_client(self) -> RestClient:
        netns.enter(self._nodes.underlay.name)
        self._api = load_api_client(self.layout.kubeconfig)
        return RestClient(self._api)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def _start_controller(self, rest: RestClient) -> None:
        """pyantrea-controller on the first node, as on the article's master, with its
        ServiceAccount's token; it checks the agents' tokens with TokenReview."""
        layout, node = self.layout, self._nodes[0]
        layout.controller.mkdir(mode=0o700)
        account = write_service_account_dir(
            layout.controller_service_account,
            token=request_token(rest, CONTROLLER_ACCOUNT),
            ca=self._plane.pki.ca.cert,
        )
        config = {
            "apiPort": CONTROLLER_API_PORT,
            "apiBindAddress": "0.0.0.0",
            "httpPort": CONTROLLER_HTTP_PORT,
            "selfSignedCert": True,
            "tlsCertDir": str(layout.controller / "tls"),
            "caPublishFile": str(layout.controller_ca),
        }
        layout.controller_config.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = in_pod(account, [str(_BIN / "pyantrea-controller"), "--config", str(layout.controller_config)])
        env = {"NODE_NAME": node.name, **self._in_cluster_env()}
        process = self._launch(
            "controller", node.name, argv, layout.controller_log, netns=node.netns, env=env
        )
        self._report(f"{node.name}: pyantrea-controller (pid {process.pid}) started")

    def _start_node_programs(self, node: NodeHost, rest: RestClient) -> None:
        """The node joins: its kubelet registers the Node, then its agent starts with a token
        bound to that Node."""
        paths = self.layout.node(node.name)
        installed = install(
            paths.host_root, plugin=_BIN / "pyantrea-cni", mtu=MTU, socket=str(paths.cni_socket)
        )
        settings = KubeletSettings(
            node_name=node.name,
            node_netns=node.netns,
            node_ip=str(node.address.ip),
            kubeconfig=str(self._plane.node_kubeconfig(node.name)),
            cni_conf_dir=str(installed.conflist.parent),
            cni_bin_dirs=(str(installed.plugin.parent), str(CNI_PLUGIN_DIR)),
            netns_prefix=self.record.prefix,
            pods_dir=str(paths.pods),
            agent_health_url=f"https://127.0.0.1:{AGENT_API_PORT}/readyz",
        )
        settings.write(paths.kubelet_config)
        kubelet_argv = [sys.executable, "-m", "lab.kubelet", "--config", str(paths.kubelet_config)]
        # it enters the node's namespace itself
        kubelet = self._launch("kubelet", node.name, kubelet_argv, paths.kubelet_log)
        uid = self._registered(rest, node, kubelet, paths.kubelet_log)
        if node.index == 1:
            rest.patch(NODES, None, node.name, {"metadata": {"labels": {CONTROL_PLANE_LABEL: ""}}},
                       patch_type=PatchType.MERGE)  # fmt: skip
        token = request_token(rest, AGENT_ACCOUNT, node=(node.name, uid))
        account = write_service_account_dir(
            paths.agent_service_account, token=token, ca=self._plane.pki.ca.cert
        )
        config = node.agent_config(kubeconfig=None, tunnel_type=self.options.tunnel, api_port=AGENT_API_PORT)
        config.update(
            controllerAddress=f"{self._nodes[0].address.ip}:{CONTROLLER_API_PORT}",
            controllerCAFile=str(self.layout.controller_ca),
            controllerTokenFile=str(SERVICE_ACCOUNT_MOUNT / "token"),
        )
        paths.agent_config.write_text(yaml.safe_dump(config, sort_keys=False))
        agent_argv = in_pod(account, [str(_BIN / "pyantrea-agent"), "--config", str(paths.agent_config)])
        agent = self._launch(
            "agent", node.name, agent_argv, paths.agent_log, netns=node.netns, env=self._in_cluster_env()
        )
        self._report(
            f"{node.name}: kubelet (pid {kubelet.pid}) registered the node, "
            f"pyantrea-agent (pid {agent.pid}) started"
        )

    def _registered(self, rest: RestClient, node: NodeHost, kubelet: ProcessId, log: Path) -> str:
        """The uid of the Node the kubelet registered, once it has."""
        deadline = time.monotonic() + _REGISTER_SECONDS
        while True:
            try:
                return str(rest.get(NODES, None, node.name)["metadata"]["uid"])
            except ApiException as exc:
                if exc.status != 404:
                    raise
            if not is_running(kubelet):
                raise UpFailed(f"the kubelet of {node.name} exited; the end of {log}:\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise UpFailed(
                    f"the kubelet of {node.name} did not register the node within {_REGISTER_SECONDS:.0f}s"
                )
            time.sleep(0.1)

    def _in_cluster_env(self) -> dict[str, str]:
        """What the kubelet tells a pod about the API server (the in-cluster configuration)."""
        return {"KUBERNETES_SERVICE_HOST": str(API_ADDRESS.ip), "KUBERNETES_SERVICE_PORT": str(API_PORT)}

    def _wait_for_nodes(self, rest: RestClient) -> None:
        started = time.monotonic()

        def check() -> dict[str, Progress]:
            nodes = rest.list(NODES).items
            progress = {node["metadata"]["name"]: progress_of_node(node) for node in nodes}
            progress["controller"] = controller_progress(self.record)
            return progress

        try:
            wait_for(
                check,
                timeout=self.options.timeout,
                what="nodes",
                healthy=lambda: check_processes(self.record),
            )
        except WaitFailed as failed:
            raise UpFailed(str(failed)) from failed
        subnets = {
            node["metadata"]["name"]: node["spec"].get("podCIDR", "") for node in rest.list(NODES).items
        }
        self.record = replace(
            self.record, nodes=tuple(replace(n, pod_cidr=subnets.get(n.name, "")) for n in self.record.nodes)
        )
        self._report(
            f"controller ready, all {len(self._nodes)} nodes Ready after {time.monotonic() - started:.1f}s"
        )

    # -- record ------------------------------------------------------------------------------

    def _launch(
        self,
        role: str,
        node: str,
        argv: list[str],
        log: Path,
        *,
        output: Path | None = None,
        netns: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ProcessId:
        """Start `argv` under a supervisor and record it; `log` is the program's log, where its
        output goes unless `output` says otherwise."""
        try:
            started = start_supervised(
                argv, directory=self.layout.supervision(role, node), output=output or log,
                netns=netns, env=env,
            )  # fmt: skip
        except SupervisorFailed as exc:
            raise UpFailed(f"{role}{f' on {node}' if node else ''}: {exc}") from exc
        record = ProcessRecord(
            role=role, node=node, pid=started.program.pid, start_time=started.program.start_time,
            log=str(log), supervisor_pid=started.supervisor.pid,
            supervisor_start_time=started.supervisor.start_time, state=str(started.state),
        )  # fmt: skip
        self.record = self.record.with_process(record)
        self._save()
        return started.program

    def _save(self) -> None:
        save(self.layout.record, self.record)
