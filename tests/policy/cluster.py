"""A multi-node cluster enforcing NetworkPolicy, for real-packet tests.

`PolicyCluster` is the datapath test cluster (`tests.agent.cluster.Cluster`: nodes as network
namespaces with their own Open vSwitch, a real kube-apiserver, an in-process `Agent` per node) plus
a real controller (`controlplane.app.Controller`, on the agents' event loop thread, TLS and
node tokens as in production) and, on every agent, the `PolicyRuntime` the agent program runs
(controller client, rule cache, realizer, the pod hook, the start-up sequence).

Pods are network namespaces attached the way the CNI service attaches them, then created in the
API (with their IP, node, labels and named container ports) as a kubelet would report them;
each runs `lab.podserver` on TCP and UDP ports 80 and 81, answering with its `namespace/name`.
`expect()` probes every pod from every pod with `lab.prober` until the reachability matrix is
the expected one, or fails showing both as truth tables.
"""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiException

from agent.agent import Agent
from agent.controller.client import ClientSettings, ControllerClient
from agent.controller.reporter import RealizationReporter
from agent.policy.realizer import PolicyRealizer
from agent.policy.runtime import CONVERGENCE_GATE, PolicyRuntime
from agent.policy.store import PolicyStore
from controlplane.app import Controller
from controlplane.auth.shared import node_token
from controlplane.status.board import PolicyStatus
from lab import netns
from lab.nodes import NodeHost
from lab.prober import Verdict
from lab.probing import ProbePod, probe, truth_table
from manifests.networkpolicyapi import CRD
from pyantrea_config.agent import AgentConfig
from pyantrea_config.controller import ControllerConfig
from pyantrea_config.loader import load_document
from pyantrea_kube.resources import (
    CLUSTER_NETWORK_POLICIES,
    CUSTOM_RESOURCE_DEFINITIONS,
    NAMESPACES,
    NETWORK_POLICIES,
    PODS,
    Resource,
)
from pyantrea_netlink import NetlinkClient
from pyantrea_testing.podwiring import wire_pod
from tests.agent.cluster import Cluster
from tests.kubecluster import wait_for_default_account

SECRET = b"policy-cluster-secret"
CLIENT_SETTINGS = ClientSettings(
    backoff_initial=0.05, backoff_max=0.5, fallback_after=1.0, report_interval=0.05
)
SERVED_PORTS = ("80/TCP", "81/TCP", "80/UDP", "81/UDP")
PROBE_TIMEOUT = 2.0

Matrix = dict[str, dict[str, bool]]


@dataclass(frozen=True)
class PolicyPod:
    namespace: str
    name: str
    netns: str
    ip: IPv4Interface
    node: NodeHost
    labels: dict[str, str]
    named_ports: tuple[tuple[str, int, str], ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def run(self, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return netns.run(self.netns, *argv, check=check, timeout=timeout)

    def object(self) -> dict[str, Any]:
        """The Pod as the API holds it once the kubelet reported it running."""
        ports = [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in self.named_ports]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"namespace": self.namespace, "name": self.name, "labels": self.labels},
            "spec": {"nodeName": self.node.name, "containers": [{"name": "c", "image": "x", "ports": ports}]},
            "status": {"phase": "Running", "podIP": str(self.ip.ip), "podIPs": [{"ip": str(self.ip.ip)}]},
        }


