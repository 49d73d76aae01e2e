"""`pyantrea-agent` as a process inside a node's namespace, as the lab and a DaemonSet run it.

The API stand-in listens on the underlay (its bridge holds 192.168.77.254), reachable from the
node; the test talks to it, and to the agent's HTTP port, from threads inside the namespaces.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TypeVar

import pytest

from config.agent import AgentConfig
from config.loader import load_file
from kube.config import load_api_client
from kube.rest import RestClient
from lab import netns
from tests.agent.cluster import wait_until
from tests.cni.runtime import cni, network_config, pod_args
from tests.conftest import unique_name

pytestmark = pytest.mark.ovs

T = TypeVar("T")


def test_the_agent_program_sets_up_its_node_and_serves_health_and_metrics(node_set, apiserver, tmp_path):
    node = node_set[0]
    kubeconfig = apiserver.write_kubeconfig(tmp_path / "kubeconfig")

    def register() -> None:
        api = load_api_client(kubeconfig)
        try:
            node_set.register(RestClient(api))
        finally:
            api.close()

    netns.call_in(netns.netns_path(node_set.underlay.name), register)
    config = node.write_agent_config(tmp_path / "agent.conf", kubeconfig=kubeconfig, tunnel_type="geneve")
    process = subprocess.Popen(
        ["ip", "netns", "exec", node.netns, sys.executable, "-m", "agent.main", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        running = _read_log_until(process, "agent running")
        port = running["port"]

        def get(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        def http(path: str) -> tuple[int, str]:
            return netns.call_in(node.netns_path, lambda: get(path))

        assert http("/livez")[0] == 200
        assert wait_until(lambda: http("/readyz")[0] == 200)
        status, metrics = http("/metrics")
        assert status == 200
        assert re.search(r'pyantrea_agent_ovs_flows\{table="L3Forwarding"\} [1-9]', metrics)
        assert "pyantrea_agent_ovs_bundle_seconds_count" in metrics
        assert "pyantrea_agent_ovs_reconnects_total 0.0" in metrics
        assert json.loads(http("/api/v1/podinterfaces")[1]) == []
        show = node.ovs.vsctl("show")
        assert re.search(r"Interface tun0\n\s+type: geneve\n", show)
        assert "inet 172.16.1.1/24" in netns.run(node.netns, "ip", "-4", "addr", "show", "gw0").stdout
        assert "inet 192.168.77.1/24" in netns.run(node.netns, "ip", "-4", "addr", "show", "br-phy").stdout
        _pod_gets_networking_through_the_cni_socket(node, config)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr[-2000:]
    assert '"msg": "stopped"' in stderr


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


def _read_log_until(process: subprocess.Popen[str], message: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"the agent exited ({process.wait()}) before logging {message!r}")
        entry = json.loads(line)
        if entry["level"] in ("error", "critical"):
            raise AssertionError(f"the agent logged an error: {entry}")
        if entry["msg"] == message:
            return entry
    raise AssertionError(f"the agent did not log {message!r} within {timeout}s")
