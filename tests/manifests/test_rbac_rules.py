"""The RBAC evaluator the manifest checks rely on, against the authorizer's rules: binding scope,
subresources, resource names, wildcards, and which grants go unused. (What each program needs is
derived from the API server's audit log of a whole lab run: tests/e2e/test_cluster.py.)"""

from __future__ import annotations

import pytest

from tests.manifests.rbac import ApiRequest, audit, grants_of, service_account

USER = service_account("kube-system", "c")
SUBJECT = {"kind": "ServiceAccount", "name": "c", "namespace": "kube-system"}


def request(verb, resource, *, group="", subresource=None, namespace=None, name=None, user="t"):
    return ApiRequest(user, verb, group, resource, subresource, namespace, name)


def cluster_role(name, *rules):
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def role(name, namespace, *rules):
    return {"kind": "Role", "metadata": {"name": name, "namespace": namespace}, "rules": list(rules)}


def binding(kind, ref_kind, name, namespace=None, subjects=(SUBJECT,)):
    metadata = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": name},
        "subjects": list(subjects),
    }


def allowed(objects, req):
    return any(grant.allows(req) for grant in grants_of(objects, USER))


def test_a_cluster_role_binding_applies_everywhere_and_to_cluster_scoped_resources():
    objects = [
        cluster_role("r", {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["list"]}),
        binding("ClusterRoleBinding", "ClusterRole", "r"),
    ]
    assert allowed(objects, request("list", "pods"))
    assert allowed(objects, request("list", "pods", namespace="shop"))
    assert allowed(objects, request("list", "nodes"))
    assert not allowed(objects, request("watch", "nodes"))
    assert not allowed(objects, request("list", "networkpolicies", group="networking.k8s.io"))


def test_a_role_binding_applies_in_its_namespace_only_even_with_a_cluster_role():
    rule = {"apiGroups": [""], "resources": ["configmaps", "nodes"], "verbs": ["get"]}
    for objects in (
        [role("r", "kube-system", rule), binding("RoleBinding", "Role", "r", "kube-system")],
        [cluster_role("r", rule), binding("RoleBinding", "ClusterRole", "r", "kube-system")],
    ):
        assert allowed(objects, request("get", "configmaps", namespace="kube-system", name="x"))
        assert not allowed(objects, request("get", "configmaps", namespace="default", name="x"))
        assert not allowed(objects, request("get", "configmaps", name="x"))  # across namespaces
        assert not allowed(objects, request("get", "nodes", name="n1"))  # cluster-scoped


def test_subresources_are_separate_resources():
    objects = [
        cluster_role(
            "r",
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies/status"], "verbs": ["patch"]},
        ),
        binding("ClusterRoleBinding", "ClusterRole", "r"),
    ]
    status = request(
        "patch", "networkpolicies", group="networking.k8s.io", subresource="status", namespace="a", name="p"
    )
    assert allowed(objects, status)
    assert not allowed(objects, request("patch", "networkpolicies", group="networking.k8s.io", name="p"))


def test_resource_names_match_named_requests_only():
    objects = [
        role(
            "r",
            "ns",
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["ca"], "verbs": ["*"]},
        ),
        binding("RoleBinding", "Role", "r", "ns"),
    ]
    assert allowed(objects, request("update", "configmaps", namespace="ns", name="ca"))
    assert not allowed(objects, request("update", "configmaps", namespace="ns", name="other"))
    assert not allowed(objects, request("create", "configmaps", namespace="ns"))
    assert not allowed(objects, request("list", "configmaps", namespace="ns"))


def test_only_the_bound_subjects_get_the_grants():
    other = {"kind": "ServiceAccount", "name": "someone-else", "namespace": "kube-system"}
    objects = [
        cluster_role("r", {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        binding("ClusterRoleBinding", "ClusterRole", "r", subjects=[other]),
    ]
    assert grants_of(objects, USER) == []


def test_a_binding_to_a_missing_role_is_an_error():
    with pytest.raises(ValueError, match="missing"):
        grants_of([binding("ClusterRoleBinding", "ClusterRole", "nowhere")], USER)


def test_audit_names_refused_requests_and_unused_grants():
    objects = [
        cluster_role("r", {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list", "watch"]}),
        binding("ClusterRoleBinding", "ClusterRole", "r"),
    ]
    seen = [request("list", "nodes"), request("watch", "nodes"), request("get", "nodes", name="n1")]
    result = audit(grants_of(objects, USER), seen)
    assert result.refused == (seen[2],)
    assert sorted(str(grant) for grant in result.unused) == [
        "list pods (ClusterRole r)",
        "watch pods (ClusterRole r)",
    ]


def test_pyantctl_has_no_rights_while_it_makes_no_api_calls(manifest):
    # pyantctl talks to the controller's JSON API, not to Kubernetes: its account is bound to nothing.
    assert grants_of(manifest, service_account("kube-system", "pyantctl")) == []
