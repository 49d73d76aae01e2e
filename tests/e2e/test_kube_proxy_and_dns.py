"""Services and the cluster DNS in a lab started with `--proxy kube-proxy`: the agents send
Service traffic out of gw0 (table 40) and the real kube-proxy in each node translates it, as in
the introduction article; the real CoreDNS answers for the kube-dns Service.

Real packets from a pod: a ClusterIP reaches its endpoints on both nodes over TCP and UDP, the
endpoint sees the client pod's own address, and a NodePort on another node's address answers.
Names resolve from a pod with Debian's resolver (getent) as in a cluster: `name`, `name.ns`,
`name.ns.svc.cluster.local`, and a headless Service to its endpoints' addresses.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.lab import Lab, namespace_manifest, new_lab

NS = "svc"
SERVICES = f"""\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports:
  - {{name: http, port: 80, targetPort: 8080, protocol: TCP}}
  - {{name: dns, port: 53, targetPort: 5353, protocol: UDP}}
---
apiVersion: v1
kind: Service
metadata: {{name: web-np, namespace: {NS}}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports:
  - {{port: 80, targetPort: 8080, nodePort: 30080}}
---
apiVersion: v1
kind: Service
metadata: {{name: web-headless, namespace: {NS}}}
spec:
  clusterIP: None
  selector: {{app: web}}
  ports:
  - {{port: 80, targetPort: 8080}}
---
"""


def _pod(name: str, node: str, labels: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {NS}, labels: {{{labels}}}}}
spec:
  nodeName: {node}
  containers:
  - name: server
    image: lab
    ports: [{{containerPort: 8080}}, {{containerPort: 5353, protocol: UDP}}]
---
"""


@pytest.fixture(scope="module", params=["nftables", "iptables"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A 2-node lab with kube-proxy in each mode, a web pod on each node, a client on node1."""
    lab = new_lab(tmp_path_factory)
    try:
        lab.up(2, "vxlan", "--proxy", "kube-proxy", "--kube-proxy-mode", request.param)
        lab.apply(
            namespace_manifest(NS)
            + _pod("web-1", "node1", "app: web")
            + _pod("web-2", "node2", "app: web")
            + _pod("client", "node1", "role: client")
            + SERVICES,
            "--wait",
        )
        yield lab
    finally:
        lab.destroy()


def _service_ip(lab: Lab, name: str) -> str:
    services = lab.json("get", "services", "-n", NS, "-o", "json")["items"]
    return str(next(s["spec"]["clusterIP"] for s in services if s["metadata"]["name"] == name))


def _answers(lab: Lab, command: str, attempts: int) -> list[tuple[str, str]]:
    """(pod, client address it saw) of each answer to `command` run `attempts` times in the client."""
    script = f"for i in $(seq {attempts}); do {command}; done"
    output = lab.run("exec", f"{NS}/client", "--", "sh", "-c", script).stdout
    return [tuple(line.split(" ", 1)) for line in output.splitlines() if line.strip()]  # type: ignore[misc]


def test_up_starts_kube_proxy_on_every_node_and_the_agents_leave_services_to_it(lab: Lab):
    status = lab.status()
    assert status["proxy"] == "kube-proxy"
    assert "kube-proxy (" in lab.up_output and "mode) started" in lab.up_output
    assert all(node["kubeProxy"]["running"] for node in status["nodes"])
    assert "KUBE-PROXY" in lab.run("status").stdout
    rundir = lab.directory / "nodes" / "node1" / "ovs"
    flows = subprocess.run(["ovs-ofctl", "dump-flows", "br-int", "table=40"], env={"OVS_RUNDIR": str(rundir)},
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "nw_dst=10.96.0.0/12" in flows


@pytest.mark.parametrize(
    ("protocol", "command"),
    [("TCP", "nc -w 2 {ip} 80 </dev/null"), ("UDP", "echo hi | nc -u -w 1 {ip} 53")],
)
def test_a_cluster_ip_reaches_endpoints_on_both_nodes_and_keeps_the_client_address(
    lab: Lab, protocol: str, command: str
):
    ip = _service_ip(lab, "web")
    client_ip = lab.pods(NS)["client"]["status"]["podIP"]
    answers = _answers(lab, command.format(ip=ip), 24)
    assert len(answers) >= 20, f"{protocol} to {ip}:{answers}"
    assert {pod for pod, _ in answers} == {f"{NS}/web-1", f"{NS}/web-2"}
    assert {seen.split(":")[0] for _, seen in answers} == {client_ip}


def test_a_node_port_on_another_nodes_address_answers_a_pod(lab: Lab):
    node2 = next(n for n in lab.status()["nodes"] if n["name"] == "node2")["address"].split("/")[0]
    answers = _answers(lab, f"nc -w 2 {node2} 30080 </dev/null", 12)
    assert len(answers) >= 10
    assert {pod for pod, _ in answers} <= {f"{NS}/web-1", f"{NS}/web-2"}
    assert len({pod for pod, _ in answers}) == 2


def _resolve(lab: Lab, name: str) -> set[str]:
    """The IPv4 addresses Debian's resolver finds for `name` inside the client pod."""
    done = lab.run("exec", f"{NS}/client", "--", "getent", "ahostsv4", name, check=False)
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def test_up_runs_coredns_behind_kube_dns_and_pods_resolv_conf_points_to_it(lab: Lab):
    assert "CoreDNS serves at 10.96.0.10 (kube-dns)" in lab.up_output
    assert lab.status()["clusterDns"] == {"clusterIP": "10.96.0.10", "replicas": 2, "ready": 2}
    assert "cluster DNS   CoreDNS behind kube-dns 10.96.0.10: 2/2 ready" in lab.run("status").stdout
    services = lab.json("get", "services", "-n", "kube-system", "-o", "json")["items"]
    assert [s["spec"]["clusterIP"] for s in services if s["metadata"]["name"] == "kube-dns"] == ["10.96.0.10"]
    resolv = lab.run("exec", f"{NS}/client", "--", "cat", "/etc/resolv.conf").stdout
    assert resolv.split("\n")[:3] == [
        f"search {NS}.svc.cluster.local svc.cluster.local cluster.local",
        "nameserver 10.96.0.10",
        "options ndots:5",
    ]


@pytest.mark.parametrize("name", ["web", f"web.{NS}", f"web.{NS}.svc.cluster.local"])
def test_a_service_name_resolves_from_a_pod_to_its_cluster_ip(lab: Lab, name: str):
    assert _resolve(lab, name) == {_service_ip(lab, "web")}


def test_names_of_other_namespaces_resolve_and_unknown_names_do_not(lab: Lab):
    assert _resolve(lab, "kube-dns.kube-system") == {"10.96.0.10"}
    assert _resolve(lab, "kubernetes.default") == {"10.96.0.1"}
    assert _resolve(lab, "nothing-here") == set()


def test_a_headless_service_resolves_to_its_endpoints(lab: Lab):
    pods = lab.pods(NS)
    assert _resolve(lab, "web-headless") == {pods[n]["status"]["podIP"] for n in ("web-1", "web-2")}


def test_a_pod_reaches_a_service_by_name(lab: Lab):
    answers = _answers(lab, "nc -w 2 web 80 </dev/null", 4)
    assert len(answers) == 4 and {pod for pod, _ in answers} <= {f"{NS}/web-1", f"{NS}/web-2"}
