"""A pod deleted while its node's agent is down: the next agent start removes its OVS port,
flows, host veth and host-local address, and leaves the pod whose Pod object exists alone.

The real `pyantrea-agent` program in a lab node's namespace, the real `pyantrea-cni` plugin, the
real kube-apiserver with Pod objects on the underlay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes.client import ApiClient

from lab import netns
from lab.kubernetes.controlplane import ControlPlane
from lab.nodes import NodeHost, NodeSet
from pyantrea_config.agent import AgentConfig
from pyantrea_config.loader import load_file
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import NODES, PODS
from pyantrea_kube.rest import RestClient
from pyantrea_testing.cniruntime import cni, host_local, network_config, pod_args
from pyantrea_testing.names import unique_name
from tests.kubecluster import wait_for_default_account
from tests.programs import AgentProcess

pytestmark = pytest.mark.ovs

T = TypeVar("T")


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[Callable[[NodeHost, Path], AgentProcess]]:
    """Start the agent program and wait until it runs; every one started is stopped afterwards."""
    started: list[AgentProcess] = []

    def start(node: NodeHost, config: Path) -> AgentProcess:
        agent = AgentProcess(node, config, tmp_path / f"agent-{len(started) + 1}.log")
        started.append(agent)
        agent.wait_running()
        return agent

    try:
        yield start
    finally:
        for agent in started:
            agent.stop()


@pytest.fixture
def sandboxes() -> Iterator[dict[str, str]]:
    """Pod network namespaces by pod name, deleted afterwards."""
    made = {name: unique_name("sp") for name in ("kept", "gone")}
    try:
        for name in made.values():
            netns.create(name)
        yield made
    finally:
        for name in made.values():
            netns.delete(name)


class Admin:
    """What a cluster administrator, the scheduler and the kubelet do with the API, from the underlay."""

    def __init__(self, node_set: NodeSet, api: ApiClient) -> None:
        self._underlay = netns.netns_path(node_set.underlay.name)
        self._rest = RestClient(api)

    def create_node(self, node: NodeHost) -> None:
        self._call(lambda: self._rest.create(NODES, None, node.node_object()))

    def create_pod(self, name: str, node: NodeHost) -> str:
        """A Pod bound to `node`; its uid."""
        body = {
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node.name, "containers": [{"name": "app", "image": "app"}]},
        }
        self._call(lambda: wait_for_default_account(self._rest, "default"))
        return self._call(lambda: self._rest.create(PODS, "default", body))["metadata"]["uid"]

    def write_pod_ip(self, name: str, ip: str) -> None:
        status = {"status": {"podIP": ip, "podIPs": [{"ip": ip}]}}
        self._call(lambda: self._rest.patch(PODS, "default", name, status, subresource="status"))

    def delete_pod(self, name: str) -> None:
        # at once, as a kubelet confirms a graceful deletion (none runs here)
        self._call(lambda: self._rest.delete(PODS, "default", name, body={"gracePeriodSeconds": 0}))

    def _call(self, job: Callable[[], T]) -> T:
        return netns.call_in(self._underlay, job)


@pytest.fixture
def admin(node_set: NodeSet, kubernetes: ControlPlane) -> Iterator[Admin]:
    api = load_api_client(kubernetes.admin_kubeconfig)
    try:
        yield Admin(node_set, api)
    finally:
        api.close()


def flows_of(node: NodeHost, ip: str, mac: str) -> list[str]:
    dump = node.ovs.ofctl("dump-flows", "br-int", options=("--no-stats",))
    pattern = re.compile(rf"\b{re.escape(ip)}\b|{re.escape(mac)}", re.IGNORECASE)
    return [line for line in dump.splitlines() if pattern.search(line)]


def add_pod(socket: Path, name: str, uid: str, sandbox: str) -> tuple[str, str, str]:
    """ADD through the plugin as the runtime does: the host interface, address and MAC."""
    call = cni(
        "ADD",
        network_config(socket),
        container_id=f"c-{name}",
        netns=str(netns.netns_path(sandbox)),
        args=pod_args("default", name, uid),
    )
    assert call.status == 0, call.stdout
    host, pod = call.output["interfaces"]
    return host["name"], call.output["ips"][0]["address"].split("/")[0], pod["mac"]


def test_a_pod_deleted_while_the_agent_is_down_leaves_nothing_behind(
    node_set, kubernetes, admin, start_agent, sandboxes, tmp_path
):
    node = node_set[0]
    admin.create_node(node)
    config_path = node.write_agent_config(tmp_path / "agent.conf", kubeconfig=kubernetes.admin_kubeconfig)
    config = load_file(AgentConfig, config_path)
    agent = start_agent(node, config_path)
    added = {}
    for name, sandbox in sandboxes.items():
        added[name] = add_pod(config.cni_socket, name, admin.create_pod(name, node), sandbox)
        admin.write_pod_ip(name, added[name][1])
    assert agent.stop() == 0

    # While the agent is down the Pod is deleted and its sandbox goes; the runtime's DEL fails.
    admin.delete_pod("gone")
    netns.delete(sandboxes["gone"])
    agent = start_agent(node, config_path)

    gone_host, gone_ip, gone_mac = added["gone"]
    kept_host, kept_ip, kept_mac = added["kept"]
    ports = node.ovs.vsctl("list-ports", "br-int").split()
    assert gone_host not in ports and kept_host in ports
    assert flows_of(node, gone_ip, gone_mac) == [] and flows_of(node, kept_ip, kept_mac) != []
    links = netns.run(node.netns, "ip", "-o", "link", "show").stdout
    assert f" {gone_host}@" not in links and f" {kept_host}@" in links
    ipam_dir = config.cni_state_dir / "ipam"
    assert sorted(path.name for path in (ipam_dir / "pyantrea").glob("*.*.*.*")) == [kept_ip]
    subnet = str(node.pod_cidr)
    assert host_local("ADD", "c-probe", ipam_dir, subnet, gone_ip).status == 0, "the address is free again"
    assert host_local("DEL", "c-probe", ipam_dir, subnet, gone_ip).status == 0

    gateway = str(node.gateway_ip)
    ping = netns.run(sandboxes["kept"], "ping", "-c", "2", "-i", "0.2", "-W", "2", gateway, check=False)
    assert ping.returncode == 0, ping.stdout
    removed = [entry["msg"] for entry in agent.entries() if "no longer exists" in entry["msg"]]
    assert removed == [f"pod default/gone no longer exists on this node: removed its port {gone_host}, "
                       f"flows and veth (container c-gone)"]  # fmt: skip
    metrics = agent.request("/metrics")[1]
    assert 'pyantrea_agent_cni_stale_cleaned_total{kind="interface"} 1.0' in metrics
    assert 'pyantrea_agent_cni_stale_cleaned_total{kind="address"} 1.0' in metrics
    assert agent.stop() == 0, agent.log.read_text()[-3000:]
