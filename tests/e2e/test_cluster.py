"""A 3-node VXLAN lab through `pyantctl lab` only: up, status, apply, get, probe, exec, label,
delete, Deployments, and the errors a user meets. The lab is shared by the module; each test
works in namespaces of its own."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from lab.kubernetes import binaries
from tests.e2e.lab import (
    COMMAND_TIMEOUT,
    PYANTCTL,
    Lab,
    all_reachable,
    assert_first_packets_arrive,
    kubectl,
    namespace_manifest,
    pod_manifest,
)
from tests.manifests.rbac import ApiRequest, audit, audit_log_requests, describe, grants_of, service_account

pytestmark = pytest.mark.ovs

_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
GUESTBOOK = Path(__file__).parents[2] / "examples" / "guestbook" / "guestbook.yaml"


def test_up_reports_each_step_and_ends_with_ready_nodes(lab3: Lab):
    out = lab3.up_output
    steps = ("node1: namespace", "node3: namespace", "API server", "pyantrea-controller", "pyantrea-agent",
             "controller ready, all 3 nodes Ready")  # fmt: skip
    for step in steps:
        assert step in out
    table = out[out.index("NAME ") :].splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert sorted(rows) == ["node1", "node2", "node3"]
    assert all(row[1] == "Ready" for row in rows.values())
    assert rows["node1"][2] == "control-plane"


def test_up_again_finds_the_running_lab_and_refuses_another_shape(lab3: Lab):
    again = lab3.run("up")
    assert "is running" in again.stdout
    assert "node3" in again.stdout
    other = lab3.run("up", "--nodes", "2", check=False)
    assert other.returncode == 1
    assert "3 nodes" in other.stderr and "lab down" in other.stderr


def test_status_lists_nodes_subnets_and_running_processes(lab3: Lab):
    status = lab3.status()
    assert status["tunnel"] == "vxlan"
    assert status["state"] == "running"
    assert status["api"]["process"]["running"]
    assert all(process["running"] for process in status["controlPlane"].values())
    assert status["apiForward"]["running"]
    assert status["controller"]["node"] == "node1" and status["controller"]["ready"]
    assert status["controller"]["process"]["running"]
    assert status["controller"]["address"] == "192.168.77.1:10349"
    nodes = {node["name"]: node for node in status["nodes"]}
    for index in (1, 2, 3):
        node = nodes[f"node{index}"]
        assert node["podCIDR"] == f"172.16.{index - 1}.0/24"  # node IPAM, in the order nodes joined
        assert node["address"] == f"192.168.77.{index}/24"
        assert node["ready"] is True
        assert node["agent"]["running"] and node["kubelet"]["running"]
        assert all(daemon["running"] for daemon in node["ovs"].values())
    text = lab3.run("status").stdout
    assert re.search(r"node2\s+Ready\s+192\.168\.77\.2/24\s+172\.16\.1\.0/24", text)


def test_pods_on_every_node_reach_each_other_over_tcp_and_udp(lab3: Lab):
    manifest = namespace_manifest("conn")
    for name, node in (("a", "node1"), ("b", "node2"), ("c", "node3"), ("d", None)):
        manifest += pod_manifest("conn", name, node=node)
    applied = lab3.apply(manifest, "--wait")
    assert "pod/a created" in applied.stdout and "4 pods ready" in applied.stdout
    pods = lab3.pods("conn")
    for name, node in (("a", "node1"), ("b", "node2"), ("c", "node3")):
        assert pods[name]["spec"]["nodeName"] == node
        assert pods[name]["status"]["phase"] == "Running"
    for pod in pods.values():
        index = int(pod["spec"]["nodeName"].removeprefix("node"))
        assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(
            f"172.16.{index - 1}.0/24"
        )
        assert pod["status"]["hostIP"] == f"192.168.77.{index}"
    assert_first_packets_arrive(lab3, "conn")

    tcp = lab3.probe(80, "-n", "conn")
    assert sorted(tcp) == ["conn/a", "conn/b", "conn/c", "conn/d"]
    assert all_reachable(tcp), tcp
    assert all_reachable(lab3.probe(81, "--protocol", "UDP", "-n", "conn"))
    # nothing listens on 82: every probe is refused at once (a reset, an ICMP unreachable), not dropped
    for protocol in ("TCP", "UDP"):
        closed = lab3.verdicts(82, "-n", "conn", "--protocol", protocol, "--timeout", "5")
        assert {v for row in closed.values() for v in row.values()} == {"refused"}, closed

    table = lab3.run("probe", "--port", "80", "-n", "conn").stdout.splitlines()
    assert table[0].split() == ["-", "conn/a", "conn/b", "conn/c", "conn/d"]
    assert [line.split() for line in table[1:5]] == [[f"conn/{p}", ".", ".", ".", "."] for p in "abcd"]
    assert table[5:] == ["", ". reachable"]
    table = lab3.run("probe", "--port", "82", "-n", "conn").stdout.splitlines()
    assert [line.split()[1:] for line in table[1:5]] == [["R"] * 4] * 4
    assert table[-1] == "R refused (nothing listens: a reset or ICMP unreachable came back)"


def test_get_prints_kubectl_tables_and_kubernetes_lists(lab3: Lab):
    lab3.apply(namespace_manifest("listing") + pod_manifest("listing", "web", node="node2"), "--wait")
    table = lab3.run("get", "pods", "-n", "listing").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert table[1].split()[:3] == ["web", "1/1", "Running"]
    assert table[1].split()[-1] == "node2"
    wide = lab3.run("get", "pods", "-A", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:2] == ["NAMESPACE", "NAME"] and "NOMINATED" in wide[0]
    assert any(line.split()[:2] == ["listing", "web"] for line in wide[1:])
    nodes = lab3.run("get", "nodes", "-o", "wide").stdout.splitlines()
    assert "INTERNAL-IP" in nodes[0] and "192.168.77.3" in nodes[3]

    listing = lab3.json("get", "pods", "-n", "listing", "-o", "json")
    assert listing["apiVersion"] == "v1" and listing["kind"] == "List"
    (pod,) = listing["items"]
    assert (
        pod["kind"] == "Pod" and pod["metadata"]["uid"] and pod["spec"]["containers"][0]["name"] == "server"
    )
    assert pod["status"]["podIP"].startswith("172.16.1.")
    single = lab3.json("get", "pod", "web", "-n", "listing", "-o", "json")
    assert single["metadata"]["name"] == "web" and single["kind"] == "Pod"
    namespaces = lab3.json("get", "ns", "-o", "json")["items"]
    listing_ns = next(ns for ns in namespaces if ns["metadata"]["name"] == "listing")
    assert listing_ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "listing"
    empty = lab3.run("get", "netpol", "-n", "listing")
    assert empty.stdout == "" and "No resources found in listing namespace." in empty.stderr


def test_exec_runs_a_command_inside_the_pod(lab3: Lab):
    lab3.apply(namespace_manifest("shell") + pod_manifest("shell", "sh", node="node3"), "--wait")
    ip = lab3.pods("shell")["sh"]["status"]["podIP"]
    addresses = lab3.run("exec", "shell/sh", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
    assert f"inet {ip}/24" in addresses
    assert lab3.run("exec", "shell/sh", "--", "ping", "-c", "1", "-W", "2", "172.16.0.1").returncode == 0
    assert lab3.run("exec", "shell/sh", "--", "sh", "-c", "exit 3", check=False).returncode == 3


def test_label_sets_and_removes_labels(lab3: Lab):
    lab3.apply(namespace_manifest("labels") + pod_manifest("labels", "p", node="node1"))
    assert lab3.run("label", "pod", "p", "-n", "labels", "color=blue", "tier=web").stdout.strip() == (
        "pod/p labeled"
    )
    assert lab3.pods("labels")["p"]["metadata"]["labels"] == {"pod": "p", "color": "blue", "tier": "web"}
    # as kubectl: a label that has another value changes only with --overwrite, else nothing changes
    refused = lab3.run("label", "po", "p", "-n", "labels", "color-", "tier=db", check=False)
    assert refused.returncode == 1
    assert "'tier' already has a value (web), and --overwrite is false" in refused.stderr
    assert lab3.pods("labels")["p"]["metadata"]["labels"] == {"pod": "p", "color": "blue", "tier": "web"}
    lab3.run("label", "po", "p", "-n", "labels", "color-", "tier=db", "--overwrite")
    assert lab3.pods("labels")["p"]["metadata"]["labels"] == {"pod": "p", "tier": "db"}
    assert "not labeled" in lab3.run("label", "pod", "p", "-n", "labels", "tier=db").stdout
    lab3.run("label", "namespace", "labels", "team=blue")
    namespace = lab3.json("get", "ns", "labels", "-o", "json")
    assert namespace["metadata"]["labels"]["team"] == "blue"
    bad = lab3.run("label", "pod", "p", "-n", "labels", "=x", check=False)
    assert bad.returncode == 1 and "invalid label" in bad.stderr
    # A re-apply keeps labels set with `label` and restores those the file sets.
    lab3.apply(namespace_manifest("labels") + pod_manifest("labels", "p", node="node1"))
    assert lab3.pods("labels")["p"]["metadata"]["labels"] == {"pod": "p", "tier": "db"}


def test_every_container_of_a_pod_runs_its_own_program_and_restarts_alone(lab3: Lab):
    """A pod of two containers: the pod server for an image the lab does not map, and Debian's
    redis-server for the redis image; both serve, each has its status, and the one that exits is
    started again without the other."""
    pod = textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: duo, namespace: duo}
        spec:
          nodeName: node2
          containers:
          - {name: web, image: lab, ports: [{containerPort: 80}]}
          - {name: cache, image: redis, ports: [{containerPort: 6379}]}
        """)
    lab3.apply(namespace_manifest("duo") + pod, "--wait")
    ip = lab3.pods("duo")["duo"]["status"]["podIP"]
    assert lab3.run("exec", "duo/duo", "--", "nc", "-w", "3", ip, "80").stdout.startswith("duo/duo")
    assert lab3.run("exec", "duo/duo", "--", "redis-cli", "-h", ip, "ping").stdout.strip() == "PONG"

    def statuses() -> dict[str, dict[str, object]]:
        return {c["name"]: c for c in lab3.pods("duo")["duo"]["status"]["containerStatuses"]}

    assert {name: (s["ready"], s["restartCount"]) for name, s in statuses().items()} == {
        "web": (True, 0),
        "cache": (True, 0),
    }
    lab3.run("exec", "duo/duo", "--", "redis-cli", "-h", ip, "shutdown", "nosave", check=False)
    deadline = time.monotonic() + 30
    while statuses()["cache"]["restartCount"] == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {name: s["restartCount"] for name, s in statuses().items()} == {"web": 0, "cache": 1}
    assert lab3.run("exec", "duo/duo", "--", "redis-cli", "-h", ip, "ping").stdout.strip() == "PONG"


