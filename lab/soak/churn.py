"""The soak's churn: a seeded, pure plan of changes to the soak's own objects.

`Churn(random.Random(seed), nodes)` keeps a model of what the soak made (pods, Deployments,
NetworkPolicies, Services, ClusterNetworkPolicies, the labels of its namespaces) and `next()`
returns one change and applies it to the model: create, edit or delete a NetworkPolicy; create
or delete a pod; relabel a pod or a namespace; create, scale or delete a Deployment; create, edit
(selector, ports) or delete a ClusterIP Service; create, edit or delete a ClusterNetworkPolicy
(Admin or Baseline tier, Accept, Deny and Pass rules). The same seed and nodes give the same
changes. Every pod serves TCP 80, named `http`, which the soak probes, directly and through the
Services' ports (8080, 8081: target 80 or `http`); policies name port 80, `http`, 81, a range
around 80 or UDP 80, so they allow and deny the probes in every way the APIs can.

ClusterNetworkPolicies are cluster-wide: the soak's are named `soak-cnp<n>`, labelled
`soak=yes`, and select only pods of the soak's namespaces (whose label `soak=yes` stays); within a
tier no two of them share a priority, for the API leaves the order of equal priorities open.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

NAMESPACES = ("soak-a", "soak-b")
TEAMS = {"soak-a": "a", "soak-b": "b"}
APPS = ("web", "db", "cache")
TIERS = ("front", "back")
CLUSTER_CIDR = "172.16.0.0/16"
MAX_PODS = 8
MAX_DEPLOYMENTS = 2
MAX_POLICIES = 6
MAX_REPLICAS = 3
MAX_SERVICES = 3
MAX_CLUSTER_POLICIES = 4
CLUSTER_POLICY_PREFIX = "soak-cnp"
PRIORITIES = range(40)

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One change to apply: `apply` a whole object (server-side apply), `delete` one, or
    `label` (a merge patch of `labels`, None removing a key)."""

    verb: str
    kind: str
    namespace: str | None
    name: str
    body: Json | None = None
    labels: dict[str, str | None] | None = None

    @property
    def title(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.verb} {self.kind} {where}{self.name}"


@dataclass
class Model:
    pods: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], tuple[dict[str, str], int]] = field(default_factory=dict)
    policies: dict[tuple[str, str], Json] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    services: dict[tuple[str, str], Json] = field(default_factory=dict)
    cluster_policies: dict[str, Json] = field(default_factory=dict)


def namespace_body(name: str, labels: dict[str, str]) -> Json:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod_body(namespace: str, name: str, labels: dict[str, str], node: str) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"nodeName": node, "containers": [_container()]},
    }


def deployment_body(namespace: str, name: str, labels: dict[str, str], replicas: int) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"deploy": name}},
            "template": {
                "metadata": {"labels": {"deploy": name, **labels}},
                "spec": {"containers": [_container()]},
            },
        },
    }


def _container() -> Json:
    return {"name": "server", "image": "lab", "ports": [{"containerPort": 80, "name": "http"}]}


