"""The lab's API stand-in through the official `kubernetes` client's generated API classes:
CRUD, selectors, conflicts, generation, status, patches as kubectl sends them, namespace
deletion, defaults, discovery and authentication."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, dynamic
from kubernetes.client import ApiException

from kube.config import load_api_client
from lab.apiserver import ApiServerSettings, ApiServerThread


@pytest.fixture
def server() -> Iterator[ApiServerThread]:
    with ApiServerThread(ApiServerSettings(token="t0ken", service_cidr="10.96.0.0/28")) as running:
        yield running


@pytest.fixture
def api(server: ApiServerThread, tmp_path: Path) -> Iterator[client.ApiClient]:
    api_client = load_api_client(server.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "shop"}})
    return core


@pytest.fixture
def networking(api: client.ApiClient) -> client.NetworkingV1Api:
    return client.NetworkingV1Api(api)


def pod_body(name: str, node: str = "node-1", **labels: str) -> dict:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "main", "image": "lab", "ports": [{"containerPort": 80}]}],
        },
    }


def status_of(error: pytest.ExceptionInfo[ApiException]) -> dict:
    return json.loads(error.value.body)


def test_new_cluster_has_the_system_namespaces_labelled(api: client.ApiClient):
    namespaces = client.CoreV1Api(api).list_namespace().items
    assert {ns.metadata.name for ns in namespaces} == {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }
    for ns in namespaces:
        assert ns.metadata.labels == {"kubernetes.io/metadata.name": ns.metadata.name}
        assert ns.status.phase == "Active"


def test_pod_lifecycle(core: client.CoreV1Api):
    created = core.create_namespaced_pod("shop", pod_body("web", app="web"))
    assert created.metadata.uid
    assert created.metadata.creation_timestamp is not None
    assert created.metadata.generation == 1
    assert created.status.phase == "Pending"
    assert created.spec.containers[0].ports[0].protocol == "TCP"

    read = core.read_namespaced_pod("web", "shop")
    assert read.metadata.resource_version == created.metadata.resource_version

    read.metadata.labels["tier"] = "front"
    replaced = core.replace_namespaced_pod("web", "shop", read)
    assert replaced.metadata.labels == {"app": "web", "tier": "front"}
    assert replaced.metadata.uid == created.metadata.uid
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    deleted = core.delete_namespaced_pod("web", "shop")
    assert deleted.metadata.name == "web"
    assert core.list_namespaced_pod("shop").items == []


def test_resource_versions_are_cluster_wide_and_increasing(
    core: client.CoreV1Api, networking: client.NetworkingV1Api
):
    first = int(core.create_namespaced_pod("shop", pod_body("a")).metadata.resource_version)
    second = int(
        networking.create_namespaced_network_policy(
            "shop", {"metadata": {"name": "p"}, "spec": {}}
        ).metadata.resource_version
    )
    third = int(core.create_node({"metadata": {"name": "node-1"}}).metadata.resource_version)
    assert first < second < third
    assert int(core.list_pod_for_all_namespaces().metadata.resource_version) == third


def test_errors_are_status_objects(core: client.CoreV1Api):
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "shop")
    assert missing.value.status == 404
    assert status_of(missing) | {"details": None} == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": None,
    }
    assert status_of(missing)["details"] == {"name": "nope", "kind": "pods"}

    core.create_namespaced_pod("shop", pod_body("web"))
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_pod("shop", pod_body("web"))
    assert (exists.value.status, status_of(exists)["reason"]) == (409, "AlreadyExists")

    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_pod("elsewhere", pod_body("web"))
    assert status_of(no_namespace)["message"] == 'namespaces "elsewhere" not found'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            {"metadata": {"name": "Web_1"}, "spec": {"containers": [{"name": "c"}]}},
            "metadata.name",
            id="name",
        ),
        pytest.param(
            {
                "metadata": {"name": "web", "labels": {"app": "not valid!"}},
                "spec": {"containers": [{"name": "c"}]},
            },
            "metadata.labels",
            id="label-value",
        ),
        pytest.param(
            {"metadata": {"name": "web", "labels": {"-bad": "x"}}, "spec": {"containers": [{"name": "c"}]}},
            "metadata.labels",
            id="label-key",
        ),
        pytest.param(
            {"metadata": {"name": "web"}, "spec": {"containers": []}}, "spec.containers", id="no-containers"
        ),
    ],
)
def test_invalid_objects_are_422(core: client.CoreV1Api, body: dict, field: str):
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_pod("shop", body)
    assert invalid.value.status == 422
    status = status_of(invalid)
    assert status["reason"] == "Invalid"
    assert field in [cause["field"] for cause in status["details"]["causes"]]


def test_stale_update_conflicts(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("web"))
    stale = core.read_namespaced_pod("web", "shop")
    core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"v": "1"}}})
    stale.metadata.labels = {"v": "0"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_pod("web", "shop", stale)
    assert conflict.value.status == 409
    assert status_of(conflict)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(conflict)["message"]
    # Without a resourceVersion, an update is unconditional.
    stale.metadata.resource_version = None
    assert core.replace_namespaced_pod("web", "shop", stale).metadata.labels == {"v": "0"}


def test_delete_preconditions(core: client.CoreV1Api):
    created = core.create_namespaced_pod("shop", pod_body("web"))
    with pytest.raises(ApiException) as conflict:
        core.delete_namespaced_pod("web", "shop", body={"preconditions": {"uid": "someone-else"}})
    assert conflict.value.status == 409
    core.delete_namespaced_pod("web", "shop", body={"preconditions": {"uid": created.metadata.uid}})


def test_generation_follows_spec_changes_only(core: client.CoreV1Api, networking: client.NetworkingV1Api):
    policy = {"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}}
    assert networking.create_namespaced_network_policy("shop", policy).metadata.generation == 1
    labelled = networking.patch_namespaced_network_policy(
        "web", "shop", {"metadata": {"labels": {"team": "a"}}}
    )
    assert labelled.metadata.generation == 1
    changed = networking.patch_namespaced_network_policy("web", "shop", {"spec": {"ingress": [{}]}})
    assert changed.metadata.generation == 2
    assert changed.spec.policy_types == ["Ingress"]


def test_status_subresource_separates_status_from_the_rest(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("web", app="web"))
    through_status = core.patch_namespaced_pod_status(
        "web",
        "shop",
        {"metadata": {"labels": {"sneaky": "yes"}}, "status": {"phase": "Running", "podIP": "172.16.0.5"}},
    )
    assert through_status.status.phase == "Running"
    assert through_status.metadata.labels == {"app": "web"}
    through_main = core.patch_namespaced_pod(
        "web", "shop", {"status": {"phase": "Failed"}, "metadata": {"labels": {"v": "2"}}}
    )
    assert through_main.status.phase == "Running"
    assert through_main.metadata.labels == {"app": "web", "v": "2"}

    core.create_node({"metadata": {"name": "node-1"}, "spec": {"podCIDR": "172.16.1.0/24"}})
    node = core.patch_node_status(
        "node-1",
        {
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.77.1"}],
            }
        },
    )
    assert node.status.conditions[0].type == "Ready"
    assert node.spec.pod_cidr == "172.16.1.0/24"


def test_network_policy_status_subresource(
    api: client.ApiClient, core: client.CoreV1Api, networking: client.NetworkingV1Api
):
    """The generated client has no NetworkPolicy status method (upstream dropped the field);
    the stand-in still serves `/status` for pyantrea's realization reports."""
    networking.create_namespaced_network_policy("shop", {"metadata": {"name": "deny"}, "spec": {}})
    path = "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/deny/status"
    request = api.param_serialize(
        "PATCH",
        path,
        header_params={"Content-Type": "application/merge-patch+json"},
        body={"status": {"phase": "Realized"}, "spec": {"policyTypes": ["Egress"]}},
        auth_settings=["BearerToken"],
    )
    response = api.call_api(*request)
    assert response.status == 200
    stored = json.loads(response.read())
    assert stored["status"] == {"phase": "Realized"}
    assert stored["spec"]["policyTypes"] == ["Ingress"]


