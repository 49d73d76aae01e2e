"""The API stand-in's request observer: every resource call through the real client, recorded
with the verb an authorizer sees and the token that made it, also for resources the stand-in
does not serve; discovery is not recorded. And the path rules of kube-apiserver's RequestInfo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kubernetes.client import ApiException

from kube.config import load_api_client
from kube.resources import NAMESPACES, NETWORK_POLICIES, PODS, Resource
from kube.rest import RestClient
from lab.apiserver import ApiServerSettings, ApiServerThread
from lab.apiserver.audit import ApiRequest, resource_request
from lab.apiserver.kubeconfig import write_kubeconfig


def test_each_request_is_recorded_with_its_verb_resource_and_token(tmp_path: Path):
    seen: list[ApiRequest] = []
    lock = threading.Lock()

    def observe(request: ApiRequest) -> None:
        with lock:
            seen.append(request)

    policy = {
        "metadata": {"name": "deny"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    with ApiServerThread(ApiServerSettings(on_request=observe)) as server:
        api = load_api_client(write_kubeconfig(tmp_path / "kubeconfig", server.url, "agent-token"))
        try:
            rest = RestClient(api)
            rest.create(NAMESPACES, None, {"metadata": {"name": "shop"}})
            listing = rest.list(PODS, field_selector="spec.nodeName=node-1")
            stream = rest.watch(PODS, resource_version=listing.resource_version, timeout_seconds=1)
            try:
                list(stream)
            finally:
                stream.close()
            rest.create(NETWORK_POLICIES, "shop", policy)
            rest.get(NETWORK_POLICIES, "shop", "deny")
            rest.patch(NETWORK_POLICIES, "shop", "deny", {"status": {}}, subresource="status")
            stored = rest.get(NETWORK_POLICIES, "shop", "deny")
            rest.replace(NETWORK_POLICIES, "shop", "deny", stored)
            rest.delete(NETWORK_POLICIES, "shop", "deny")
            reviews = Resource("authentication.k8s.io", "v1", "tokenreviews", namespaced=False)
            with pytest.raises(ApiException) as unserved:
                rest.create(reviews, None, {"spec": {"token": "t"}})
            assert unserved.value.status == 404
            api.call_api(*api.param_serialize("GET", "/apis", auth_settings=["BearerToken"])).read()
        finally:
            api.close()

    summary = [(r.verb, r.group, r.resource, r.subresource, r.namespace, r.name) for r in seen]
    netpol = "networking.k8s.io"
    assert summary == [
        ("create", "", "namespaces", None, None, None),
        ("list", "", "pods", None, None, None),
        ("watch", "", "pods", None, None, None),
        ("create", netpol, "networkpolicies", None, "shop", None),
        ("get", netpol, "networkpolicies", None, "shop", "deny"),
        ("patch", netpol, "networkpolicies", "status", "shop", "deny"),
        ("get", netpol, "networkpolicies", None, "shop", "deny"),
        ("update", netpol, "networkpolicies", None, "shop", "deny"),
        ("delete", netpol, "networkpolicies", None, "shop", "deny"),
        ("create", "authentication.k8s.io", "tokenreviews", None, None, None),
    ]
    assert {r.user for r in seen} == {"agent-token"}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "namespaces/shop/pods", {}, ("list", "pods", None, "shop", None)),
        ("GET", "pods", {"watch": "true"}, ("watch", "pods", None, None, None)),
        ("GET", "namespaces", {}, ("list", "namespaces", None, None, None)),
        ("GET", "namespaces/shop", {}, ("get", "namespaces", None, "shop", "shop")),
        ("PUT", "namespaces/shop/finalize", {}, ("update", "namespaces", "finalize", "shop", "shop")),
        ("PATCH", "namespaces/shop/configmaps/ca", {}, ("patch", "configmaps", None, "shop", "ca")),
        ("PATCH", "nodes/n1/status", {}, ("patch", "nodes", "status", None, "n1")),
        ("DELETE", "namespaces/shop/pods", {}, ("deletecollection", "pods", None, "shop", None)),
        ("DELETE", "namespaces/shop/pods/web", {}, ("delete", "pods", None, "shop", "web")),
    ],
)
def test_paths_are_read_as_the_authorizer_reads_them(method, path, query, expected):
    request = resource_request(method, "", path.split("/"), query, "Bearer tok")
    assert request is not None
    assert (request.verb, request.resource, request.subresource, request.namespace, request.name) == expected
    assert request.user == "tok"


def test_discovery_and_tokenless_requests():
    assert resource_request("GET", "", [], {}, "") is None
    request = resource_request("GET", "", ["nodes"], {}, "Basic abc")
    assert request is not None and request.user is None
