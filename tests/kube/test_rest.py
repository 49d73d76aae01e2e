"""pyantrea_kube.rest: raw-JSON calls through the official ApiClient against a real kube-apiserver."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException

from pyantrea_kube.resources import NAMESPACES, NETWORK_POLICIES, NODES, PODS
from pyantrea_kube.rest import PatchType, RestClient
from tests.kubecluster import wait_for_default_account


def pod(name: str, node: str = "node-1", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {"nodeName": node, "containers": [{"name": "main", "image": "lab"}]},
    }


@pytest.fixture
def namespace(rest: RestClient) -> str:
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    wait_for_default_account(rest, "shop")
    return "shop"


def test_create_get_replace_delete(rest: RestClient, namespace: str):
    created = rest.create(PODS, namespace, pod("web", app="web"))
    assert created["metadata"]["namespace"] == namespace
    fetched = rest.get(PODS, namespace, "web")
    assert fetched == created
    fetched["metadata"]["labels"]["tier"] = "front"
    replaced = rest.replace(PODS, namespace, "web", fetched)
    assert replaced["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert int(replaced["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    rest.delete(PODS, namespace, "web", body={"gracePeriodSeconds": 0})  # no kubelet confirms here
    with pytest.raises(ApiException) as error:
        rest.get(PODS, namespace, "web")
    assert error.value.status == 404


def test_list_with_selectors(rest: RestClient, namespace: str):
    rest.create(PODS, namespace, pod("a", node="node-1", app="web"))
    rest.create(PODS, namespace, pod("b", node="node-2", app="web"))
    rest.create(PODS, namespace, pod("c", node="node-2", app="db"))
    on_node_2 = rest.list(PODS, field_selector="spec.nodeName=node-2")
    assert sorted(item["metadata"]["name"] for item in on_node_2.items) == ["b", "c"]
    web_on_node_2 = rest.list(
        PODS, namespace=namespace, label_selector="app=web", field_selector="spec.nodeName=node-2"
    )
    assert [item["metadata"]["name"] for item in web_on_node_2.items] == ["b"]
    assert int(on_node_2.resource_version) >= 3


def test_patch_types(rest: RestClient, namespace: str):
    rest.create(PODS, namespace, pod("web", app="web", tier="front"))
    merged = rest.patch(PODS, namespace, "web", {"metadata": {"labels": {"tier": None, "v": "2"}}})
    assert merged["metadata"]["labels"] == {"app": "web", "v": "2"}
    # strategic: the containers merge by name (a pod may only change their images)
    strategic = rest.patch(
        PODS,
        namespace,
        "web",
        {"spec": {"containers": [{"name": "main", "image": "lab:2"}]}},
        patch_type=PatchType.STRATEGIC,
    )
    assert [(c["name"], c["image"]) for c in strategic["spec"]["containers"]] == [("main", "lab:2")]
    assert strategic["spec"]["containers"][0]["terminationMessagePath"]  # the defaults stay
    intent = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"by": "apply"}}}
    applied = rest.patch(
        PODS, namespace, "web", intent, patch_type=PatchType.APPLY, field_manager="test", force=True
    )
    assert applied["metadata"]["labels"]["by"] == "apply"
    assert any(entry["manager"] == "test" for entry in applied["metadata"]["managedFields"])
    json_patched = rest.patch(
        PODS,
        namespace,
        "web",
        [{"op": "replace", "path": "/metadata/labels/app", "value": "shop"}],
        patch_type=PatchType.JSON,
    )
    assert json_patched["metadata"]["labels"]["app"] == "shop"


def test_status_subresource(rest: RestClient, namespace: str):
    rest.create(NODES, None, {"metadata": {"name": "node-1"}})
    node = rest.patch(
        NODES,
        None,
        "node-1",
        {"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]}},
        subresource="status",
    )
    assert node["status"]["addresses"][0]["address"] == "10.0.0.1"
    # Kubernetes' NetworkPolicy has no status: its subresource is not found
    rest.create(NETWORK_POLICIES, namespace, {"metadata": {"name": "deny"}, "spec": {"podSelector": {}}})
    with pytest.raises(ApiException) as missing:
        rest.patch(NETWORK_POLICIES, namespace, "deny", {"status": {}}, subresource="status")
    assert missing.value.status == 404


def test_errors_are_the_clients_exceptions(rest: RestClient, namespace: str):
    rest.create(PODS, namespace, pod("web"))
    with pytest.raises(ApiException) as exists:
        rest.create(PODS, namespace, pod("web"))
    assert exists.value.status == 409
    assert '"reason":"AlreadyExists"' in exists.value.body
    with pytest.raises(ApiException) as invalid:
        rest.create(PODS, namespace, {"metadata": {"name": "Not_Valid"}, "spec": {"containers": []}})
    assert invalid.value.status == 422


def test_namespace_required_for_namespaced_objects(rest: RestClient):
    with pytest.raises(ValueError, match="namespaced"):
        rest.get(PODS, None, "web")
    with pytest.raises(ValueError, match="cluster-scoped"):
        rest.list(NODES, namespace="shop")
