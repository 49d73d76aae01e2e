"""apps/v1 Deployments in the API stand-in (the lab's Deployment controller makes their pods):
served and discovered, defaulted, validated as upstream, with a `/status` subresource."""

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
def api(tmp_path: Path) -> Iterator[client.ApiClient]:
    with ApiServerThread(ApiServerSettings()) as server:
        api_client = load_api_client(server.write_kubeconfig(tmp_path / "kubeconfig"))
        try:
            yield api_client
        finally:
            api_client.close()


def deployment(name: str = "frontend", *, selector: dict | None = None, **spec: object) -> dict:
    labels = {"app": "guestbook", "tier": "frontend"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels} if selector is None else selector,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "php-redis", "image": "gb", "ports": [{"containerPort": 80}]}]
                },
            },
            **spec,
        },
    }


def test_a_deployment_is_stored_with_upstream_defaults_and_status(api):
    apps = client.AppsV1Api(api)
    created = api.sanitize_for_serialization(apps.create_namespaced_deployment("default", deployment()))
    assert created["spec"]["replicas"] == 1
    assert created["spec"]["strategy"]["type"] == "RollingUpdate"
    assert created["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert created["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] == "TCP"
    assert created["metadata"]["generation"] == 1
    apps.patch_namespaced_deployment_status("frontend", "default", {"status": {"readyReplicas": 1}})
    scaled = apps.patch_namespaced_deployment("frontend", "default", {"spec": {"replicas": 3}})
    assert scaled.spec.replicas == 3
    assert scaled.metadata.generation == 2
    assert scaled.status.ready_replicas == 1


def test_deployments_are_discovered_with_their_short_name(api):
    resource = dynamic.DynamicClient(api).resources.get(api_version="apps/v1", kind="Deployment")
    assert resource.namespaced
    assert "deploy" in resource.short_names


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (deployment(selector={}), "spec.selector"),
        (deployment(selector={"matchLabels": {"app": "other"}}), "spec.template.metadata.labels"),
        (
            deployment(selector={"matchExpressions": [{"key": "app", "operator": "Near"}]}),
            "spec.selector",
        ),
        (deployment(replicas=-1), "spec.replicas"),
    ],
)
def test_invalid_deployments_are_refused_naming_the_field(api, body, field):
    with pytest.raises(ApiException) as error:
        client.AppsV1Api(api).create_namespaced_deployment("default", body)
    assert error.value.status == 422
    causes = json.loads(error.value.body)["details"]["causes"]
    assert field in [cause["field"] for cause in causes]