def test_kubectl_label_merge_patch(api: client.ApiClient, core: client.CoreV1Api):
    """`kubectl label pod web tier=front app-` sends a JSON merge patch with null for removal."""
    core.create_namespaced_pod("shop", pod_body("web", app="web"))
    patched = core.patch_namespaced_pod(
        "web",
        "shop",
        {"metadata": {"labels": {"tier": "front", "app": None}}},
        _content_type="application/merge-patch+json",
    )
    assert patched.metadata.labels == {"tier": "front"}


def test_strategic_merge_patch_merges_lists_by_key(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("web"))
    patched = core.patch_namespaced_pod(
        "web",
        "shop",
        {
            "spec": {
                "containers": [{"name": "main", "image": "lab:2"}, {"name": "sidecar", "image": "helper"}]
            }
        },
    )
    containers = {c.name: c for c in patched.spec.containers}
    assert containers["main"].image == "lab:2"
    assert containers["main"].ports[0].container_port == 80
    assert containers["sidecar"].image == "helper"
    status = core.patch_namespaced_pod_status(
        "web",
        "shop",
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False"},
                    {"type": "PodScheduled", "status": "True"},
                ]
            }
        },
    )
    status = core.patch_namespaced_pod_status(
        "web", "shop", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert {(c.type, c.status) for c in status.status.conditions} == {
        ("Ready", "True"),
        ("PodScheduled", "True"),
    }


def test_json_patch(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("web", app="web"))
    patched = core.patch_namespaced_pod(
        "web",
        "shop",
        [
            {"op": "test", "path": "/metadata/labels/app", "value": "web"},
            {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
        ],
    )
    assert patched.metadata.labels == {"app": "web", "tier": "front"}
    with pytest.raises(ApiException) as failed:
        core.patch_namespaced_pod(
            "web", "shop", [{"op": "test", "path": "/metadata/labels/app", "value": "db"}]
        )
    assert failed.value.status == 422


def test_a_patch_that_changes_nothing_commits_nothing(core: client.CoreV1Api):
    created = core.create_namespaced_pod("shop", pod_body("web", app="web"))
    same = core.patch_namespaced_pod("web", "shop", {"metadata": {"labels": {"app": "web"}}})
    assert same.metadata.resource_version == created.metadata.resource_version


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", {"a", "b"}),
        ("app==web,tier=front", {"a"}),
        ("app!=web", {"c", "d"}),
        ("app in (web, db)", {"a", "b", "c"}),
        ("app notin (web)", {"c", "d"}),
        ("tier", {"a", "c"}),
        ("!tier", {"b", "d"}),
        ("", {"a", "b", "c", "d"}),
    ],
)
def test_label_selectors(core: client.CoreV1Api, selector: str, expected: set[str]):
    core.create_namespaced_pod("shop", pod_body("a", app="web", tier="front"))
    core.create_namespaced_pod("shop", pod_body("b", app="web"))
    core.create_namespaced_pod("shop", pod_body("c", app="db", tier="back"))
    core.create_namespaced_pod("shop", pod_body("d"))
    pods = core.list_namespaced_pod("shop", label_selector=selector).items
    assert {p.metadata.name for p in pods} == expected


