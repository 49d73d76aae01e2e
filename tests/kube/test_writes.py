"""pyantrea_kube.writes: status, label and annotation merge patches issued from the event loop."""

from __future__ import annotations

import asyncio

from pyantrea_kube.resources import NAMESPACES, NETWORK_POLICIES, PODS
from pyantrea_kube.rest import RestClient
from pyantrea_kube.writes import patch_status, set_annotations, set_labels
from tests.kubecluster import wait_for_default_account


def test_pod_status_as_a_kubelet_writes_it(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    wait_for_default_account(rest, "shop")
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "main", "image": "lab"}]}}
    rest.create(PODS, "shop", pod)
    status = {"phase": "Running", "podIP": "172.16.0.5", "podIPs": [{"ip": "172.16.0.5"}]}
    stored = asyncio.run(patch_status(rest, PODS, "shop", "web", status))
    assert stored["status"]["phase"] == "Running"
    assert rest.get(PODS, "shop", "web")["status"]["podIPs"] == [{"ip": "172.16.0.5"}]


def test_network_policy_annotation(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
    rest.create(NETWORK_POLICIES, "shop", {"metadata": {"name": "deny"}, "spec": {"podSelector": {}}})
    asyncio.run(set_annotations(rest, NETWORK_POLICIES, "shop", "deny", {"pyantrea.io/realization": "2/2"}))
    policy = rest.get(NETWORK_POLICIES, "shop", "deny")
    assert policy["metadata"]["annotations"] == {"pyantrea.io/realization": "2/2"}
    assert policy["metadata"]["generation"] == 1  # an annotation is no change of the spec


def test_labels_set_and_removed(rest: RestClient):
    rest.create(NAMESPACES, None, {"metadata": {"name": "shop", "labels": {"team": "a", "env": "dev"}}})
    stored = asyncio.run(set_labels(rest, NAMESPACES, None, "shop", {"team": "b", "env": None}))
    assert stored["metadata"]["labels"] == {"team": "b", "kubernetes.io/metadata.name": "shop"}
