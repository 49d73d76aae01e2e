"""Seeing Services in a running lab, as a user does: `pyantctl trace` to a ClusterIP shows the
Service, the endpoint the packet was DNATed to (its pod and node) and why that one, then the
NetworkPolicy at the endpoint and where the packet went; the controller's API (what the
dashboard shows) lists every Service with the endpoints each agent programmed.

Namespace obs-svc: `client` (role=client) and `api-a` on node1, `api-b` on node2; Service
`api` (8080 -> 80) selects api-a and api-b, Service `empty` selects nothing; policy allow-client
lets only role=client pods reach the api pods on TCP 80.
"""

from __future__ import annotations

import json
import time

import pytest

from lab.health import get_in_netns
from lab.up import CONTROLLER_HTTP_PORT
from tests.e2e.lab import Lab, namespace_manifest, pod_manifest
from tests.observe.conftest import pyantctl, pyantctl_json

pytestmark = [pytest.mark.ovs, pytest.mark.slow]

NS = "obs-svc"
MANIFEST = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-client, namespace: {NS}}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{role: client}}}}}}]
    ports: [{{port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: {NS}}}
spec:
  selector: {{app: api}}
  ports: [{{name: http, port: 8080, targetPort: 80, protocol: TCP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: empty, namespace: {NS}}}
spec:
  selector: {{app: nothing}}
  ports: [{{name: http, port: 8080, targetPort: 80, protocol: TCP}}]
"""
# Runs in the client pod: one TCP connection from source port SPORT to HOST:PORT; prints the
# server's answer ("namespace/name client-ip:client-port").
CONNECT = """\
import socket, sys
host, port, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", sport))
s.settimeout(5)
s.connect((host, port))
s.shutdown(socket.SHUT_WR)
print(s.recv(200).decode().strip())
s.close()
"""


@pytest.fixture(scope="module")
def services(lab: Lab) -> dict[str, str]:
    manifest = namespace_manifest(NS)
    manifest += pod_manifest(NS, "client", node="node1", labels="role: client")
    manifest += pod_manifest(NS, "api-a", node="node1", labels="app: api")
    manifest += pod_manifest(NS, "api-b", node="node2", labels="app: api")
    lab.apply(manifest + MANIFEST, "--wait")
    addresses = {name: pod["status"]["podIP"] for name, pod in lab.pods(NS).items()}
    for name in ("api", "empty"):
        found = lab.json("get", "service", name, "-n", NS, "-o", "json")
        addresses[f"svc:{name}"] = (found["items"][0] if "items" in found else found)["spec"]["clusterIP"]
    return addresses


def test_trace_follows_a_pinned_endpoint_on_another_node(lab: Lab, services: dict[str, str]):
    api, b = services["svc:api"], services["api-b"]
    text = pyantctl(lab, "trace", f"{NS}/client", api, "--port", "8080", "--endpoint", b).stdout
    lines = text.splitlines()
    assert (
        lines[0] == f"{NS}/client ({services['client']}) -> {api} -> {NS}/api-b ({b}:80) TCP/8080: Delivered"
    )
    assert f"  Service {NS}/api http/8080 ({api}:8080) -> endpoint {b}:80 (pod {NS}/api-b on node2)" in lines
    assert "    chosen: the endpoint asked for (--endpoint)" in lines
    assert "node1: Tunneled: sent through tun0 to the node at 192.168.77.2" in text
    assert f"ingress: allowed by NetworkPolicy {NS}/allow-client ingress[0]" in text
    assert "node2: Delivered: delivered to pod obs-svc/api-b" in text

    answer = pyantctl_json(lab, "trace", f"{NS}/client", api, "--port", "8080", "--endpoint", b)
    assert answer["destinationPod"] == f"{NS}/api-b"
    assert answer["service"]["endpoint"] == f"{b}:80" and answer["service"]["endpointNode"] == "node2"
    assert sorted(answer["service"]["endpoints"]) == sorted([f"{services['api-a']}:80", f"{b}:80"])
    # The second node traced the packet as it left the first: DNATed to the endpoint.
    assert answer["hops"][1]["flow"].count(f"nw_dst={b}") == 1 and "tcp_dst=80" in answer["hops"][1]["flow"]


def test_trace_of_a_local_endpoint_and_of_the_groups_own_choice(lab: Lab, services: dict[str, str]):
    api, a = services["svc:api"], services["api-a"]
    local = pyantctl_json(lab, "trace", f"{NS}/client", api, "--port", "8080", "--endpoint", a)
    assert (local["verdict"], len(local["hops"]), local["destinationPod"]) == ("Delivered", 1, f"{NS}/api-a")
    chosen = pyantctl_json(lab, "trace", f"{NS}/client", api, "--port", "8080")
    assert chosen["service"]["chosenBy"] == "datapath-hash"
    assert chosen["destinationPod"] in (f"{NS}/api-a", f"{NS}/api-b") and chosen["verdict"] == "Delivered"
    # Another pod is not allowed by the endpoint's policy, whichever endpoint: the trace says so.
    other = pyantctl(
        lab, "trace", f"{NS}/api-a", api, "--port", "8080", "--endpoint", services["api-b"]
    ).stdout
    assert other.splitlines()[0].endswith("TCP/8080: Dropped")
    assert f"ingress: DROPPED by the isolation of NetworkPolicy {NS}/allow-client ingress[0]" in other


def test_trace_of_an_existing_connection_follows_the_endpoint_conntrack_holds(
    lab: Lab, services: dict[str, str]
):
    api = services["svc:api"]
    script = lab.write(CONNECT)
    answered = lab.run("exec", f"{NS}/client", "--", "python3", str(script), api, "8080", "41000").stdout
    server = answered.split()[0]  # the pod that answered this connection
    answer = pyantctl_json(lab, "trace", f"{NS}/client", api, "--port", "8080", "--source-port", "41000")
    assert answer["service"]["chosenBy"] == "conntrack"
    assert answer["service"]["endpointPod"] == server


def test_trace_to_a_service_without_endpoints_is_rejected(lab: Lab, services: dict[str, str]):
    empty = services["svc:empty"]
    text = pyantctl(lab, "trace", f"{NS}/client", empty, "--port", "8080").stdout
    assert text.splitlines()[0].endswith("TCP/8080: Rejected")
    assert f"Service {NS}/empty http/8080 ({empty}:8080): no endpoint" in text
    assert "answers a TCP reset" in text
    wrong = pyantctl(lab, "trace", f"{NS}/client", services["svc:api"], "--port", "8080",
                     "--endpoint", "172.16.9.9", check=False)  # fmt: skip
    assert (
        wrong.returncode == 1
        and f"172.16.9.9 is not an endpoint of Service {NS}/api port http" in wrong.stderr
    )


def test_the_controller_lists_services_with_the_endpoints_each_agent_programmed(
    lab: Lab, services: dict[str, str]
):
    underlay = lab.status()["api"]["netns"]
    url = f"http://192.168.77.1:{CONTROLLER_HTTP_PORT}/api/v1/services"
    endpoints = sorted([f"{services['api-a']}:80", f"{services['api-b']}:80"])
    deadline = time.monotonic() + 30
    while True:
        status, body = get_in_netns(underlay, url, timeout=20)
        document = json.loads(body) if status == 200 else {}
        listed = {f"{s['namespace']}/{s['name']}": s for s in document.get("services", [])}
        if f"{NS}/api" in listed or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert status == 200 and document["unreachable"] == {}
    api, empty = listed[f"{NS}/api"], listed[f"{NS}/empty"]
    assert api["clusterIPs"] == [services["svc:api"]] and api["nodes"] == ["node1", "node2"]
    (port,) = api["ports"]
    assert (port["name"], port["port"], port["protocol"], port["endpoints"]) == (
        "http",
        8080,
        "TCP",
        endpoints,
    )
    assert {node: sorted(e["cluster"]) for node, e in port["byNode"].items()} == {
        "node1": endpoints, "node2": endpoints,
    }  # fmt: skip
    (none,) = empty["ports"]
    assert none["endpoints"] == [] and none["byNode"]["node1"] == {"cluster": [], "local": []}
    # The same data as `pyantctl get services`.
    per_node = pyantctl_json(lab, "get", "services")
    mine = [s for s in per_node["node2"] if (s["namespace"], s["name"]) == (NS, "api")]
    assert sorted(mine[0]["ports"][0]["cluster_endpoints"]) == endpoints
    rows = [line.split() for line in pyantctl(lab, "get", "services").stdout.splitlines()]
    api_rows = sorted(row for row in rows if row[1:3] == [NS, "api"])
    assert [(row[0], row[3], row[4], sorted(row[5].split(","))) for row in api_rows] == [
        (node, services["svc:api"], "8080/TCP", endpoints) for node in ("node1", "node2")
    ]