def test_field_selectors(core: client.CoreV1Api):
    core.create_namespace({"metadata": {"name": "office"}})
    core.create_namespaced_pod("shop", pod_body("a", node="node-1"))
    core.create_namespaced_pod("shop", pod_body("b", node="node-2"))
    core.create_namespaced_pod("office", pod_body("a", node="node-2"))
    on_node_2 = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-2").items
    assert {(p.metadata.namespace, p.metadata.name) for p in on_node_2} == {("shop", "b"), ("office", "a")}
    named_a = core.list_pod_for_all_namespaces(field_selector="metadata.name=a,spec.nodeName!=node-1").items
    assert [(p.metadata.namespace, p.metadata.name) for p in named_a] == [("office", "a")]
    in_shop = core.list_pod_for_all_namespaces(field_selector="metadata.namespace=shop").items
    assert {p.metadata.name for p in in_shop} == {"a", "b"}
    assert len(core.list_pod_for_all_namespaces(field_selector="spec.hostNetwork=false").items) == 3
    with pytest.raises(ApiException) as unsupported:
        core.list_pod_for_all_namespaces(field_selector="spec.schedulerGroup=x")
    assert unsupported.value.status == 400
    assert "field label not supported" in status_of(unsupported)["message"]


def test_bad_label_selector_is_400(core: client.CoreV1Api):
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod("shop", label_selector="app in web")
    assert bad.value.status == 400


