"""pyantrea_kube.objects: trimmed values cut from raw API objects, with the API's defaults for absent
fields."""

from __future__ import annotations

from pyantrea_kube.objects import (
    ContainerPort,
    Namespace,
    Node,
    Pod,
    object_key,
    trim_namespace,
    trim_node,
    trim_pod,
)


def test_trim_pod_keeps_what_pyantrea_reads():
    raw = {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "u1",
            "labels": {"app": "web"},
            "annotations": {"a": "b"},
        },
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "main", "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}]},
                {"name": "dns", "ports": [{"containerPort": 53, "protocol": "UDP"}]},
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": "172.16.0.5",
            "podIPs": [{"ip": "172.16.0.5"}, {"ip": "fd00::5"}],
        },
    }
    assert trim_pod(raw) == Pod(
        namespace="shop",
        name="web",
        uid="u1",
        labels={"app": "web"},
        node_name="node-1",
        host_network=False,
        pod_ips=("172.16.0.5", "fd00::5"),
        phase="Running",
        container_ports=(ContainerPort(80, "TCP", "http"), ContainerPort(53, "UDP", "")),
    )


def test_trim_pod_of_a_new_pod():
    raw = {
        "metadata": {"name": "new", "namespace": "shop"},
        "spec": {"hostNetwork": True, "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
    }
    pod = trim_pod(raw)
    assert (pod.node_name, pod.pod_ips, pod.phase, pod.host_network) == ("", (), "", True)
    assert pod.container_ports == (ContainerPort(8080, "TCP", ""),)


def test_trim_pod_falls_back_to_pod_ip():
    raw = {"metadata": {"name": "old", "namespace": "shop"}, "status": {"podIP": "10.1.1.1"}}
    assert trim_pod(raw).pod_ips == ("10.1.1.1",)


def test_trim_namespace_and_node():
    assert trim_namespace(
        {"metadata": {"name": "shop", "uid": "u", "labels": {"kubernetes.io/metadata.name": "shop"}}}
    ) == Namespace("shop", "u", {"kubernetes.io/metadata.name": "shop"})
    raw_node = {
        "metadata": {"name": "node-1", "uid": "n"},
        "spec": {"podCIDR": "172.16.1.0/24"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "node-1"},
                {"type": "InternalIP", "address": "192.168.77.1"},
            ]
        },
    }
    assert trim_node(raw_node) == Node("node-1", "n", {}, ("172.16.1.0/24",), ("192.168.77.1",))


def test_unchanged_fields_compare_equal():
    raw = {"metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}}}
    changed_elsewhere = {**raw, "metadata": {**raw["metadata"], "annotations": {"note": "x"}}}
    assert trim_pod(raw) == trim_pod(changed_elsewhere)


def test_object_key():
    assert object_key({"metadata": {"name": "web", "namespace": "shop"}}) == "shop/web"
    assert object_key({"metadata": {"name": "node-1"}}) == "node-1"