class Churn:
    """The seeded plan. `setup()` gives the changes that make the soak's namespaces; `next()` one
    more change each call."""

    def __init__(self, rng: random.Random, nodes: list[str]) -> None:
        if not nodes:
            raise ValueError("the soak needs at least one node")
        self._rng = rng
        self._nodes = list(nodes)
        self._serial = 0
        self.model = Model()

    def setup(self) -> list[Change]:
        changes = []
        for namespace in NAMESPACES:
            labels = {"team": TEAMS[namespace], "soak": "yes"}
            self.model.namespace_labels[namespace] = dict(labels)
            changes.append(Change("apply", "Namespace", None, namespace, namespace_body(namespace, labels)))
        for _ in range(3):
            changes.append(self._create_pod())
        return changes

    def next(self) -> Change:
        model, rng = self.model, self._rng
        choices: list[tuple[int, Any]] = [
            (3 if len(model.policies) < MAX_POLICIES else 0, self._create_policy),
            (3 if model.policies else 0, self._edit_policy),
            (1 if model.policies else 0, self._delete_policy),
            (2 if len(model.pods) < MAX_PODS else 0, self._create_pod),
            (1 if len(model.pods) > 2 else 0, self._delete_pod),
            (2 if model.pods else 0, self._relabel_pod),
            (1, self._relabel_namespace),
            (1 if len(model.deployments) < MAX_DEPLOYMENTS else 0, self._create_deployment),
            (2 if model.deployments else 0, self._scale_deployment),
            (1 if model.deployments else 0, self._delete_deployment),
            (2 if len(model.services) < MAX_SERVICES else 0, self._create_service),
            (2 if model.services else 0, self._edit_service),
            (1 if model.services else 0, self._delete_service),
            (2 if len(model.cluster_policies) < MAX_CLUSTER_POLICIES else 0, self._create_cluster_policy),
            (2 if model.cluster_policies else 0, self._edit_cluster_policy),
            (1 if model.cluster_policies else 0, self._delete_cluster_policy),
        ]
        weights = [weight for weight, _ in choices]
        (_, make) = rng.choices(choices, weights=weights)[0]
        return make()

    # -- pods and Deployments -------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial}"

    def _labels(self) -> dict[str, str]:
        return {"app": self._rng.choice(APPS), "tier": self._rng.choice(TIERS)}

    def _create_pod(self) -> Change:
        namespace, name = self._rng.choice(NAMESPACES), self._name("p")
        labels = self._labels()
        self.model.pods[namespace, name] = labels
        body = pod_body(namespace, name, labels, self._rng.choice(self._nodes))
        return Change("apply", "Pod", namespace, name, body)

    def _delete_pod(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.pods))
        del self.model.pods[namespace, name]
        return Change("delete", "Pod", namespace, name)

    def _relabel_pod(self) -> Change:
        key = self._rng.choice(sorted(self.model.pods))
        labels = self.model.pods[key]
        which = self._rng.choice(("app", "tier"))
        patch: dict[str, str | None]
        if which in labels and self._rng.random() < 0.25:
            patch = {which: None}
            del labels[which]
        else:
            value = self._rng.choice(APPS if which == "app" else TIERS)
            patch = {which: value}
            labels[which] = value
        return Change("label", "Pod", key[0], key[1], labels=patch)

    def _relabel_namespace(self) -> Change:
        namespace = self._rng.choice(NAMESPACES)
        labels = self.model.namespace_labels[namespace]
        if "team" in labels and self._rng.random() < 0.3:
            del labels["team"]
            return Change("label", "Namespace", None, namespace, labels={"team": None})
        labels["team"] = self._rng.choice(("a", "b"))
        return Change("label", "Namespace", None, namespace, labels={"team": labels["team"]})

    def _create_deployment(self) -> Change:
        namespace, name = self._rng.choice(NAMESPACES), self._name("d")
        labels, replicas = self._labels(), self._rng.randint(1, MAX_REPLICAS)
        self.model.deployments[namespace, name] = (labels, replicas)
        return Change(
            "apply", "Deployment", namespace, name, deployment_body(namespace, name, labels, replicas)
        )

    def _scale_deployment(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.deployments))
        labels, _ = self.model.deployments[namespace, name]
        replicas = self._rng.randint(0, MAX_REPLICAS)
        self.model.deployments[namespace, name] = (labels, replicas)
        return Change(
            "apply", "Deployment", namespace, name, deployment_body(namespace, name, labels, replicas)
        )

    def _delete_deployment(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.deployments))
        del self.model.deployments[namespace, name]
        return Change("delete", "Deployment", namespace, name)

    # -- NetworkPolicies ------------------------------------------------------------------------

    def _create_policy(self) -> Change:
        namespace, name = self._rng.choice(NAMESPACES), self._name("np")
        return self._policy(namespace, name)

    def _edit_policy(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.policies))
        return self._policy(namespace, name)

    def _delete_policy(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.policies))
        del self.model.policies[namespace, name]
        return Change("delete", "NetworkPolicy", namespace, name)

    def _policy(self, namespace: str, name: str) -> Change:
        rng = self._rng
        types = rng.choice((["Ingress"], ["Egress"], ["Ingress", "Egress"]))
        spec: Json = {"podSelector": self._selector(), "policyTypes": types}
        for direction, peers in (("Ingress", "from"), ("Egress", "to")):
            if direction in types:
                spec[direction.lower()] = [self._rule(peers) for _ in range(rng.randint(0, 2))]
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
        self.model.policies[namespace, name] = body
        return Change("apply", "NetworkPolicy", namespace, name, body)

    def _selector(self) -> Json:
        rng = self._rng
        shape = rng.randrange(4)
        if shape == 0:
            return {}
        if shape == 1:
            return {"matchLabels": {"app": rng.choice(APPS)}}
        if shape == 2:
            return {"matchExpressions": [{"key": "tier", "operator": "In", "values": [rng.choice(TIERS)]}]}
        operator = rng.choice(("NotIn", "Exists", "DoesNotExist"))
        expression: Json = {"key": "app", "operator": operator}
        if operator == "NotIn":
            expression["values"] = [rng.choice(APPS)]
        return {"matchExpressions": [expression]}

    def _rule(self, peers_key: str) -> Json:
        rng = self._rng
        rule: Json = {}
        if rng.random() < 0.8:
            rule[peers_key] = [self._peer() for _ in range(rng.randint(1, 2))]
        ports = self._ports()
        if ports is not None:
            rule["ports"] = ports
        return rule

    def _peer(self) -> Json:
        rng = self._rng
        shape = rng.randrange(4)
        if shape == 0:
            return {"podSelector": self._selector()}
        namespaces = rng.choice(({}, {"matchLabels": {"team": rng.choice(("a", "b"))}}))
        if shape == 1:
            return {"namespaceSelector": namespaces}
        if shape == 2:
            return {"namespaceSelector": namespaces, "podSelector": self._selector()}
        subnet = rng.randrange(3)
        return {"ipBlock": {"cidr": CLUSTER_CIDR, "except": [f"172.16.{subnet}.0/24"]}}

    def _ports(self) -> list[Json] | None:
        rng = self._rng
        shape = rng.randrange(6)
        if shape == 0:
            return None
        return [
            [{"port": 80}],
            [{"port": "http"}],
            [{"port": 81}],
            [{"port": 79, "endPort": 81}],
            [{"port": 80, "protocol": "UDP"}],
        ][shape - 1]

    # -- Services -------------------------------------------------------------------------------

    def _create_service(self) -> Change:
        namespace, name = self._rng.choice(NAMESPACES), self._name("s")
        return self._service(namespace, name)

    def _edit_service(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.services))
        return self._service(namespace, name)

    def _delete_service(self) -> Change:
        namespace, name = self._rng.choice(sorted(self.model.services))
        del self.model.services[namespace, name]
        return Change("delete", "Service", namespace, name)

    def _service(self, namespace: str, name: str) -> Change:
        rng = self._rng
        deployments = sorted(d for ns, d in self.model.deployments if ns == namespace)
        shape = rng.randrange(4 if deployments else 3)
        selector = [
            {"app": rng.choice(APPS)},
            {"tier": rng.choice(TIERS)},
            {"app": rng.choice(APPS), "tier": rng.choice(TIERS)},
            {"deploy": rng.choice(deployments) if deployments else ""},
        ][shape]
        ports = [
            [{"name": "web", "port": 8080, "targetPort": 80}],
            [{"name": "web", "port": 8080, "targetPort": "http"}],
            [
                {"name": "web", "port": 8080, "targetPort": 80},
                {"name": "alt", "port": 8081, "targetPort": "http"},
            ],
            [{"name": "alt", "port": 8081, "targetPort": 80}],
        ][rng.randrange(4)]
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{**port, "protocol": "TCP"} for port in ports],
            },
        }
        self.model.services[namespace, name] = body
        return Change("apply", "Service", namespace, name, body)

    # -- ClusterNetworkPolicies -----------------------------------------------------------------

    def _create_cluster_policy(self) -> Change:
        self._serial += 1
        return self._cluster_policy(f"{CLUSTER_POLICY_PREFIX}{self._serial}")

    def _edit_cluster_policy(self) -> Change:
        return self._cluster_policy(self._rng.choice(sorted(self.model.cluster_policies)))

    def _delete_cluster_policy(self) -> Change:
        name = self._rng.choice(sorted(self.model.cluster_policies))
        del self.model.cluster_policies[name]
        return Change("delete", "ClusterNetworkPolicy", None, name)

    def _cluster_policy(self, name: str) -> Change:
        rng = self._rng
        tier = rng.choice(("Admin", "Baseline"))
        taken = {
            body["spec"]["priority"]
            for other, body in self.model.cluster_policies.items()
            if other != name and body["spec"]["tier"] == tier
        }
        priority = rng.choice([p for p in PRIORITIES if p not in taken])
        soak = {"soak": "yes"}
        subject = [
            {"namespaces": {"matchLabels": soak}},
            {"namespaces": {"matchLabels": {**soak, "team": rng.choice(("a", "b"))}}},
            {"pods": {"namespaceSelector": {"matchLabels": soak}, "podSelector": self._selector()}},
        ][rng.randrange(3)]
        spec: Json = {"tier": tier, "priority": priority, "subject": subject}
        directions = rng.choice((["ingress"], ["egress"], ["ingress", "egress"]))
        for direction in directions:
            spec[direction] = [
                self._cluster_rule(direction, index) for index in range(1, rng.randint(1, 3) + 1)
            ]
        body = {
            "apiVersion": "policy.networking.k8s.io/v1beta1",
            "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name, "labels": soak},
            "spec": spec,
        }
        self.model.cluster_policies[name] = body
        return Change("apply", "ClusterNetworkPolicy", None, name, body)

    def _cluster_rule(self, direction: str, index: int) -> Json:
        rng = self._rng
        peers = [self._cluster_peer(direction) for _ in range(rng.randint(1, 2))]
        rule: Json = {
            "name": f"r{index}",
            "action": rng.choice(("Accept", "Deny", "Pass")),
            ("from" if direction == "ingress" else "to"): peers,
        }
        addresses = any("networks" in peer or "nodes" in peer for peer in peers)
        shape = rng.randrange(6)
        protocols = [
            None,
            [{"tcp": {"destinationPort": {"number": 80}}}],
            [{"tcp": {"destinationPort": {"number": 81}}}],
            [{"tcp": {"destinationPort": {"range": {"start": 79, "end": 81}}}}],
            [{"udp": {"destinationPort": {"number": 80}}}],
            None if addresses else [{"destinationNamedPort": "http"}],  # the API allows no name there
        ][shape]
        if protocols is not None:
            rule["protocols"] = protocols
        return rule

    def _cluster_peer(self, direction: str) -> Json:
        rng = self._rng
        namespaces = rng.choice(({}, {"matchLabels": {"team": rng.choice(("a", "b"))}}))
        shape = rng.randrange(2 if direction == "ingress" else 4)
        if shape == 0:
            return {"namespaces": namespaces}
        if shape == 1:
            return {"pods": {"namespaceSelector": namespaces, "podSelector": self._selector()}}
        if shape == 2:
            return {"networks": [rng.choice((CLUSTER_CIDR, f"172.16.{rng.randrange(3)}.0/24"))]}
        return {"nodes": {}}