def test_delete_stops_the_pod_and_removes_its_namespace(lab3: Lab):
    path = lab3.write(
        namespace_manifest("gone") + pod_manifest("gone", "x", node="node2") + pod_manifest("gone", "y")
    )
    lab3.run("apply", "-f", str(path), "--wait")
    before = set(lab3.namespaces())
    assert lab3.run("delete", "pod", "x", "-n", "gone").stdout.strip() == 'pod "x" deleted'
    assert list(lab3.pods("gone")) == ["y"]
    assert sorted(lab3.probe(80, "-n", "gone")) == ["gone/y"]
    missing = lab3.run("delete", "pod", "x", "-n", "gone", check=False)
    assert missing.returncode == 1 and 'pods "x" not found' in missing.stderr
    deleted = lab3.run("delete", "-f", str(path), check=False)
    assert 'pod "y" deleted' in deleted.stdout and 'namespace "gone" deleted' in deleted.stdout
    lab3.run("apply", "-f", str(lab3.write(namespace_manifest("probe-gone"))))
    # The kubelets remove both sandboxes: two pod namespaces fewer than before.
    for _ in range(100):
        if len(before - set(lab3.namespaces())) == 2:
            break
        lab3.run("get", "ns")
    assert len(before - set(lab3.namespaces())) == 2