def test_deleting_a_namespace_deletes_its_objects(core: client.CoreV1Api, networking: client.NetworkingV1Api):
    core.create_namespace({"metadata": {"name": "office"}})
    core.create_namespaced_pod("shop", pod_body("a"))
    core.create_namespaced_pod("office", pod_body("b"))
    networking.create_namespaced_network_policy("shop", {"metadata": {"name": "deny"}, "spec": {}})
    core.create_namespaced_service("shop", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}})
    deleted = core.delete_namespace("shop")
    assert deleted["status"]["phase"] == "Terminating"
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == ["b"]
    assert networking.list_network_policy_for_all_namespaces().items == []
    assert core.list_service_for_all_namespaces().items == []
    with pytest.raises(ApiException) as gone:
        core.read_namespace("shop")
    assert gone.value.status == 404


def test_namespace_label_cannot_be_removed(core: client.CoreV1Api):
    patched = core.patch_namespace(
        "shop", {"metadata": {"labels": {"kubernetes.io/metadata.name": None, "team": "a"}}}
    )
    assert patched.metadata.labels == {"kubernetes.io/metadata.name": "shop", "team": "a"}


def test_services_get_cluster_ips(core: client.CoreV1Api):
    first = core.create_namespaced_service(
        "shop", {"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}}
    )
    second = core.create_namespaced_service(
        "shop", {"metadata": {"name": "b"}, "spec": {"ports": [{"port": 53, "protocol": "UDP"}]}}
    )
    assert first.spec.cluster_ip == "10.96.0.2"
    assert second.spec.cluster_ip == "10.96.0.3"
    assert first.spec.ports[0].protocol == "TCP"
    assert first.spec.ports[0].target_port == 80
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_service(
            "shop", {"metadata": {"name": "c"}, "spec": {"clusterIP": "10.96.0.2", "ports": [{"port": 80}]}}
        )
    assert taken.value.status == 422
    kept = core.patch_namespaced_service("a", "shop", {"metadata": {"labels": {"x": "y"}}})
    assert kept.spec.cluster_ip == "10.96.0.2"
    core.create_namespaced_endpoints(
        "shop",
        {
            "metadata": {"name": "a"},
            "subsets": [{"addresses": [{"ip": "172.16.0.5"}], "ports": [{"port": 80}]}],
        },
    )
    assert core.read_namespaced_endpoints("a", "shop").subsets[0].ports[0].protocol == "TCP"


def test_generate_name(core: client.CoreV1Api):
    created = core.create_namespaced_pod(
        "shop", {"metadata": {"generateName": "web-"}, "spec": {"containers": [{"name": "main"}]}}
    )
    assert created.metadata.name.startswith("web-")
    assert len(created.metadata.name) == len("web-") + 5


def test_delete_collection(core: client.CoreV1Api):
    core.create_namespaced_pod("shop", pod_body("a", app="web"))
    core.create_namespaced_pod("shop", pod_body("b", app="db"))
    core.delete_collection_namespaced_pod("shop", label_selector="app=web")
    assert [p.metadata.name for p in core.list_namespaced_pod("shop").items] == ["b"]


def test_discovery_serves_the_dynamic_client(api: client.ApiClient, core: client.CoreV1Api):
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")
    resources = dynamic.DynamicClient(api).resources
    pods = resources.get(api_version="v1", kind="Pod")
    assert pods.namespaced
    policies = resources.get(api_version="networking.k8s.io/v1", kind="NetworkPolicy")
    policies.create(body={"metadata": {"name": "deny"}, "spec": {}}, namespace="shop")
    assert [item.metadata.name for item in policies.get(namespace="shop").items] == ["deny"]
    nodes = resources.get(api_version="v1", kind="Node")
    assert not nodes.namespaced


def test_token_is_required(server: ApiServerThread, tmp_path: Path):
    path = server.write_kubeconfig(tmp_path / "kubeconfig")
    path.write_text(path.read_text().replace("t0ken", "wrong"))
    api = load_api_client(path)
    try:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(api).list_namespace()
        assert refused.value.status == 401
        # Health and version stay public, as upstream.
        assert client.VersionApi(api).get_code().major == "1"
    finally:
        api.close()


def test_unknown_paths_are_404(api: client.ApiClient):
    for path in ("/api/v1/widgets", "/apis/apps/v1/replicasets", "/api/v1/pods/web", "/api/v1/nodes/n/exec"):
        request = api.param_serialize("GET", path, auth_settings=["BearerToken"])
        response = api.call_api(*request)
        assert response.status == 404, path
