"""Services through AntreaProxy, with real packets in a 3-node lab: ClusterIP over TCP and UDP to
endpoints on both nodes, NodePort, an immediate reject without endpoints, ClientIP affinity,
hairpin, internalTrafficPolicy Local, NetworkPolicy applied after the DNAT, and externalIPs and
LoadBalancer ingress IPs reached from a machine outside the nodes."""

from __future__ import annotations

import ipaddress
import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from lab import netns
from lab.underlay import Underlay
from pyantrea_netlink.offload import disable_tx_checksum
from tests.e2e.lab import PYANTCTL, Lab, kubectl, namespace_manifest, pod_manifest

pytestmark = [pytest.mark.ovs, pytest.mark.slow]

# Runs inside a pod: N connections (or datagrams) to HOST:PORT, one result line each: the
# server's answer (it starts with the pod's "ns/name"), "refused", "reset", "timeout" or
# "unreachable" (an ICMP error other than port unreachable), and
# the seconds it took.
CLIENT = """\
import socket, sys, time
proto, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for _ in range(count):
    started = time.monotonic()
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(3)
    try:
        s.connect((host, port))
        if proto == "udp":
            s.send(b"hi")
        else:
            s.shutdown(socket.SHUT_WR)
        answer = s.recv(200).decode().strip()
    except ConnectionRefusedError:
        answer = "refused"
    except ConnectionResetError:
        answer = "reset"
    except (socket.timeout, TimeoutError):
        answer = "timeout"
    except OSError:
        answer = "unreachable"
    finally:
        s.close()
    print(f"{answer}|{time.monotonic() - started:.3f}", flush=True)
"""


def service_manifest(
    namespace: str, name: str, selector: str, extra: str = "", kind: str = "ClusterIP"
) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  type: {kind}
  selector: {{{selector}}}
  ports:
  - {{name: tcp, port: 8080, targetPort: 80, protocol: TCP}}
  - {{name: udp, port: 8081, targetPort: 81, protocol: UDP}}
{extra}---
"""


def connect(lab: Lab, pod: str, proto: str, host: str, port: int, count: int = 1) -> list[tuple[str, float]]:
    script = lab.write(CLIENT)
    out = lab.run("exec", pod, "--", "python3", str(script), proto, host, str(port), str(count)).stdout
    results = []
    for line in out.splitlines():
        answer, _, seconds = line.rpartition("|")
        results.append((answer, float(seconds)))
    return results


def backends(results: list[tuple[str, float]]) -> Counter[str]:
    return Counter(answer.split()[0] for answer, _ in results)


def get_service(lab: Lab, namespace: str, name: str) -> dict:
    found = lab.json("get", "service", name, "-n", namespace, "-o", "json")
    return found["items"][0] if "items" in found else found


def cluster_ip(lab: Lab, namespace: str, name: str) -> str:
    return get_service(lab, namespace, name)["spec"]["clusterIP"]


def until_served_by(
    lab: Lab, pod: str, host: str, port: int, expected: set[str], *, timeout: float = 60.0
) -> None:
    """Until connections from `pod` reach exactly the `expected` endpoints: endpoints become
    ready one by one and reach every node's agent asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        seen = set(backends(connect(lab, pod, "tcp", host, port, count=16)))
        if seen == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{host}:{port} from {pod}: {seen}, expected {expected}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def web(lab3: Lab) -> dict[str, str]:
    manifest = namespace_manifest("svc")
    manifest += pod_manifest("svc", "a", node="node1", labels="app: web")
    manifest += pod_manifest("svc", "b", node="node2", labels="app: web")
    manifest += pod_manifest("svc", "client", node="node1")
    manifest += pod_manifest("svc", "far", node="node3")
    manifest += service_manifest("svc", "web", "app: web")
    manifest += service_manifest("svc", "empty", "app: nothing")
    manifest += service_manifest("svc", "sticky", "app: web", "  sessionAffinity: ClientIP\n")
    manifest += service_manifest("svc", "local", "app: web", "  internalTrafficPolicy: Local\n")
    manifest += service_manifest("svc", "nodeport", "app: web", kind="NodePort")
    manifest += service_manifest("svc", "self", "pod: a")
    lab3.apply(manifest, "--wait")
    pods = lab3.pods("svc")
    ips = {name: pod["status"]["podIP"] for name, pod in pods.items()}
    names = ("web", "empty", "sticky", "local", "nodeport", "self")
    ips.update({f"svc:{name}": cluster_ip(lab3, "svc", name) for name in names})
    for client in ("svc/client", "svc/far"):
        for name in ("web", "nodeport"):
            until_served_by(lab3, client, ips[f"svc:{name}"], 8080, {"svc/a", "svc/b"})
    return ips