def test_deployments_make_upstream_named_pods_spread_over_the_nodes(lab3: Lab):
    lab3.run("apply", "-f", str(GUESTBOOK), "--wait")
    pods = lab3.pods("development")
    assert len(pods) == 6
    frontends = [pod for name, pod in pods.items() if name.startswith("frontend-")]
    assert len(frontends) == 3
    for name in pods:
        assert re.fullmatch(rf"(frontend|redis-master|redis-slave)-{_SAFE}{{6,10}}-{_SAFE}{{5}}", name), name
    assert {pod["spec"]["nodeName"] for pod in frontends} == {"node1", "node2", "node3"}
    assert all(pod["metadata"]["labels"]["app"] == "guestbook" for pod in frontends)
    deployments = lab3.run("get", "deployments", "-n", "development").stdout.splitlines()
    assert [line.split()[:4] for line in deployments[1:]] == [
        ["frontend", "3/3", "3", "3"],
        ["redis-master", "1/1", "1", "1"],
        ["redis-slave", "2/2", "2", "2"],
    ]
    # before any policy, Redis answers everyone and the frontends refuse 6379: nothing is dropped
    verdicts = lab3.verdicts(6379, "-n", "development")
    for source, row in verdicts.items():
        for target, verdict in row.items():
            redis = target.startswith("development/redis-")
            assert verdict == ("reachable" if redis else "refused"), (source, target, verdict)

    # A deleted pod is replaced; scaling down removes pods; deleting the Deployment removes the rest.
    victim = frontends[0]["metadata"]["name"]
    lab3.run("delete", "pod", victim, "-n", "development")
    scaled = GUESTBOOK.read_text().replace("replicas: 3", "replicas: 1")
    lab3.apply(scaled, "--wait")
    remaining = [name for name in lab3.pods("development") if name.startswith("frontend-")]
    assert len(remaining) == 1 and victim not in remaining
    lab3.run("delete", "deployment", "frontend", "redis-slave", "-n", "development")
    for _ in range(100):
        if all(name.startswith("redis-master-") for name in lab3.pods("development")):
            break
    assert [name.split("-")[1] for name in lab3.pods("development")] == ["master"]
    lab3.run("delete", "namespace", "development")


