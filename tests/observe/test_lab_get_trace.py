"""`pyantctl get` and `pyantctl trace` against a running lab, as a user runs them.

Namespace obs-trace: `client` (role=client) and `other` on node1, `server` on node2; policy
allow-client lets only role=client pods reach `server` on TCP 80.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml

from lab.health import get_in_netns
from lab.identities import in_pod
from lab.layout import LabLayout
from lab.up import API_ADDRESS, API_PORT, CONTROLLER_HTTP_PORT
from tests.e2e.lab import COMMAND_TIMEOUT, PYANTCTL, Lab, namespace_manifest, pod_manifest
from tests.observe.conftest import pyantctl, pyantctl_json

pytestmark = pytest.mark.ovs

NS = "obs-trace"
POLICY = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-client, namespace: {NS}}}
spec:
  podSelector: {{matchLabels: {{pod: server}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{role: client}}}}}}]
    ports: [{{port: 80}}]
"""


@pytest.fixture(scope="module")
def traced(lab: Lab) -> Lab:
    manifest = namespace_manifest(NS)
    manifest += pod_manifest(NS, "client", node="node1", labels="role: client")
    manifest += pod_manifest(NS, "other", node="node1")
    manifest += pod_manifest(NS, "server", node="node2")
    lab.apply(manifest + POLICY, "--wait")
    return lab


def test_get_agents_lists_every_node_connected_with_its_heartbeat(traced: Lab):
    agents = {a["node"]: a for a in pyantctl_json(traced, "get", "agents")}
    assert sorted(agents) == ["node1", "node2"]
    for index, name in enumerate(("node1", "node2"), start=1):
        agent = agents[name]
        assert agent["connected"] and agent["lastHeartbeat"]
        assert agent["apiAddress"] == f"192.168.77.{index}:10350"
        assert agent["nodeIP"] == f"192.168.77.{index}" and agent["podCIDR"] == f"172.16.{index - 1}.0/24"
        assert agent["ovsVersion"][0].isdigit() and agent["flows"] > 0
    header = pyantctl(traced, "get", "agents").stdout.splitlines()[0].split()
    assert header == ["NODE", "CONNECTED", "HEARTBEAT", "VERSION", "OVS", "FLOWS", "PODS", "HEALTHY", "API"]


def test_get_networkpolicies_and_groups(traced: Lab):
    (policy,) = pyantctl_json(traced, "get", "networkpolicies", "-n", NS)
    assert (policy["name"], policy["phase"], policy["desiredNodesRealized"]) == (
        "allow-client",
        "Realized",
        1,
    )
    assert [rule["name"] for rule in policy["rules"]] == ["ingress[0]"]
    table = pyantctl(traced, "get", "networkpolicies", "-n", NS).stdout.splitlines()
    assert table[0].split()[:4] == ["NAMESPACE", "NAME", "PHASE", "REALIZED"]
    assert table[1].split()[:4] == [NS, "allow-client", "Realized", "1/1"]

    groups = yaml.safe_load(pyantctl(traced, "get", "addressgroups", "-o", "yaml").stdout)
    (peers,) = [g for g in groups if f"{NS}/allow-client" in g["policies"]]
    assert [m["pod"] for m in peers["members"]] == [f"{NS}/client"] and peers["span"] == ["node2"]
    applied = [
        g for g in pyantctl_json(traced, "get", "appliedtogroups") if f"{NS}/allow-client" in g["policies"]
    ]
    assert [m["pod"] for m in applied[0]["members"]] == [f"{NS}/server"]
    assert (
        pyantctl(traced, "get", "addressgroups", "--server", "http://127.0.0.1:1", check=False).returncode
        == 1
    )


