"""The proxy benchmark's contenders: one node network namespace each, with the same three pods.

Every contender's node holds a client pod and two endpoint pods at the same addresses
(`CLIENT`, `ENDPOINT_A`, `ENDPOINT_B`, in node1's pod subnet), each endpoint running
`bench.pxpod serve` (it answers its name) and the client `bench.pxpod client`, so one Service
whose endpoint moves from A to B is observed the same way on every node: the client connects
through the ClusterIP until B answers.

- `AntreaNode`: a `lab.nodes.NodeSet` node (its own ovs-vswitchd, userspace datapath, the
  underlay as its uplink) running `bench.antrea_node` (the agent's datapath and its proxier);
  pods hang off br-int as the CNI server attaches them.
- `KubeProxyNode`: a plain namespace running the real kube-proxy (`--proxy-mode nftables` or
  `iptables`) with the lab's configuration (`lab.kubernetes.proxy`); pods are veth pairs routed
  by the node's kernel, as with a routed CNI (each pod's /32 on its veth; pods reach the node
  through a link-local next hop that is the node's own address).

Each contender reaches the API server at 127.0.0.1:PORT through `bench.apirelay`. `pause` and
`resume` (SIGSTOP, SIGCONT) keep the other contenders off the CPU while one is measured.
`close()` stops every process by its pid and deletes every namespace, also after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import IO, Any

import yaml

from bench.isolated import ROOT
from lab import netns
from lab.kubernetes.proxy import kube_proxy, kube_proxy_config
from lab.nodes import CLUSTER_CIDR, NodeHost, NodeSet

PY = sys.executable
CLIENT = IPv4Interface("172.16.1.2/24")
ENDPOINT_A = IPv4Interface("172.16.1.3/24")
ENDPOINT_B = IPv4Interface("172.16.1.4/24")
PODS = {"client": CLIENT, "ep-a": ENDPOINT_A, "ep-b": ENDPOINT_B}
TARGET_PORT = 8080
POD_NEXT_HOP = "169.254.1.1"


class NodeFailed(RuntimeError):
    pass


@dataclass
class Program:
    """A process of the benchmark, by pid, with its log."""

    process: subprocess.Popen[str]
    log: Path

    @classmethod
    def start(cls, argv: list[str], log: Path, *, stdout: bool = True) -> Program:
        """Started in a process group of its own: `pause` stops its children too (kube-proxy's
        iptables-restore, nft)."""
        with log.open("a") as err:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        return cls(process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def line(self, timeout: float) -> str:
        """The next line the program prints (it must print one within `timeout`)."""
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise NodeFailed(f"{self.process.args[-3:]} said nothing in {timeout} s; log {self.log}:\n"
                                 f"{self._tail()}")  # fmt: skip
        text = stdout.readline()
        if not text:
            raise NodeFailed(f"{self.process.args[-3:]} exited ({self.process.poll()}); log {self.log}:\n"
                             f"{self._tail()}")  # fmt: skip
        return text.strip()

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def reply(self, timeout: float) -> dict[str, Any]:
        reply = json.loads(self.line(timeout))
        if "error" in reply:
            raise NodeFailed(reply["error"])
        return reply

    def ask(self, command: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.send(command)
        return self.reply(timeout)

    def vmhwm_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise LookupError(f"no VmHWM for pid {self.pid}")

    def signal(self, number: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(number)

    def signal_group(self, number: int) -> None:
        """The program and every child it started (its own process group, by its pid)."""
        if self.process.poll() is None:
            os.killpg(self.pid, number)

    def stop(self, *, terminate: bool = False) -> None:
        """Close its stdin (or SIGTERM it), kill it if it has not exited in 15 s, then kill
        whatever it left in its process group."""
        if self.process.poll() is None:
            self.signal_group(signal.SIGCONT)
            if terminate:
                self.process.terminate()
            with contextlib.suppress(OSError):
                if self.process.stdin is not None:
                    self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # What it left running in its group (kube-proxy's iptables-restore in the middle of a sync)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def _tail(self) -> str:
        try:
            return self.log.read_text()[-3000:]
        except OSError:
            return ""


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NodeFailed(f"ip {' '.join(argv)}: {done.stderr.strip()}")


class ContenderNode:
    """What the benchmark does with any contender."""

    name: str
    node_netns: str

    def __init__(self, name: str, prefix: str, workdir: Path) -> None:
        self.name = name
        self.prefix = prefix
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pod_netns = {pod: f"{prefix}-{pod}" for pod in PODS}
        self._namespaces: list[str] = []
        self._pod_programs: list[Program] = []
        self.client: Program | None = None
        self.proxy: Program | None = None

    # -- the contender's own process ---------------------------------------------------------------

    def start(self) -> float:
        """Starts the proxy; returns the CLOCK_MONOTONIC time just before it was started."""
        raise NotImplementedError

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop(terminate=True)
            self.proxy = None

    def kill(self) -> None:
        """SIGKILL to the proxy and every child it started (a sync that would not end)."""
        if self.proxy is not None:
            self.proxy.signal_group(signal.SIGKILL)
            self.proxy.process.wait()
            self.proxy = None

    def pause(self) -> None:
        assert self.proxy is not None
        self.proxy.signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proxy is not None
        self.proxy.signal_group(signal.SIGCONT)

    def peak_rss_mb(self) -> float:
        assert self.proxy is not None
        return self.proxy.vmhwm_mb()

    # -- pods -------------------------------------------------------------------------------------

    def make_pod_namespaces(self) -> None:
        for name in PODS:
            self._namespace(self.pod_netns[name])

    def start_pod_programs(self) -> None:
        for name in ("ep-a", "ep-b"):
            program = Program.start(
                ["ip", "netns", "exec", self.pod_netns[name], PY, "-m", "bench.pxpod", "serve", name,
                 str(TARGET_PORT)],
                self.workdir / f"{name}.log",
            )  # fmt: skip
            self._pod_programs.append(program)
            program.line(30)
        self.client = Program.start(
            ["ip", "netns", "exec", self.pod_netns["client"], PY, "-m", "bench.pxpod", "client"],
            self.workdir / "client.log",
        )
        self._pod_programs.append(self.client)

    def until(self, host: str, expect: str, timeout: float) -> float:
        """CLOCK_MONOTONIC time at which `expect` first answered the client through host:80."""
        self.begin_until(host, expect, timeout)
        return self.end_until(timeout)

    def begin_until(self, host: str, expect: str, timeout: float) -> None:
        """The client starts connecting to host:80 until `expect` answers (`end_until` waits)."""
        assert self.client is not None
        self.client.send({"op": "until", "host": host, "port": 80, "expect": expect, "timeout": timeout})

    def end_until(self, timeout: float) -> float:
        assert self.client is not None
        return float(self.client.reply(timeout + 10)["at"])

    def rate(self, host: str, seconds: float, workers: int) -> dict[str, Any]:
        assert self.client is not None
        return self.client.ask(
            {"op": "rate", "host": host, "port": 80, "seconds": seconds, "workers": workers}, seconds + 30
        )

    # -- teardown ---------------------------------------------------------------------------------

    def _namespace(self, name: str) -> None:
        netns.delete(name)  # left over by a run that was killed
        netns.create(name)
        self._namespaces.append(name)

    def close(self) -> None:
        errors: list[str] = []
        for program in [*self._pod_programs, *([self.proxy] if self.proxy else [])]:
            try:
                program.stop(terminate=True)
            except Exception as exc:  # keep tearing down
                errors.append(repr(exc))
        self.proxy = None
        self._pod_programs.clear()
        self._close_node()
        while self._namespaces:
            netns.delete(self._namespaces.pop())
        if errors:
            raise NodeFailed(f"stopping {self.name}: {'; '.join(errors)}")

    def _close_node(self) -> None:
        pass


class KubeProxyNode(ContenderNode):
    """The real kube-proxy in a node namespace, pods routed by the node's kernel."""

    def __init__(self, name: str, prefix: str, workdir: Path, *, mode: str, kubeconfig: Path,
                 binary: Path, node_ip: IPv4Address) -> None:  # fmt: skip
        super().__init__(name, prefix, workdir)
        self.mode = mode
        self.node_netns = f"{prefix}-node"
        self.node_ip = node_ip
        self.kubeconfig = kubeconfig
        self.binary = binary

    def node_object(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": {"kubernetes.io/hostname": self.name}},
            "status": {"addresses": [{"type": "InternalIP", "address": str(self.node_ip)}]},
        }

    def create(self) -> None:
        self._namespace(self.node_netns)
        node = self.node_netns
        _ip("-n", node, "addr", "add", f"{self.node_ip}/32", "dev", "lo")  # no dummy module here
        # the pods' next hop is the node's own: it answers their ARP on every veth (arp_ignore 0)
        _ip("-n", node, "addr", "add", f"{POD_NEXT_HOP}/32", "dev", "lo")
        netns.run(node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.make_pod_namespaces()
        for pod, address in PODS.items():
            pod_ns, port = self.pod_netns[pod], f"v-{pod}"
            _ip("-n", node, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", pod_ns)
            _ip("-n", node, "link", "set", port, "up")
            _ip("-n", node, "route", "add", f"{address.ip}/32", "dev", port)
            _ip("-n", pod_ns, "addr", "add", f"{address.ip}/32", "dev", "eth0")
            _ip("-n", pod_ns, "link", "set", "eth0", "up")
            _ip("-n", pod_ns, "route", "add", POD_NEXT_HOP, "dev", "eth0", "scope", "link")
            _ip("-n", pod_ns, "route", "add", "default", "via", POD_NEXT_HOP, "dev", "eth0")
        config = kube_proxy_config(node_name=self.name, cluster_cidr=CLUSTER_CIDR, mode=self.mode)
        config["clientConnection"] = {"kubeconfig": str(self.kubeconfig)}
        self.config = self.workdir / "kube-proxy.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.start_pod_programs()

    def start(self) -> float:
        argv = ["ip", "netns", "exec", self.node_netns, *kube_proxy(self.binary, self.config)]
        started = time.monotonic()
        self.proxy = Program.start(argv, self.workdir / "kube-proxy.log", stdout=False)
        return started


class AntreaNode(ContenderNode):
    """The agent's datapath and proxier (`bench.antrea_node`) on the node's own Open vSwitch."""

    def __init__(self, name: str, prefix: str, workdir: Path, *, kubeconfig: Path) -> None:
        super().__init__(name, prefix, workdir)
        self.nodes = NodeSet(self.workdir / "nodes", prefix=prefix, count=1, names=[name])
        self.host: NodeHost = self.nodes[0]
        self.node_netns = self.host.netns
        self.kubeconfig = kubeconfig
        self._attached = False
        assert self.host.pod_cidr.network_address + 2 == CLIENT.ip, "pods must be in the node's subnet"

    def node_object(self) -> dict[str, Any]:
        return self.host.node_object()

    def create(self) -> None:
        self.nodes.start()
        self.make_pod_namespaces()
        self.config = self.host.write_agent_config(self.workdir / "agent.yaml", kubeconfig=self.kubeconfig)
        self.start_pod_programs()  # they listen on 0.0.0.0: ready before the pods' addresses

    def start(self) -> float:
        pods = [] if self._attached else [
            {"name": pod, "netns": str(netns.netns_path(self.pod_netns[pod])), "ip": str(address)}
            for pod, address in PODS.items()
        ]  # fmt: skip
        argv = ["ip", "netns", "exec", self.node_netns, PY, "-m", "bench.antrea_node", str(self.config),
                json.dumps(pods)]  # fmt: skip
        started = time.monotonic()
        self.proxy = Program.start(argv, self.workdir / "agent.log")
        return started

    def installed(self, timeout: float) -> float:
        """Waits for the first sync installed; its CLOCK_MONOTONIC time."""
        assert self.proxy is not None
        at = float(json.loads(self.proxy.line(timeout))["installed"])
        self._attached = True
        return at

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()  # stdin closed: the agent stops (its flows stay, as after a restart)
            self.proxy = None

    def _close_node(self) -> None:
        self.nodes.stop()
