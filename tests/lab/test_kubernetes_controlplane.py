"""The lab's Kubernetes control plane, real programs on loopback: versions, identities from the
lab's PKI, node IPAM, the scheduler, and the audit log the RBAC tests read."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.kubernetes import binaries
from tests.kubecluster import LoopbackCluster

NODE = "kcp-node"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    with LoopbackCluster(tmp_path_factory.mktemp("kcp"), nodes=[NODE]) as running:
        yield running


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(binaries.program("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        capture_output=True, text=True, timeout=60, check=check,
    )  # fmt: skip


def eventually(read, *, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while (value := read()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def test_kubectl_and_the_server_are_the_pinned_release(cluster):
    version = json.loads(kubectl(cluster.admin_kubeconfig, "version", "-o", "json").stdout)
    pinned = binaries.kubernetes_version()
    assert version["clientVersion"]["gitVersion"] == pinned
    assert version["serverVersion"]["gitVersion"] == pinned


def test_a_node_certificate_is_the_node_and_rbac_limits_it(cluster):
    who = kubectl(cluster.node_kubeconfig(NODE), "auth", "whoami", "-o", "json").stdout
    user = json.loads(who)["status"]["userInfo"]
    assert user["username"] == f"system:node:{NODE}" and "system:nodes" in user["groups"]
    denied = kubectl(cluster.node_kubeconfig(NODE), "get", "secrets", "-n", "kube-system", check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr


def test_node_ipam_gives_a_node_its_pod_subnet_and_the_scheduler_binds_pods(cluster, tmp_path):
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "LabKubelet", "message": "ready"}],
        },
    }  # fmt: skip
    (tmp_path / "node.json").write_text(json.dumps(node))
    kubectl(cluster.node_kubeconfig(NODE), "create", "-f", str(tmp_path / "node.json"))
    subnet = eventually(
        lambda: (
            kubectl(cluster.admin_kubeconfig, "get", "node", NODE, "-o", "jsonpath={.spec.podCIDR}").stdout
            or None
        )
    )
    assert subnet is not None and subnet.startswith("172.16.") and subnet.endswith(".0/24")
    kubectl(cluster.admin_kubeconfig, "create", "deployment", "web", "--image=lab", "--replicas=2")
    bound = eventually(
        lambda: (
            out
            if len(
                (
                    out := kubectl(
                        cluster.admin_kubeconfig, "get", "pods", "-o", "jsonpath={.items[*].spec.nodeName}"
                    ).stdout
                ).split()
            )
            == 2
            else None
        )
    )
    assert bound is not None and set(bound.split()) == {NODE}


def test_the_audit_log_records_who_did_what(cluster):
    kubectl(cluster.admin_kubeconfig, "get", "configmaps", "-n", "kube-system")
    events = [json.loads(line) for line in cluster.plane.audit_log.read_text().splitlines()]
    assert any(
        e["user"]["username"] == "kubernetes-admin"
        and e["verb"] == "list"
        and e["objectRef"].get("resource") == "configmaps"
        and e["objectRef"].get("namespace") == "kube-system"
        for e in events
        if "objectRef" in e
    )