def test_errors_name_what_is_wrong(lab3: Lab):
    unknown = lab3.run("get", "widgets", check=False)
    assert unknown.returncode == 1 and 'resource type "widgets"' in unknown.stderr
    bad_yaml = lab3.apply("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: 1\n", check=False)
    assert bad_yaml.returncode == 1 and re.search(r"manifest-\d+\.yaml:5:\d+: invalid YAML", bad_yaml.stderr)
    widget = lab3.apply(
        namespace_manifest("oops") + "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n", check=False
    )
    assert widget.returncode == 1 and re.search(r"manifest-\d+\.yaml:7: no kind \"Widget\"", widget.stderr)
    assert "created" not in widget.stdout  # nothing of a bad file is applied
    nameless = lab3.apply("apiVersion: v1\nkind: Pod\nmetadata: {}\n", check=False)
    assert nameless.returncode == 1 and "has no metadata.name" in nameless.stderr
    no_slash = lab3.run("exec", "podname", "--", "true", check=False)
    assert no_slash.returncode == 1 and "NAMESPACE/POD" in no_slash.stderr
    no_pod = lab3.run("exec", "default/none", "--", "true", check=False)
    assert no_pod.returncode == 1 and 'pods "none" not found' in no_pod.stderr


def test_a_pod_that_cannot_start_fails_apply_wait_with_the_reason(lab3: Lab):
    two_containers_one_port = """\
        apiVersion: v1
        kind: Pod
        metadata: {name: clash, namespace: broken}
        spec:
          nodeName: node2
          containers:
          - {name: one, image: lab, ports: [{containerPort: 8080}]}
          - {name: two, image: lab, ports: [{containerPort: 8080}]}
        """
    manifest = namespace_manifest("broken") + textwrap.dedent(two_containers_one_port)
    failed = lab3.apply(manifest, "--wait", "--timeout", "60", check=False)
    assert failed.returncode == 1
    assert "pod broken/clash: failed to start on node2: ServerFailed" in failed.stderr
    assert "8080/TCP" in failed.stderr and "in use" in failed.stderr
    row = lab3.run("get", "pods", "-n", "broken").stdout.splitlines()[1].split()
    assert row[:3] == ["clash", "0/2", "Error"]