def test_get_flows_by_table_name_or_number_and_pod_interfaces(traced: Lab):
    by_name = pyantctl_json(traced, "get", "flows", "--node", "node2", "--table", "IngressRule")
    by_number = pyantctl_json(traced, "get", "flows", "--node", "node2", "--table", "90")
    assert {f["table"] for f in by_name} == {90} and len(by_name) == len(by_number)
    assert any("conjunction(" in f["actions"] for f in by_name)
    assert any(f["match"].startswith("conj_id=") for f in by_name)
    text = pyantctl(traced, "get", "flows", "--node", "node2", "--table", "IngressDefault").stdout
    assert text.splitlines()[0].split() == [
        "TABLE",
        "NAME",
        "PRIORITY",
        "MATCH",
        "ACTIONS",
        "PACKETS",
        "BYTES",
    ]
    refused = pyantctl(traced, "get", "flows", "--node", "node2", "--table", "91", check=False)
    assert refused.returncode == 1 and "table '91' is not in the pipeline" in refused.stderr
    unknown = pyantctl(traced, "get", "flows", "--node", "node9", check=False)
    assert "no agent of node 'node9'" in unknown.stderr

    pods = {
        (i["podNamespace"], i["podName"]): i
        for i in pyantctl_json(traced, "get", "podinterfaces", "--node", "node1")
    }
    assert {(NS, "client"), (NS, "other")} <= set(pods)
    assert pods[NS, "client"]["ip"].startswith("172.16.0.") and pods[NS, "client"]["ofport"] > 2


def node_netns(lab: Lab, node: str) -> str:
    return {n["name"]: n["netns"] for n in lab.status()["nodes"]}[node]


def test_the_agent_api_answers_401_without_a_valid_token_and_403_to_other_accounts(traced: Lab):
    """Straight at node2's agent from node1, as anyone on the network could: no token is 401, and
    the health paths stay open; through pyantctl with a bad token 401, with the agent's own
    ServiceAccount token (real, but not allowed to read agents) 403."""
    netns = node_netns(traced, "node1")
    status, body = get_in_netns(netns, "https://192.168.77.2:10350/api/v1/flows")
    assert status == 401 and "no bearer token" in json.loads(body)["error"]
    assert get_in_netns(netns, "https://192.168.77.2:10350/readyz")[0] == 200
    assert get_in_netns(netns, "https://192.168.77.2:10350/livez")[0] == 200

    def with_token(token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PYANTCTL), "get", "flows", "--node", "node2"],
            env={**traced.environ, "PYANTREA_TOKEN": token}, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip

    bad = with_token("not-a-token")
    assert bad.returncode == 1 and "the agent of node node2 answered 401" in bad.stderr
    agent_token = (LabLayout(traced.directory).node("node1").agent_service_account / "token").read_text()
    refused = with_token(agent_token)
    assert refused.returncode == 1
    assert (
        'answered 403: user "system:serviceaccount:kube-system:pyantrea-agent" may not get /api/v1/flows'
        in refused.stderr
    )


def test_get_flows_and_trace_work_in_the_controller_pod(traced: Lab):
    """pyantctl as it runs in the controller's pod: the pod's ServiceAccount token (the
    controller's, which may read agents), the in-cluster API server, no lab to find."""
    layout = LabLayout(traced.directory)
    server = f"http://192.168.77.1:{CONTROLLER_HTTP_PORT}"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "KUBERNETES_SERVICE_HOST": str(API_ADDRESS.ip),
        "KUBERNETES_SERVICE_PORT": str(API_PORT),
    }

    def in_controller_pod(*args: str) -> subprocess.CompletedProcess[str]:
        argv = in_pod(layout.controller_service_account, [str(PYANTCTL), *args, "--server", server])
        return subprocess.run(
            ["ip", "netns", "exec", node_netns(traced, "node1"), *argv], env=env, capture_output=True,
            text=True, timeout=COMMAND_TIMEOUT, check=True,
        )  # fmt: skip

    flows = json.loads(
        in_controller_pod("get", "flows", "--node", "node2", "--table", "90", "-o", "json").stdout
    )
    assert flows and any("conjunction(" in f["actions"] for f in flows)
    pods = json.loads(in_controller_pod("get", "podinterfaces", "--node", "node1", "-o", "json").stdout)
    assert {(NS, "client"), (NS, "other")} <= {(p["podNamespace"], p["podName"]) for p in pods}
    traced_text = in_controller_pod("trace", f"{NS}/client", f"{NS}/server", "--port", "80").stdout
    assert traced_text.splitlines()[0].endswith("TCP/80: Delivered")


