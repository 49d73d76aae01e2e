"""Converters from the Kubernetes JSON form: what they keep, and errors that name the bad field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controlplane.compute.inputs import InvalidNetworkPolicy, PodPhase
from controlplane.compute.kubeparse import (
    InvalidObjectError,
    namespace_from_k8s,
    network_policy_from_k8s,
    network_policy_or_invalid,
    node_from_k8s,
    pod_from_k8s,
)
from controlplane.compute.labels import Operator
from pyantrea_api.objects import Direction, NamedPort, Protocol
from tests.controlplane import k8s


def test_pod_keeps_what_the_computation_needs():
    obj = k8s.pod(
        "prod",
        "web",
        {"app": "web", "a": "b"},
        node="n1",
        ip="10.0.0.7",
        ports=[
            {"name": "http", "containerPort": 8080},
            {"containerPort": 9},
            {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        ],
    )
    obj["status"]["podIPs"].append({"ip": "fd00::7"})
    pod = pod_from_k8s(obj)
    assert (pod.namespace, pod.name, pod.node_name, pod.host_network, pod.phase) == (
        "prod",
        "web",
        "n1",
        False,
        PodPhase.RUNNING,
    )
    assert pod.labels == (("a", "b"), ("app", "web"))
    assert pod.ips == (bytes([10, 0, 0, 7]), bytes.fromhex("fd00" + "00" * 13 + "07"))
    assert pod.ports == (NamedPort("http", 8080, Protocol.TCP), NamedPort("dns", 53, Protocol.UDP))
    assert pod.is_group_member


def test_pod_with_only_pod_ip_and_defaults():
    pod = pod_from_k8s({"metadata": {"namespace": "a", "name": "b"}, "status": {"podIP": "10.1.1.1"}})
    assert pod.ips == (bytes([10, 1, 1, 1]),)
    assert pod.phase is PodPhase.PENDING
    assert pod.node_name == ""
    assert not pod.is_group_member


def test_namespace_and_node():
    assert namespace_from_k8s(k8s.namespace("prod", env="prod")).labels == (("env", "prod"),)
    assert node_from_k8s(k8s.node("n1")).name == "n1"


def test_policy_defaults_and_selectors():
    policy = network_policy_from_k8s(
        k8s.policy(
            "prod",
            "p",
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["b", "a", "a"]}],
            },
            egress=[{"to": [{"namespaceSelector": {}}]}],
            uid="u",
            generation=3,
        )
    )
    assert (policy.uid, policy.generation) == ("u", 3)
    assert policy.policy_types == {Direction.IN, Direction.OUT}
    assert policy.pod_selector.text == "app=web,tier notin (a,b)"
    assert [r.operator for r in policy.pod_selector.requirements] == [Operator.IN, Operator.NOT_IN]
    (rule,) = policy.egress
    (peer,) = rule.peers
    assert peer.namespace_selector is not None and peer.namespace_selector.text == ""
    assert peer.pod_selector is not None and peer.pod_selector.text == ""


def test_equivalent_selectors_have_one_text():
    a = network_policy_from_k8s(k8s.policy("n", "a", {"matchLabels": {"x": "1", "y": "2"}}))
    b = network_policy_from_k8s(
        k8s.policy(
            "n",
            "b",
            {
                "matchExpressions": [
                    {"key": "y", "operator": "In", "values": ["2"]},
                    {"key": "x", "operator": "In", "values": ["1"]},
                ]
            },
        )
    )
    assert a.pod_selector == b.pod_selector
    assert a.pod_selector.text == "x=1,y=2"


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `obj` with the dotted `path` (list indexes as numbers) set to `value`."""
    obj = copy.deepcopy(obj)
    *parents, last = path.split(".")
    target: Any = obj
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return obj