@pytest.mark.parametrize("command", [["up"], ["down"], ["status"], ["apply"], ["delete"], ["label"], ["get"],
                                     ["exec"], ["probe"]])  # fmt: skip
def test_every_command_has_help(lab3: Lab, command: list[str]):
    done = lab3.run(*command, "--help")
    assert done.stdout.startswith("usage: pyantctl lab")


def test_a_policy_is_stored_shown_and_reported_by_the_controller(lab3: Lab):
    """A policy that selects no pod needs no node: the controller reports it Realized at once."""
    policy = """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-all, namespace: quiet}
        spec:
          podSelector: {}
          policyTypes: [Ingress]
        """
    applied = lab3.apply(namespace_manifest("quiet") + textwrap.dedent(policy), "--wait")
    assert "networkpolicy.networking.k8s.io/deny-all created" in applied.stdout
    assert "1 networkpolicy ready" in applied.stdout
    row = lab3.run("get", "netpol", "-n", "quiet").stdout.splitlines()[1].split()
    assert row[:2] == ["deny-all", "<none>"]
    stored = lab3.json("get", "networkpolicy", "deny-all", "-n", "quiet", "-o", "json")
    assert stored["spec"]["policyTypes"] == ["Ingress"]
    realization = json.loads(stored["metadata"]["annotations"]["pyantrea.io/realization"])
    assert realization["phase"] == "Realized" and realization["desiredNodesRealized"] == 0
    assert "status" not in stored  # Kubernetes' NetworkPolicy has none


def test_a_cluster_policy_gets_its_realization_in_its_status(lab3: Lab):
    """A ClusterNetworkPolicy (the upstream CRD the lab installs) selecting no pod: Realized on
    0/0 nodes, written as the Realized condition of its status, which kubectl shows."""
    policy = """\
        apiVersion: policy.networking.k8s.io/v1beta1
        kind: ClusterNetworkPolicy
        metadata: {name: nobody}
        spec:
          tier: Admin
          priority: 1
          subject:
            pods:
              namespaceSelector: {}
              podSelector: {matchLabels: {selects: nothing}}
          ingress:
          - {action: Deny, from: [{namespaces: {}}]}
        """
    applied = lab3.apply(textwrap.dedent(policy), "--wait")
    assert "1 clusternetworkpolicy ready" in applied.stdout
    shown = kubectl(lab3, "get", "clusternetworkpolicy", "nobody").stdout.splitlines()
    assert shown[0].split()[:3] == ["NAME", "TIER", "PRIORITY"] and shown[1].split()[:3] == [
        "nobody",
        "Admin",
        "1",
    ]
    stored = json.loads(kubectl(lab3, "get", "cnp", "nobody", "-o", "json").stdout)
    (realized,) = [c for c in stored["status"]["conditions"] if c["type"] == "Realized"]
    assert (realized["status"], realized["message"]) == ("True", "Realized on 0/0 nodes (generation 1)")
    lab3.run("delete", "clusternetworkpolicy", "nobody")


