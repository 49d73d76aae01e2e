"""`pyantrea-agent` as a process inside a node's namespace, as the lab and a DaemonSet run it.

The real kube-apiserver listens on the underlay (its bridge holds 192.168.77.254), reachable from the
node; the test talks to it, and to the agent's HTTP port, from threads inside the namespaces.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab import netns
from lab.identities import install_identities, request_token
from pyantrea_config.agent import AgentConfig
from pyantrea_config.loader import load_file
from pyantrea_kube.config import load_api_client
from pyantrea_kube.rest import RestClient
from pyantrea_testing.cniruntime import cni, network_config, pod_args
from pyantrea_testing.names import unique_name
from tests.agent.cluster import wait_until
from tests.programs import AgentProcess

pytestmark = pytest.mark.ovs


def test_the_agent_program_sets_up_its_node_and_serves_health_and_metrics(node_set, kubernetes, tmp_path):
    node = node_set[0]
    kubeconfig = kubernetes.admin_kubeconfig

    def register() -> str:
        api = load_api_client(kubeconfig)
        try:
            node_set.register(RestClient(api))
            install_identities(RestClient(api))
            return request_token(RestClient(api), "pyantctl")
        finally:
            api.close()

    token = netns.call_in(netns.netns_path(node_set.underlay.name), register)
    config = node.write_agent_config(tmp_path / "agent.conf", kubeconfig=kubeconfig, tunnel_type="geneve")
    agent = AgentProcess(node, config, tmp_path / "agent.log")
    try:
        agent.wait_running()
        errors = [entry for entry in agent.entries() if entry["level"] in ("error", "critical")]
        assert not errors, f"the agent logged an error: {errors}"
        http = agent.request

        assert http("/livez")[0] == 200
        assert wait_until(lambda: http("/readyz")[0] == 200)
        status, metrics = http("/metrics")
        assert status == 200
        assert re.search(r'pyantrea_agent_ovs_flows\{table="L3Forwarding"\} [1-9]', metrics)
        assert "pyantrea_agent_ovs_bundle_seconds_count" in metrics
        assert "pyantrea_agent_ovs_reconnects_total 0.0" in metrics
        # the API proper wants a token the API server vouches for, of an account allowed to read it
        assert http("/api/v1/podinterfaces")[0] == 401
        assert json.loads(agent.request("/api/v1/podinterfaces", token=token)[1]) == []
        show = node.ovs.vsctl("show")
        assert re.search(r"Interface tun0\n\s+type: geneve\n", show)
        assert "inet 172.16.1.1/24" in netns.run(node.netns, "ip", "-4", "addr", "show", "gw0").stdout
        assert "inet 192.168.77.1/24" in netns.run(node.netns, "ip", "-4", "addr", "show", "br-phy").stdout
        _pod_gets_networking_through_the_cni_socket(node, config)
    finally:
        returncode = agent.stop()
    assert returncode == 0, agent.log.read_text()[-2000:]
    assert "stopped" in [entry["msg"] for entry in agent.entries()]


def _pod_gets_networking_through_the_cni_socket(node, agent_config: Path) -> None:
    """The program serves CNI: the real plugin's ADD gives a pod an address that reaches gw0."""
    socket = load_file(AgentConfig, agent_config).cni_socket
    pod = unique_name("app")
    netns.create(pod)
    try:
        add = cni("ADD", network_config(socket), container_id="c1", netns=str(netns.netns_path(pod)),
                  args=pod_args("default", "web"))  # fmt: skip
        assert add.status == 0, add.stdout
        assert add.output["ips"][0]["address"].startswith("172.16.1.")
        assert netns.run(pod, "ping", "-c", "1", "-W", "2", "172.16.1.1", check=False).returncode == 0
        delete = cni("DEL", network_config(socket), container_id="c1", netns=str(netns.netns_path(pod)),
                     args=pod_args("default", "web"))  # fmt: skip
        assert delete.status == 0, delete.stdout
    finally:
        netns.delete(pod)