def test_trace_names_the_rule_that_allows_and_the_rule_whose_isolation_drops(traced: Lab):
    allowed = pyantctl(traced, "trace", f"{NS}/client", f"{NS}/server", "--port", "80").stdout
    assert f"{NS}/client" in allowed.splitlines()[0] and allowed.splitlines()[0].endswith("TCP/80: Delivered")
    assert f"ingress: allowed by NetworkPolicy {NS}/allow-client ingress[0]" in allowed
    assert "node1: Tunneled: sent through tun0 to the node at 192.168.77.2" in allowed
    assert "90 IngressRule" in allowed

    denied = pyantctl(traced, "trace", f"{NS}/other", f"{NS}/server", "--port", "80").stdout
    assert denied.splitlines()[0].endswith("TCP/80: Dropped")
    assert f"ingress: DROPPED by the isolation of NetworkPolicy {NS}/allow-client ingress[0]" in denied
    assert "100 IngressDefault" in denied

    answer = pyantctl_json(traced, "trace", f"{NS}/client", f"{NS}/server", "--port", "81")
    assert answer["verdict"] == "Dropped"
    assert [hop["node"] for hop in answer["hops"]] == ["node1", "node2"]
    (decision,) = answer["hops"][1]["policies"]
    assert decision == {
        "direction": "Ingress", "allowed": False,
        "rules": [{"namespace": NS, "name": "allow-client", "rule": "ingress[0]"}],
    }  # fmt: skip
    assert "ofproto/trace" not in answer["hops"][1]["ovsTrace"] and "bridge(" in answer["hops"][1]["ovsTrace"]

    # The traces agree with the packets' fate.
    reachable = traced.probe(80, "-n", NS)
    assert reachable[f"{NS}/client"][f"{NS}/server"] and not reachable[f"{NS}/other"][f"{NS}/server"]


def test_trace_to_an_address_and_the_errors_a_user_meets(traced: Lab):
    local = pyantctl_json(traced, "trace", f"{NS}/client", "172.16.0.1", "--protocol", "icmp")
    assert local["verdict"] == "ToGateway" and local["hops"][0]["output"]["name"] == "gw0"
    udp = pyantctl_json(traced, "trace", f"{NS}/other", f"{NS}/client", "--protocol", "udp", "--port", "81")
    assert udp["verdict"] == "Delivered" and len(udp["hops"]) == 1
    missing = pyantctl(traced, "trace", f"{NS}/nobody", f"{NS}/server", "--port", "80", check=False)
    assert missing.returncode == 1 and f"source pod {NS}/nobody not found" in missing.stderr
    no_port = pyantctl(traced, "trace", f"{NS}/client", f"{NS}/server", check=False)
    assert "port is required for TCP" in no_port.stderr
    nobody = pyantctl(traced, "trace", f"{NS}/client", "172.16.0.250", "--port", "80", check=False)
    assert "no pod on node node1 has address 172.16.0.250" in nobody.stderr


def test_rule_traffic_reaches_the_controller(traced: Lab):
    traced.probe(80, "-n", NS)
    deadline = time.monotonic() + 30
    while True:
        (policy,) = pyantctl_json(traced, "get", "networkpolicies", "-n", NS)
        (rule,) = policy["rules"]
        if rule["packets"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert rule["packets"] > 0 and rule["bytes"] > 0 and set(rule["nodes"]) == {"node2"}


def test_trace_names_egress_rules_and_isolation_only_rules(lab: Lab):
    ns = "obs-egress"
    manifest = namespace_manifest(ns)
    for name, node in (("x", "node1"), ("y", "node2"), ("z", "node1")):
        manifest += pod_manifest(ns, name, node=node)
    manifest += f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: x-to-z, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{pod: x}}}}
  policyTypes: [Egress]
  egress:
  - to: [{{podSelector: {{matchLabels: {{pod: z}}}}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: z-deny-all, namespace: {ns}}}
spec:
  podSelector: {{matchLabels: {{pod: z}}}}
  policyTypes: [Ingress]
"""
    lab.apply(manifest, "--wait")
    to_y = pyantctl_json(lab, "trace", f"{ns}/x", f"{ns}/y", "--port", "80")
    assert (to_y["verdict"], len(to_y["hops"])) == ("Dropped", 1)
    assert to_y["hops"][0]["steps"][-1]["tableName"] == "EgressDefault"
    assert to_y["hops"][0]["policies"] == [
        {
            "direction": "Egress",
            "allowed": False,
            "rules": [{"namespace": ns, "name": "x-to-z", "rule": "egress[0]"}],
        }
    ]
    to_z = pyantctl(lab, "trace", f"{ns}/x", f"{ns}/z", "--port", "80").stdout
    assert f"egress: allowed by NetworkPolicy {ns}/x-to-z egress[0]" in to_z
    assert (
        f"ingress: DROPPED by the isolation of NetworkPolicy {ns}/z-deny-all ingress (isolation only)" in to_z
    )