class PolicyCluster(Cluster):
    """Nodes, a real control plane, a controller, and agents enforcing policies; `stop()` undoes all."""

    def __init__(self, workdir: Path, *, prefix: str, count: int = 2) -> None:
        super().__init__(workdir, prefix=prefix, count=count)
        self.controller: Controller | None = None
        self.controller_port = 0
        self.runtimes: dict[str, PolicyRuntime] = {}
        self.policy_pods: dict[str, PolicyPod] = {}
        self._servers: list[subprocess.Popen[str]] = []
        self._next_ip: dict[str, int] = {}

    # -- the control plane and the agents ----------------------------------------------------------

    def _start_controller(self) -> Controller:
        secret = self.workdir / "secret"
        secret.write_bytes(SECRET)
        config = ControllerConfig(
            kubeconfig=self.kubeconfig,
            api_port=0,
            api_bind_address=ipaddress.ip_address("127.0.0.1"),
            http_port=0,
            tls_cert_dir=self.workdir / "tls",
            ca_publish_file=self.workdir / "ca.crt",
            auth_token_file=secret,
        )
        controller = Controller(config, status_interval=0.2)
        self.loop.run(controller.start())
        self.controller_port = controller.api_port  # agents keep it once the controller stops
        return controller

    def config(self, node: NodeHost) -> AgentConfig:
        if self.controller is None:
            self.controller = self._start_controller()
        token = self.workdir / f"token-{node.name}"
        token.write_text(node_token(SECRET, node.name))
        document = node.agent_config(kubeconfig=self.kubeconfig, tunnel_type=self.tunnel_type)
        document.update(
            controllerAddress=f"127.0.0.1:{self.controller_port}",
            controllerCAFile=str(self.workdir / "ca.crt"),
            controllerTokenFile=str(token),
        )
        return load_document(AgentConfig, document)

    def start_agent(self, node: NodeHost) -> Agent:
        agent = Agent(self.config(node), netns=node.netns_path, api_client=self.api)
        converged = agent.add_convergence_gate(CONVERGENCE_GATE)
        self.loop.run(agent.start())
        self.agents[node.name] = agent
        # As the agent program composes its policy side (agent.main), without a heartbeat.
        reporter = RealizationReporter(node.name)
        store = PolicyStore()
        realizer = PolicyRealizer(agent.flows, store, reporter=reporter)
        client = ControllerClient.from_config(
            agent.config, store=store, reporter=reporter, settings=CLIENT_SETTINGS
        )
        runtime = PolicyRuntime(
            realizer=realizer,
            client=client,
            pods=agent.pods,
            converged=converged,
            state_dir=agent.config.policy_state_dir,
        )
        self.loop.run(runtime.start())
        self.runtimes[node.name] = runtime
        self.loop.run(runtime.wait_initial())
        return agent

    def stop_agent(self, node: NodeHost) -> None:
        """Stop the node's policy runtime, then its agent (flows stay, as when the agent exits)."""
        runtime = self.runtimes.pop(node.name)
        self.loop.run(runtime.stop())
        super().stop_agent(node)

    def stop_controller(self) -> None:
        assert self.controller is not None
        self.loop.run(self.controller.stop())

    def stop(self) -> None:
        for server in self._servers:
            server.terminate()
        for server in self._servers:
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        for name, runtime in list(self.runtimes.items()):
            try:
                self.loop.run(runtime.stop(), timeout=30)
            except Exception as exc:  # keep tearing down
                print(f"stopping the policy runtime of {name} failed: {exc!r}")
        if self.controller is not None:
            try:
                self.loop.run(self.controller.stop(), timeout=30)  # stopping twice is harmless
            except Exception as exc:
                print(f"stopping the controller failed: {exc!r}")
        for pod in self.policy_pods.values():
            netns.delete(pod.netns)
        super().stop()

    # -- objects -----------------------------------------------------------------------------------

    def namespace(self, name: str, /, **labels: str) -> None:
        self.rest.create(
            NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        self.label_namespace(name, **labels)
        # The ServiceAccount admission refuses pods until the namespace's `default` account
        # exists, which the controller manager makes a moment after the namespace.
        wait_for_default_account(self.rest, name)

    def label_namespace(self, name: str, /, **labels: str | None) -> None:
        self.rest.patch(NAMESPACES, None, name, {"metadata": {"labels": labels}})

    def add_policy_pod(
        self,
        node: NodeHost,
        namespace: str,
        name: str,
        labels: dict[str, str],
        named_ports: Iterable[tuple[str, int, str]] = (),
    ) -> PolicyPod:
        """A pod on `node`: attached (as a CNI ADD would), serving, then reported to the API."""
        index = self._next_ip[node.name] = self._next_ip.get(node.name, 1) + 1
        ip = IPv4Interface(f"{node.pod_cidr.network_address + index}/{node.pod_cidr.prefixlen}")
        pod_netns = f"{self.prefix}-{namespace}-{name}"
        path = netns.create(pod_netns)
        pod = PolicyPod(namespace, name, pod_netns, ip, node, dict(labels), tuple(named_ports))
        self.policy_pods[pod.key] = pod
        self.loop.run(self._attach(pod, path))
        self._serve(pod)
        self.rest.create(PODS, namespace, pod.object())
        self.rest.patch(PODS, namespace, name, {"status": pod.object()["status"]}, subresource="status")
        return pod

    def label_pod(self, target: PolicyPod, /, **labels: str | None) -> None:
        self.rest.patch(PODS, target.namespace, target.name, {"metadata": {"labels": labels}})

    async def _attach(self, pod: PolicyPod, path: Path) -> None:
        async with NetlinkClient(pod.node.netns_path) as netlink:
            await wire_pod(self.agent(pod.node), netlink, namespace=pod.namespace, name=pod.name,
                           container_id=f"c-{pod.namespace}-{pod.name}", netns=path, ip=pod.ip)  # fmt: skip

    def _serve(self, pod: PolicyPod) -> None:
        listens = [arg for port in SERVED_PORTS for arg in ("--listen", port)]
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                pod.netns,
                sys.executable,
                "-m",
                "lab.podserver",
                "--pod",
                pod.key,
                *listens,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._servers.append(server)
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(
                f"the server of {pod.key} did not start: {server.stderr.read() if server.stderr else ''}"
            )

    # -- policies ----------------------------------------------------------------------------------

    def install_cluster_policy_crd(self) -> None:
        """The upstream ClusterNetworkPolicy CRD (manifests/crds/), served once this returns."""
        body = yaml.safe_load(CRD.read_text())
        try:
            self.rest.create(CUSTOM_RESOURCE_DEFINITIONS, None, body)
        except ApiException as error:
            if error.status != 409:
                raise
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            crd = self.rest.get(CUSTOM_RESOURCE_DEFINITIONS, None, body["metadata"]["name"])
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            time.sleep(0.1)
        raise AssertionError("the ClusterNetworkPolicy CRD is not Established")

    def apply_policy(self, policy: dict[str, Any]) -> None:
        """Create or replace a NetworkPolicy or ClusterNetworkPolicy, then wait until every node
        needing it realized it."""
        meta = policy["metadata"]
        resource = _resource(policy)
        namespace = meta.get("namespace")
        try:
            current = self.rest.get(resource, namespace, meta["name"])
        except ApiException as error:
            if error.status != 404:
                raise
            self.rest.create(resource, namespace, policy)
        else:
            body = {**policy, "metadata": current["metadata"]}
            self.rest.replace(resource, namespace, meta["name"], body)
        self.wait_realized(namespace or "", meta["name"])

    def delete_policy(self, namespace: str, name: str) -> None:
        """Delete a NetworkPolicy, or (`namespace` empty) a ClusterNetworkPolicy."""
        if namespace:
            self.rest.delete(NETWORK_POLICIES, namespace, name)
        else:
            self.rest.delete(CLUSTER_NETWORK_POLICIES, None, name)

    def wait_realized(self, namespace: str, name: str, timeout: float = 30) -> PolicyStatus:
        if namespace:
            generation = self.rest.get(NETWORK_POLICIES, namespace, name)["metadata"].get("generation", 1)
        else:
            generation = self.rest.get(CLUSTER_NETWORK_POLICIES, None, name)["metadata"].get("generation", 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status(namespace, name)
            if (
                status is not None
                and status.observed_generation >= generation
                and status.phase.value == "Realized"
            ):
                return status
            time.sleep(0.05)
        raise AssertionError(f"policy {namespace}/{name} not realized: {self.status(namespace, name)}")

    def status(self, namespace: str, name: str) -> PolicyStatus | None:
        assert self.controller is not None
        statuses = self.loop.run(_statuses(self.controller))
        return next((s for s in statuses if (s.namespace, s.name) == (namespace, name)), None)

    def settle(self) -> None:
        """Until every agent has installed everything its controller client handed over."""
        for runtime in self.runtimes.values():
            self.loop.run(runtime.realizer.flushed())

    # -- probing -----------------------------------------------------------------------------------

    def probe(self, *, protocol: str = "TCP", port: int = 80) -> Matrix:
        pods = [ProbePod(p.key, str(p.ip.ip), p.netns) for p in self.policy_pods.values()]
        return probe(pods, protocol=protocol, port=port, timeout=PROBE_TIMEOUT)

    def expect(
        self,
        reachable: Callable[[PolicyPod, PolicyPod], bool],
        *,
        protocol: str = "TCP",
        port: int = 80,
        attempts: int = 8,
    ) -> None:
        """Probe until the matrix is `reachable(source, destination)` for every pair, and every
        other pair is dropped (a policy drops silently: no reset, no ICMP)."""
        pods = list(self.policy_pods.values())
        verdict = {True: Verdict.REACHABLE, False: Verdict.DROPPED}
        expected = {s.key: {d.key: verdict[reachable(s, d)] for d in pods} for s in pods}
        got: Matrix = {}
        for _ in range(attempts):
            self.settle()
            got = self.probe(protocol=protocol, port=port)
            if got == expected:
                return
        keys = [p.key for p in pods]
        raise AssertionError(
            f"{protocol}/{port} reachability\nexpected:\n{truth_table(keys, expected)}\n"
            f"got:\n{truth_table(keys, got)}"
        )


def _resource(policy: dict[str, Any]) -> Resource:
    return CLUSTER_NETWORK_POLICIES if policy["kind"] == "ClusterNetworkPolicy" else NETWORK_POLICIES


async def _statuses(controller: Controller) -> list[PolicyStatus]:
    await asyncio.sleep(0)
    return controller.statuses()
