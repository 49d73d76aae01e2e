"""kube.writes: status, label and annotation merge patches issued from the event loop."""

from __future__ import annotations

import asyncio

from kube.resources import NAMESPACES, NETWORK_POLICIES, PODS
from kube.rest import RestClient
from kube.writes import patch_status, set_annotations, set_labels


def test_pod_status_as_a_kubelet_writes_it(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    rest.create(PODS, "shop", {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "main"}]}})
    status = {"phase": "Running", "podIP": "172.16.0.5", "podIPs": [{"ip": "172.16.0.5"}]}
    stored = asyncio.run(patch_status(rest, PODS, "shop", "web", status))
    assert stored["status"]["phase"] == "Running"
    assert rest.get(PODS, "shop", "web")["status"]["podIPs"] == [{"ip": "172.16.0.5"}]


def test_network_policy_status_and_annotation(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    rest.create(NETWORK_POLICIES, "shop", {"metadata": {"name": "deny"}, "spec": {}})

    async def scenario() -> None:
        await patch_status(
            rest, NETWORK_POLICIES, "shop", "deny", {"observedGeneration": 1, "phase": "Realized"}
        )
        await set_annotations(rest, NETWORK_POLICIES, "shop", "deny", {"pyantrea.io/realization": "2/2"})

    asyncio.run(scenario())
    policy = rest.get(NETWORK_POLICIES, "shop", "deny")
    assert policy["status"] == {"observedGeneration": 1, "phase": "Realized"}
    assert policy["metadata"]["annotations"] == {"pyantrea.io/realization": "2/2"}
    assert policy["metadata"]["generation"] == 1


def test_labels_set_and_removed(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop", "labels": {"team": "a", "env": "dev"}}})
    stored = asyncio.run(set_labels(rest, NAMESPACES, None, "shop", {"team": "b", "env": None}))
    assert stored["metadata"]["labels"] == {"team": "b", "kubernetes.io/metadata.name": "shop"}