def test_cluster_ip_tcp_and_udp_reach_endpoints_on_both_nodes(lab3: Lab, web: dict[str, str]):
    for client in ("svc/client", "svc/far"):
        tcp = connect(lab3, client, "tcp", web["svc:web"], 8080, count=24)
        assert set(backends(tcp)) == {"svc/a", "svc/b"}, tcp
        udp = connect(lab3, client, "udp", web["svc:web"], 8081, count=24)
        assert set(backends(udp)) == {"svc/a", "svc/b"}, udp


def test_no_endpoint_is_refused_at_once(lab3: Lab, web: dict[str, str]):
    for proto, port in (("tcp", 8080), ("udp", 8081)):
        results = connect(lab3, "svc/client", proto, web["svc:empty"], port, count=3)
        assert [answer for answer, _ in results] == ["refused"] * 3, results
        assert max(seconds for _, seconds in results) < 1.0, results


def test_session_affinity_keeps_a_client_on_one_endpoint(lab3: Lab, web: dict[str, str]):
    for client in ("svc/client", "svc/far"):
        results = connect(lab3, client, "tcp", web["svc:sticky"], 8080, count=12)
        assert len(backends(results)) == 1, results


def test_internal_traffic_policy_local_stays_on_the_node(lab3: Lab, web: dict[str, str]):
    results = connect(lab3, "svc/client", "tcp", web["svc:local"], 8080, count=12)
    assert set(backends(results)) == {"svc/a"}, results  # node1's only endpoint
    results = connect(lab3, "svc/far", "tcp", web["svc:local"], 8080, count=3)
    assert [answer for answer, _ in results] == ["refused"] * 3  # node3 has none


def test_node_port_from_a_pod(lab3: Lab, web: dict[str, str]):
    service = get_service(lab3, "svc", "nodeport")
    node_port = next(p["nodePort"] for p in service["spec"]["ports"] if p["name"] == "tcp")
    results = connect(lab3, "svc/client", "tcp", "192.168.77.1", node_port, count=16)
    assert set(backends(results)) == {"svc/a", "svc/b"}, results


def test_hairpin_a_pod_reaches_itself_through_its_service(lab3: Lab, web: dict[str, str]):
    results = connect(lab3, "svc/a", "tcp", web["svc:self"], 8080, count=12)
    assert [answer.split()[0] for answer, _ in results] == ["svc/a"] * 12, results


def test_get_services_shows_what_each_agent_programmed(lab3: Lab, web: dict[str, str]):
    done = subprocess.run(
        [str(PYANTCTL), "get", "services"], env=lab3.environ, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0] == ["NODE", "NAMESPACE", "NAME", "CLUSTER-IP", "PORT", "ENDPOINTS", "LOCAL", "GROUPS"]
    web_rows = [row for row in rows if row[1:3] == ["svc", "web"]]
    assert sorted({row[0] for row in web_rows}) == ["node1", "node2", "node3"]
    for row in web_rows:  # one row per port: TCP 8080 to 80, UDP 8081 to 81
        assert row[3] == web["svc:web"]
        target = row[4].split("/")[0].replace("8080", "80").replace("8081", "81")
        assert set(row[5].split(",")) == {f"{web['a']}:{target}", f"{web['b']}:{target}"}
    empty = [row for row in rows if row[1:3] == ["svc", "empty"]]
    assert empty and all(row[5] == "<none>" for row in empty)


def test_network_policy_applies_to_the_endpoint_after_the_dnat(lab3: Lab, web: dict[str, str]):
    """Ingress rules of the endpoints apply to Service traffic; an egress rule that allows the
    endpoint pods allows their Service."""
    policies = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: svc}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {pod: client}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-to-web-only, namespace: svc}
spec:
  podSelector: {matchLabels: {pod: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 80, protocol: TCP}]