def test_kubectl_works_against_the_lab(lab3: Lab):
    version = json.loads(kubectl(lab3, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == binaries.kubernetes_version()
    lab3.apply(namespace_manifest("kc") + pod_manifest("kc", "a", node="node2"), "--wait")
    wide = kubectl(lab3, "get", "pods", "-A", "-o", "wide").stdout.splitlines()
    row = next(line.split() for line in wide if line.split()[:2] == ["kc", "a"])
    assert row[3] == "Running" and row[7] == "node2" and row[6].startswith("172.16.1.")
    policy = """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: only-a, namespace: kc}
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress]
        """
    applied = kubectl(lab3, "apply", "-f", str(lab3.write(policy)))
    assert "networkpolicy.networking.k8s.io/only-a created" in applied.stdout
    # the controller's realization, in the policy's description (its annotations) and as Events
    deadline = time.monotonic() + 30
    while "Realized on 1/1 nodes" not in (
        described := kubectl(lab3, "describe", "networkpolicy", "only-a", "-n", "kc").stdout
    ):
        assert time.monotonic() < deadline, described
        time.sleep(0.5)
    assert "pyantrea.io/realized: Realized on 1/1 nodes (generation 1)" in described
    events = kubectl(lab3, "events", "-n", "kc", "--for", "networkpolicy/only-a").stdout
    assert "Realized on 1/1 nodes" in events


@pytest.mark.parametrize(
    ("account", "allowed", "denied"),
    [
        ("pyantrea-agent", [("list", "nodes"), ("watch", "nodes"), ("list", "pods"),
                            ("create", "tokenreviews"), ("create", "subjectaccessreviews")],
         [("get", "secrets"), ("list", "networkpolicies"), ("create", "pods")]),
        ("pyantrea-controller", [("watch", "networkpolicies"), ("patch", "networkpolicies"),
                                 ("create", "events"), ("create", "tokenreviews")],
         [("get", "secrets"), ("delete", "pods"), ("update", "nodes")]),
    ],
)  # fmt: skip
def test_the_service_accounts_may_do_what_they_need_and_no_more(lab3: Lab, account, allowed, denied):
    user = f"system:serviceaccount:kube-system:{account}"
    for verb, resource in allowed:
        answer = kubectl(
            lab3, "auth", "can-i", verb, resource, "-A", "--as", user, check=False
        ).stdout.strip()
        assert answer == "yes", (account, verb, resource)
    for verb, resource in denied:
        answer = kubectl(lab3, "auth", "can-i", verb, resource, "-n", "default", "--as", user, check=False)
        assert answer.stdout.strip() == "no", (account, verb, resource)


def test_pyantctl_reads_an_agent_with_a_token_the_agent_reviews_and_authorizes(lab3: Lab):
    """`pyantctl get flows` from the host: a token of ServiceAccount kube-system/pyantctl through
    the lab's admin kubeconfig; node3's agent reviews it (TokenReview) and asks whether it may read
    (SubjectAccessReview), both with the agent's own ServiceAccount, which the audit below sees."""
    done = subprocess.run(
        [str(PYANTCTL), "get", "flows", "--node", "node3", "--table", "0", "-o", "json"], env=lab3.environ,
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=True,
    )  # fmt: skip
    assert {flow["tableName"] for flow in json.loads(done.stdout)} == {"Classifier"}


def test_the_release_manifest_applies_to_the_lab_api_server(lab3: Lab):
    """manifests/pyantrea.yml as a cluster operator applies it: a server-side dry run passes
    the real API server's validation and admission."""
    manifest = Path(__file__).parents[2] / "manifests" / "pyantrea.yml"
    done = kubectl(lab3, "apply", "--dry-run=server", "-f", str(manifest))
    assert "daemonset.apps/pyantrea-agent created (server dry run)" in done.stdout
    assert "deployment.apps/pyantrea-controller created (server dry run)" in done.stdout


def test_rbac_is_what_the_programs_asked_for_in_this_whole_run(lab3: Lab):
    """Last in this module: after everything the tests above did on the lab, the API server's
    audit log holds every request the agents and the controller made with their ServiceAccounts.
    The manifest's roles allowed each of them (none was refused), and every grant was used."""
    manifest = list(
        yaml.safe_load_all((Path(__file__).parents[2] / "manifests" / "pyantrea.yml").read_text())
    )
    log = (lab3.directory / "kubernetes" / "audit.log").read_text().splitlines()
    requests: dict[str, list[ApiRequest]] = {}
    for request, code in audit_log_requests(log, "system:serviceaccount:kube-system:pyantrea-"):
        assert code != 403, describe(request)
        requests.setdefault(request.user or "", []).append(request)
    for account in ("pyantrea-agent", "pyantrea-controller"):
        user = service_account("kube-system", account)
        found = audit(grants_of(manifest, user), requests.get(user, []))
        assert [describe(r) for r in found.refused] == [], account
        assert [str(g) for g in found.unused] == [], account
