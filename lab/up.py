"""`pyantctl lab up`: a whole cluster on this machine, built one recorded step at a time.

    underlay namespace <prefix>-ul (bridge, 192.168.77.254: the API stand-in and the lab's
    scheduler and Deployment controller run here)
      ├─ node1  <prefix>-n1  192.168.77.1   pods 172.16.1.0/24   ovsdb-server, ovs-vswitchd,
      │                                                           pyantrea-agent, kubelet,
      │                                                           pyantrea-controller
      ├─ node2  <prefix>-n2  192.168.77.2   pods 172.16.2.0/24   ...
      └─ ...

Each step is written to the lab's record before (namespaces) or right after (processes) it
happens, so `down` can undo a lab that failed or was killed half-way. Node objects carry the
pod subnets, as the node IPAM controller would set them; the first node is the control plane
and runs pyantrea-controller, which agents reach over the underlay with TLS (the CA it
publishes) and node tokens of a shared secret. Each node gets the CNI install step's files
(plugin and conflist) under its own root, the agent's configuration (userspace datapath, the
chosen tunnel, the controller), and a kubelet. `up` returns when the controller is ready and
every node is Ready; a process that dies on the way fails it at once with its last log lines.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Interface
from pathlib import Path

import yaml
from kubernetes.client import ApiClient

from cni.install import install
from controlplane.auth.shared import node_token, read_secret
from kube.config import load_api_client
from kube.resources import NODES
from kube.rest import RestClient
from lab import netns
from lab.health import get_in_netns
from lab.kubelet.settings import KubeletSettings
from lab.layout import LabLayout
from lab.nodes import UNDERLAY, NodeHost, NodeSet
from lab.processes import ProcessId, identify, is_running, spawn
from lab.record import RUNNING, LabRecord, NodeRecord, ProcessRecord, save
from lab.waiting import Progress, WaitFailed, progress_of_node, wait_for

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
_API_START_SECONDS = 30.0
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


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")


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
    """Raise WaitFailed for the first recorded process that is no longer running."""
    for process in record.processes:
        if not is_running(process.id):
            raise WaitFailed(f"{process.title} exited; the end of {process.log}:\n{log_tail(process.log)}")


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
        self.claimed = False
        """Whether this start made the lab's record (only then may it undo the lab)."""
        self.record = LabRecord(
            prefix=prefix,
            tunnel=options.tunnel,
            underlay=self._nodes.underlay.name,
            api_url=f"http://{API_ADDRESS.ip}:{API_PORT}",
            nodes=tuple(
                NodeRecord(name=n.name, netns=n.netns, address=str(n.address), pod_cidr=str(n.pod_cidr))
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
        self._start_api()
        rest = self._api_client()
        self._register_nodes(rest)
        self._start_controller()
        for node in self._nodes:
            self._start_node_programs(node)
        self._started(
            "controllers",
            "",
            spawn(
                [sys.executable, "-m", "lab.controllers", "--kubeconfig", str(self.layout.kubeconfig)],
                log=self.layout.controllers_log,
                netns=self._nodes.underlay.name,
            ),
            self.layout.controllers_log,
        )
        self._report("lab scheduler and Deployment controller started")
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
        self._nodes.start()
        for node in self._nodes:
            for daemon in ("ovsdb-server", "ovs-vswitchd"):
                pid = node.ovs.pid(daemon)
                process = identify(pid) if pid is not None else None
                if process is None:
                    raise UpFailed(f"{daemon} on {node.name} is not running")
                self._started(daemon, node.name, process, node.ovs.paths.log_file(daemon))
            self._report(
                f"{node.name}: namespace {node.netns}, address {node.address}, pod subnet {node.pod_cidr}, "
                f"Open vSwitch {node.ovs.paths.rundir}"
            )
        self._nodes.underlay.set_address(API_ADDRESS)
        self._report(f"underlay {self._nodes.underlay.name}: bridge with {UNDERLAY}")

    def _start_api(self) -> None:
        _write_secret(self.layout.token, secrets.token_urlsafe(32))
        log = self.layout.apiserver_log
        argv = [
            sys.executable, "-m", "lab.apiserver", "--listen", f"{API_ADDRESS.ip}:{API_PORT}",
            "--state-file", str(self.layout.apiserver_state), "--kubeconfig", str(self.layout.kubeconfig),
            "--token-file", str(self.layout.token), "--bookmark-interval", "10",
        ]  # fmt: skip
        process = spawn(argv, log=log, netns=self._nodes.underlay.name)
        self._started("apiserver", "", process, log)
        deadline = time.monotonic() + _API_START_SECONDS
        while not self.layout.kubeconfig.exists():
            if not is_running(process):
                raise UpFailed(f"the API server exited; the end of {log}:\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise UpFailed(f"the API server did not listen within {_API_START_SECONDS:.0f}s")
            time.sleep(0.05)
        self._report(f"API server (the lab's stand-in for kube-apiserver) at {self.record.api_url}")

    def _api_client(self) -> RestClient:
        netns.enter(self._nodes.underlay.name)
        self._api = load_api_client(self.layout.kubeconfig)
        return RestClient(self._api)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def _register_nodes(self, rest: RestClient) -> None:
        for node in self._nodes:
            body = node.node_object()
            if node.index == 1:
                body["metadata"]["labels"][CONTROL_PLANE_LABEL] = ""
            rest.create(NODES, None, body)
        self._report(f"registered {len(self._nodes)} nodes")

    def _start_controller(self) -> None:
        """pyantrea-controller on the first node, as on the article's master; agents prove who they
        are with node tokens of a shared secret (there is no cluster to review tokens)."""
        layout, node = self.layout, self._nodes[0]
        layout.controller.mkdir(mode=0o700)
        _write_secret(layout.controller_secret, secrets.token_hex(32))
        config = {
            "kubeconfig": str(layout.kubeconfig),
            "apiPort": CONTROLLER_API_PORT,
            "apiBindAddress": "0.0.0.0",
            "httpPort": CONTROLLER_HTTP_PORT,
            "selfSignedCert": True,
            "tlsCertDir": str(layout.controller / "tls"),
            "caPublishFile": str(layout.controller_ca),
            "authTokenFile": str(layout.controller_secret),
            "statusWriteMode": "status",
        }
        layout.controller_config.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [str(_BIN / "pyantrea-controller"), "--config", str(layout.controller_config)]
        process = spawn(argv, log=layout.controller_log, netns=node.netns, env={"NODE_NAME": node.name})
        self._started("controller", node.name, process, layout.controller_log)
        self._report(f"{node.name}: pyantrea-controller (pid {process.pid}) started")

    def _start_node_programs(self, node: NodeHost) -> None:
        paths = self.layout.node(node.name)
        secret = read_secret(self.layout.controller_secret)
        _write_secret(paths.controller_token, node_token(secret, node.name))
        config = node.agent_config(
            kubeconfig=self.layout.kubeconfig, tunnel_type=self.options.tunnel, api_port=AGENT_API_PORT
        )
        config.update(
            controllerAddress=f"{self._nodes[0].address.ip}:{CONTROLLER_API_PORT}",
            controllerCAFile=str(self.layout.controller_ca),
            controllerTokenFile=str(paths.controller_token),
        )
        paths.agent_config.write_text(yaml.safe_dump(config, sort_keys=False))
        installed = install(
            paths.host_root, plugin=_BIN / "pyantrea-cni", mtu=MTU, socket=str(paths.cni_socket)
        )
        agent_argv = [str(_BIN / "pyantrea-agent"), "--config", str(paths.agent_config)]
        agent = spawn(agent_argv, log=paths.agent_log, netns=node.netns)
        self._started("agent", node.name, agent, paths.agent_log)
        settings = KubeletSettings(
            node_name=node.name,
            node_netns=node.netns,
            node_ip=str(node.address.ip),
            kubeconfig=str(self.layout.kubeconfig),
            cni_conf_dir=str(installed.conflist.parent),
            cni_bin_dirs=(str(installed.plugin.parent), str(CNI_PLUGIN_DIR)),
            netns_prefix=self.record.prefix,
            pods_dir=str(paths.pods),
            agent_health_url=f"http://127.0.0.1:{AGENT_API_PORT}/readyz",
        )
        settings.write(paths.kubelet_config)
        kubelet_argv = [sys.executable, "-m", "lab.kubelet", "--config", str(paths.kubelet_config)]
        kubelet = spawn(kubelet_argv, log=paths.kubelet_log)  # it enters the node's namespace itself
        self._started("kubelet", node.name, kubelet, paths.kubelet_log)
        self._report(f"{node.name}: pyantrea-agent (pid {agent.pid}) and kubelet (pid {kubelet.pid}) started")

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
        self._report(
            f"controller ready, all {len(self._nodes)} nodes Ready after {time.monotonic() - started:.1f}s"
        )

    # -- record ------------------------------------------------------------------------------

    def _started(self, role: str, node: str, process: ProcessId, log: Path) -> None:
        record = ProcessRecord(
            role=role, node=node, pid=process.pid, start_time=process.start_time, log=str(log)
        )
        self.record = self.record.with_process(record)
        self._save()

    def _save(self) -> None:
        save(self.layout.record, self.record)