"""
    lab3.apply(policies, "--wait")
    try:
        allowed = connect(lab3, "svc/client", "tcp", web["svc:web"], 8080, count=8)
        assert set(backends(allowed)) <= {"svc/a", "svc/b"} and "timeout" not in backends(allowed), allowed
        denied = connect(lab3, "svc/far", "tcp", web["svc:web"], 8080, count=2)
        assert [answer for answer, _ in denied] == ["timeout", "timeout"], denied
        # The client's egress allows the web pods (port 80), hence their Service, and nothing else.
        other = connect(lab3, "svc/client", "tcp", web["far"], 80, count=1)
        assert [answer for answer, _ in other] == ["timeout"], other
    finally:
        lab3.run("delete", "networkpolicy", "web-from-client", "-n", "svc")
        lab3.run("delete", "networkpolicy", "client-to-web-only", "-n", "svc")


CLIENT_NOT_TO_WEB = """\
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: client-not-to-web}
spec:
  tier: Admin
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: svc}}
      podSelector: {matchLabels: {pod: client}}
  egress:
  - name: no-web
    action: Deny
    to:
    - pods:
        namespaceSelector: {}
        podSelector: {matchLabels: {app: web}}
"""


def test_cluster_network_policy_applies_to_the_endpoint_after_the_dnat(lab3: Lab, web: dict[str, str]):
    """An Admin-tier Deny from the client to the web pods holds for their Service too (the
    tiers see the endpoint the DNAT chose); other clients still reach the Service."""
    lab3.apply(CLIENT_NOT_TO_WEB, "--wait")
    try:
        denied = connect(lab3, "svc/client", "tcp", web["svc:web"], 8080, count=4)
        assert [answer for answer, _ in denied] == ["timeout"] * 4, denied
        allowed = connect(lab3, "svc/far", "tcp", web["svc:web"], 8080, count=4)
        assert set(backends(allowed)) <= {"svc/a", "svc/b"}, allowed
    finally:
        lab3.run("delete", "clusternetworkpolicy", "client-not-to-web")
    until_served_by(lab3, "svc/client", web["svc:web"], 8080, {"svc/a", "svc/b"})


def test_the_node_itself_reaches_cluster_ips(lab3: Lab, web: dict[str, str]):
    """The node routes the Service CIDR into OVS (through gw0), as hostNetwork pods and the
    kubelet need without kube-proxy."""
    script = lab3.write(CLIENT)
    node3 = next(n["netns"] for n in lab3.status()["nodes"] if n["name"] == "node3")
    argv = ["ip", "netns", "exec", node3, "python3", str(script), "tcp", web["svc:web"], "8080", "16"]
    deadline = time.monotonic() + 30
    while True:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        seen = {(line.rpartition("|")[0].split() or ["?"])[0] for line in out.stdout.splitlines()}
        if seen == {"svc/a", "svc/b"} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert seen == {"svc/a", "svc/b"}, out.stdout


def test_node_port_from_other_nodes_and_the_node_itself(lab3: Lab, web: dict[str, str]):
    """A NodePort on node1's address answers a client outside OVS: another node's own stack, and
    node1's; endpoints on both nodes (the remote one through SNAT to node1's gateway)."""
    node_port = next(
        p["nodePort"] for p in get_service(lab3, "svc", "nodeport")["spec"]["ports"] if p["name"] == "tcp"
    )
    script = lab3.write(CLIENT)
    namespaces = {n["name"]: n["netns"] for n in lab3.status()["nodes"]}
    for node in ("node2", "node1"):
        argv = [
            "ip",
            "netns",
            "exec",
            namespaces[node],
            "python3",
            str(script),
            "tcp",
            "192.168.77.1",
            str(node_port),
            "16",
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
        seen = {(line.rpartition("|")[0].split() or ["?"])[0] for line in out.splitlines()}
        assert seen == {"svc/a", "svc/b"}, (node, out)


EXTERNAL_IP = "10.250.0.10"
LOAD_BALANCER_IP = "10.250.0.20"
LOCAL_LOAD_BALANCER_IP = "10.250.0.30"
OUTSIDE_ADDRESS = ipaddress.IPv4Interface("192.168.77.200/24")


@pytest.fixture(scope="module")
def outside(lab3: Lab, web: dict[str, str]) -> Iterator[str]:
    """A machine on the underlay outside every node (a namespace of the lab's), which routes the
    external Service addresses to node1 as a router or a load balancer in front of it would, and
    the Services with those addresses (an externalIP, a LoadBalancer's ingress IP)."""
    manifest = service_manifest("svc", "external", "app: web", f"  externalIPs: [{EXTERNAL_IP}]\n")
    manifest += service_manifest("svc", "balanced", "app: web", kind="LoadBalancer")
    local = "  externalTrafficPolicy: Local\n"
    manifest += service_manifest("svc", "balanced-local", "app: web", local, kind="LoadBalancer")
    lab3.apply(manifest)
    for service, ip in (("balanced", LOAD_BALANCER_IP), ("balanced-local", LOCAL_LOAD_BALANCER_IP)):
        status = f'{{"status": {{"loadBalancer": {{"ingress": [{{"ip": "{ip}"}}]}}}}}}'
        kubectl(lab3, "patch", "service", service, "-n", "svc", "--subresource=status", "--type=merge", "-p",
                status)  # fmt: skip
    name = f"{lab3.prefix}-out"
    netns.create(name)
    try:
        Underlay(f"{lab3.prefix}-ul").attach(name, port=f"{lab3.prefix}-outp", address=OUTSIDE_ADDRESS)
        netns.call_in(name, lambda: disable_tx_checksum("eth0"))  # its TCP crosses a userspace datapath
        for address in (EXTERNAL_IP, LOAD_BALANCER_IP, LOCAL_LOAD_BALANCER_IP):
            subprocess.run(["ip", "-n", name, "route", "add", address, "via", "192.168.77.1"], check=True)
        yield name
    finally:
        netns.delete(name)


def from_outside(lab: Lab, outside: str, proto: str, host: str, port: int, count: int) -> list[str]:
    """`count` connections (datagrams) from the outside machine: the answers (`ns/name client`)."""
    script = str(lab.write(CLIENT))
    argv = ["ip", "netns", "exec", outside, "python3", script, proto, host, str(port), str(count)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.rpartition("|")[0] for line in out.splitlines()]


def served_from_outside(lab: Lab, outside: str, host: str, *, timeout: float = 60.0) -> list[str]:
    """Connections from outside to `host`:8080 once both endpoints answer them (node1's agent
    routes the address when it has installed the Service)."""
    deadline = time.monotonic() + timeout
    while True:
        answers = from_outside(lab, outside, "tcp", host, 8080, 16)
        if {answer.split()[0] for answer in answers} == {"svc/a", "svc/b"} or time.monotonic() > deadline:
            return answers
        time.sleep(0.5)


@pytest.mark.parametrize("address", [EXTERNAL_IP, LOAD_BALANCER_IP])
def test_an_external_address_is_balanced_for_a_machine_outside_the_nodes(
    lab3: Lab, outside: str, address: str
):
    """Traffic for an externalIP or a LoadBalancer ingress IP that reaches node1 from the underlay
    goes to the endpoints on both nodes over TCP and UDP; node1's own endpoint sees the client's
    address (the other one node1's gateway's: externalTrafficPolicy Cluster SNATs to it)."""
    tcp = served_from_outside(lab3, outside, address)
    assert {answer.split()[0] for answer in tcp} == {"svc/a", "svc/b"}, tcp
    local_clients = {answer.split()[1].partition(":")[0] for answer in tcp if answer.startswith("svc/a ")}
    assert local_clients == {str(OUTSIDE_ADDRESS.ip)}, tcp
    udp = from_outside(lab3, outside, "udp", address, 8081, 24)
    assert {answer.split()[0] for answer in udp} == {"svc/a", "svc/b"}, udp


def test_external_traffic_policy_local_keeps_outside_clients_on_the_node_with_their_address(
    lab3: Lab, outside: str
):
    deadline = time.monotonic() + 60
    while True:
        answers = from_outside(lab3, outside, "tcp", LOCAL_LOAD_BALANCER_IP, 8080, 12)
        if all(answer.startswith("svc/a ") for answer in answers) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answers == [f"svc/a {OUTSIDE_ADDRESS.ip}:{answer.rpartition(':')[2]}" for answer in answers], (
        answers
    )


def test_an_external_address_removed_from_its_service_is_no_longer_served(lab3: Lab, outside: str):
    before = served_from_outside(lab3, outside, EXTERNAL_IP)
    assert {answer.split()[0] for answer in before} == {"svc/a", "svc/b"}, before
    lab3.apply(service_manifest("svc", "external", "app: web"))  # without its externalIP
    deadline = time.monotonic() + 60
    while True:
        answers = from_outside(lab3, outside, "tcp", EXTERNAL_IP, 8080, 4)
        if not any(answer.startswith("svc/") for answer in answers) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert not any(answer.startswith("svc/") for answer in answers), answers
