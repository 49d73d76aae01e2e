"""Kubernetes RBAC over the manifest's objects: which requests a ServiceAccount may make, and which
of its rules some request used.

The semantics are the API server's RBAC authorizer's, for resource requests: a ClusterRoleBinding
grants its role everywhere; a RoleBinding grants its Role (or a ClusterRole) only in its own
namespace, and never on cluster-scoped resources. A rule matches when its apiGroups, resources
(`resource` or `resource/subresource`) and verbs contain the request's, or `*`; a rule with
resourceNames matches only requests naming one of them, which list, watch and create never do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One resource request as an authorizer sees it (an entry of the API server's audit log);
    `name` None for a collection."""

    user: str | None
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None


def audit_log_requests(lines: Iterable[str], user_prefix: str) -> list[tuple[ApiRequest, int]]:
    """The resource requests of users named `user_prefix...` in a kube-apiserver JSON audit
    log, each with the status code it got."""
    found = []
    for line in lines:
        entry = json.loads(line)
        user, ref = entry["user"]["username"], entry.get("objectRef")
        if not user.startswith(user_prefix) or ref is None:
            continue
        request = ApiRequest(
            user, entry["verb"], ref.get("apiGroup", ""), ref["resource"], ref.get("subresource"),
            ref.get("namespace"), ref.get("name"),
        )  # fmt: skip
        found.append((request, int(entry.get("responseStatus", {}).get("code", 0))))
    return found


@dataclass(frozen=True, slots=True)
class Grant:
    """One verb on one resource that a role's rule gives, where a binding makes it apply.

    `namespace` None: in every namespace and on cluster-scoped resources (a ClusterRoleBinding).
    """

    role: str
    verb: str
    group: str
    resource: str
    names: frozenset[str]
    namespace: str | None

    def allows(self, request: ApiRequest) -> bool:
        if self.namespace is not None and request.namespace != self.namespace:
            return False
        if self.names and request.name not in self.names:
            return False
        return (
            self.verb in ("*", request.verb)
            and self.group in ("*", request.group)
            and self.resource in ("*", _resource(request))
        )

    def __str__(self) -> str:
        resource = f"{self.group}/{self.resource}" if self.group else self.resource
        names = f" named {sorted(self.names)}" if self.names else ""
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {resource}{names}{where} ({self.role})"


def service_account(namespace: str, name: str) -> str:
    """The user name a ServiceAccount's token authenticates as."""
    return f"system:serviceaccount:{namespace}:{name}"


def grants_of(objects: Iterable[Mapping[str, Any]], user: str) -> list[Grant]:
    """Every grant the manifest's bindings give `user` (a ServiceAccount's user name)."""
    objects = list(objects)
    roles = {
        (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]): obj
        for obj in objects
        if obj["kind"] in ("Role", "ClusterRole")
    }
    grants = []
    for binding in objects:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(_subject_user(subject) == user for subject in binding.get("subjects", [])):
            continue
        ref = binding["roleRef"]
        binding_namespace = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        role_namespace = binding_namespace if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_namespace, ref["name"]))
        if role is None:
            raise ValueError(f"{binding['kind']} {binding['metadata']['name']} refers to a missing {ref}")
        label = f"{ref['kind']} {ref['name']}"
        for rule in role.get("rules", []):
            names = frozenset(rule.get("resourceNames", []))
            grants.extend(
                Grant(label, verb, group, resource, names, binding_namespace)
                for verb in rule.get("verbs", [])
                for group in rule.get("apiGroups", [])
                for resource in rule.get("resources", [])
            )
    return grants


def _subject_user(subject: Mapping[str, Any]) -> str | None:
    if subject.get("kind") != "ServiceAccount":
        return None
    return service_account(subject["namespace"], subject["name"])


@dataclass(frozen=True, slots=True)
class Audit:
    """How one identity's recorded requests compare with its grants."""

    refused: tuple[ApiRequest, ...]
    unused: tuple[Grant, ...]


def audit(grants: Iterable[Grant], requests: Iterable[ApiRequest]) -> Audit:
    """The requests no grant allows, and the grants no request used."""
    grants, requests = list(grants), list(requests)
    refused = tuple(request for request in requests if not any(grant.allows(request) for grant in grants))
    unused = tuple(grant for grant in grants if not any(grant.allows(request) for request in requests))
    return Audit(refused, unused)


def describe(request: ApiRequest) -> str:
    """A request as a refusal message shows it."""
    resource = _resource(request)
    qualified = f"{request.group}/{resource}" if request.group else resource
    where = f" in {request.namespace}" if request.namespace else ""
    name = f" {request.name}" if request.name else ""
    return f"{request.verb} {qualified}{name}{where}"


def _resource(request: ApiRequest) -> str:
    """The resource as rules name it: `pods`, or `networkpolicies/status` for a subresource."""
    return request.resource if request.subresource is None else f"{request.resource}/{request.subresource}"