POLICY = k8s.policy(
    "prod",
    "p",
    {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
    ingress=[
        {
            "from": [{"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
            "ports": [{"port": 80}],
        }
    ],
)
POD = k8s.pod("prod", "web", ports=[{"name": "http", "containerPort": 80}])

BAD_POLICIES = [
    (
        "spec.ingress.0.from.1.ipBlock.cidr",
        "10.0.0.0/33",
        "spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR '10.0.0.0/33'",
    ),
    ("spec.ingress.0.from.1.ipBlock.cidr", "10.0.0.1", "no prefix length"),
    (
        "spec.ingress.0.from.1.ipBlock.except",
        ["11.0.0.0/16"],
        "spec.ingress[0].from[1].ipBlock.except[0]: '11.0.0.0/16' is not a strict subset",
    ),
    ("spec.ingress.0.from.1.ipBlock.except", ["10.0.0.0/8"], "is not a strict subset"),
    ("spec.ingress.0.from.1.ipBlock.except", ["fd00::/64"], "is not a strict subset"),
    ("spec.ingress.0.from.1.podSelector", {}, "spec.ingress[0].from[1].ipBlock: may not be combined"),
    (
        "spec.ingress.0.from.0",
        {},
        "spec.ingress[0].from[0]: must set podSelector, namespaceSelector or ipBlock",
    ),
    (
        "spec.podSelector.matchExpressions.0.operator",
        "Like",
        "spec.podSelector.matchExpressions[0].operator: unknown operator 'Like'",
    ),
    ("spec.podSelector.matchExpressions.0.values", [], "must not be empty for operator In"),
    (
        "spec.podSelector.matchExpressions.0",
        {"key": "a", "operator": "Exists", "values": ["x"]},
        "must be empty for operator Exists",
    ),
    ("spec.podSelector.matchLabels", {"a": 1}, "spec.podSelector.matchLabels.a: expected str, got 1"),
    ("spec.ingress.0.ports.0.port", 0, "spec.ingress[0].ports[0].port: port 0 out of range 1-65535"),
    ("spec.ingress.0.ports.0.port", 65536, "port 65536 out of range"),
    ("spec.ingress.0.ports.0.port", "HTTP", "invalid port name 'HTTP'"),
    ("spec.ingress.0.ports.0.port", "80", "invalid port name '80'"),
    ("spec.ingress.0.ports.0.port", "a-very-long-port-name", "invalid port name"),
    (
        "spec.ingress.0.ports.0.protocol",
        "ICMP",
        "spec.ingress[0].ports[0].protocol: unsupported protocol 'ICMP'",
    ),
    (
        "spec.ingress.0.ports.0",
        {"port": "http", "endPort": 90},
        "spec.ingress[0].ports[0].endPort: needs a numeric port",
    ),
    ("spec.ingress.0.ports.0", {"port": 90, "endPort": 80}, "end port 80 must be between port 90 and 65535"),
    ("spec.ingress.0.ports.0", {"port": 90, "endPort": 70000}, "end port 70000 must be between"),
    ("spec.policyTypes", ["Ingress", "Sideways"], "spec.policyTypes[1]: unknown policy type 'Sideways'"),
    ("spec.ingress", {"from": []}, "spec.ingress: expected list"),
    ("spec.ingress.0", "x", "spec.ingress[0]: expected an object"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), BAD_POLICIES, ids=[f"{p}={v!r}" for p, v, _ in BAD_POLICIES]
)
def test_bad_policy_fields_are_named(path, value, message):
    obj = _with(POLICY, path, value)
    with pytest.raises(InvalidObjectError, match=r"^NetworkPolicy prod/p: ") as error:
        network_policy_from_k8s(obj)
    assert message in str(error.value)
    invalid = network_policy_or_invalid(obj)
    assert isinstance(invalid, InvalidNetworkPolicy)
    assert (invalid.namespace, invalid.name, invalid.uid) == ("prod", "p", "uid-prod-p")
    assert message in invalid.error


def test_policy_without_identity_cannot_be_reported():
    obj = _with(POLICY, "metadata", {"namespace": "prod"})
    with pytest.raises(InvalidObjectError, match=r"metadata\.name: is required"):
        network_policy_or_invalid(obj)


BAD_PODS = [
    (
        "status.podIPs",
        [{"ip": "10.0.0.300"}],
        "Pod prod/web: status.podIPs[0].ip: invalid IP address '10.0.0.300'",
    ),
    ("status.phase", "Sleeping", "status.phase: unknown phase 'Sleeping'"),
    (
        "spec.containers.0.ports.0.containerPort",
        70000,
        "spec.containers[0].ports[0].containerPort: port 70000 out of range",
    ),
    ("spec.containers.0.ports.0.protocol", "ICMP", "unsupported protocol 'ICMP'"),
    ("spec.hostNetwork", "yes", "spec.hostNetwork: expected bool"),
    ("metadata.labels", {"b": 2}, "metadata.labels.b: expected str, got 2"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_PODS, ids=[p for p, _, _ in BAD_PODS])
def test_bad_pod_fields_are_named(path, value, message):
    with pytest.raises(InvalidObjectError) as error:
        pod_from_k8s(_with(POD, path, value))
    assert message in str(error.value)


def test_not_an_object():
    with pytest.raises(InvalidObjectError, match=r"Namespace \?: \(object\): expected an object, got list"):
        namespace_from_k8s([])  # type: ignore[arg-type]
