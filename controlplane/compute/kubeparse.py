"""Converters from the Kubernetes JSON form (camelCase dicts, as `kubectl get -o json` prints)
to the typed inputs of `controlplane.compute.inputs`.

Every converter raises `InvalidObjectError` naming the object, the field path and the bad value.
`network_policy_or_invalid` turns a policy the computation cannot use into an
`InvalidNetworkPolicy`, so one bad policy is reported while every other keeps working.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from controlplane.compute.inputs import (
    ClusterNetworkPolicy,
    ClusterPolicyPeer,
    ClusterPolicyRule,
    InvalidClusterNetworkPolicy,
    InvalidNetworkPolicy,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PodPhase,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from controlplane.compute.labels import EVERYTHING, Labels, LabelSelector, Operator, Requirement, make_labels
from pyantrea_api.domainnames import DomainNameError
from pyantrea_api.domainnames import normalize as normalize_domain_name
from pyantrea_api.ipnet import parse_cidr, parse_ip
from pyantrea_api.objects import Direction, IPBlock, NamedPort, Protocol, RuleAction, Tier

_PORT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _is_mapping(value: object) -> bool:
    # Decoded JSON objects are dicts: the exact type check spares the slow ABC check (a listed
    # cluster runs it millions of times); other mappings still pass.
    return type(value) is dict or isinstance(value, Mapping)


class InvalidObjectError(ValueError):
    """A Kubernetes object has a field the computation cannot use."""

    def __init__(self, kind: str, key: str, field: str, reason: str) -> None:
        super().__init__(f"{kind} {key}: {field}: {reason}")
        self.kind = kind
        self.key = key
        self.field = field
        self.reason = reason


class _Fields:
    """Reads one object, raising errors that name the object and the field path."""

    def __init__(self, kind: str, obj: Any) -> None:
        self.kind = kind
        self.key = "?"
        if not _is_mapping(obj):
            self.fail("", f"expected an object, got {type(obj).__name__}")
        meta = obj.get("metadata")
        if _is_mapping(meta):
            namespace, name = meta.get("namespace"), meta.get("name")
            self.key = f"{namespace}/{name}" if namespace else str(name)

    def fail(self, path: str, reason: str) -> NoReturn:
        raise InvalidObjectError(self.kind, self.key, path or "(object)", reason)

    def get(self, obj: Mapping[str, Any], key: str, path: str, kind: type, default: Any) -> Any:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"{path}.{key}" if path else key, f"expected {kind.__name__}, got {value!r}")
        return value

    def map(self, obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        return self.get(obj, key, path, dict, {})

    def list(self, obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
        return self.get(obj, key, path, list, [])

    def string(self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
        value = self.get(obj, key, path, str, "")
        if required and not value:
            self.fail(f"{path}.{key}" if path else key, "is required")
        return value

    def labels(self, meta: Mapping[str, Any], path: str) -> Labels:
        labels = self.map(meta, "labels", path)
        for key, value in labels.items():
            if not isinstance(value, str):
                self.fail(f"{path}.labels.{key}", f"expected str, got {value!r}")
        return make_labels(labels)


def namespace_from_k8s(obj: Mapping[str, Any]) -> Namespace:
    """A Namespace from its JSON form."""
    f = _Fields("Namespace", obj)
    meta = f.map(obj, "metadata", "")
    return Namespace(f.string(meta, "name", "metadata", required=True), f.labels(meta, "metadata"))


_NODE_ADDRESS_TYPES = frozenset({"InternalIP", "ExternalIP"})


def node_from_k8s(obj: Mapping[str, Any]) -> Node:
    """A Node from its JSON form: name, labels, and its IP addresses (`status.addresses`)."""
    f = _Fields("Node", obj)
    meta = f.map(obj, "metadata", "")
    status = f.map(obj, "status", "")
    ips = []
    for i, address in _entries(f, status, "addresses", "status"):
        if f.string(address, "type", f"status.addresses[{i}]") not in _NODE_ADDRESS_TYPES:
            continue
        try:
            ip = parse_ip(f.string(address, "address", f"status.addresses[{i}]", required=True))
        except ValueError as error:
            f.fail(f"status.addresses[{i}].address", str(error))
        if ip not in ips:
            ips.append(ip)
    return Node(f.string(meta, "name", "metadata", required=True), f.labels(meta, "metadata"), tuple(ips))


def pod_from_k8s(obj: Mapping[str, Any]) -> Pod:
    """A Pod from its JSON form: identity, labels, node, hostNetwork, phase, IPs, named ports."""
    f = _Fields("Pod", obj)
    meta = f.map(obj, "metadata", "")
    spec = f.map(obj, "spec", "")
    status = f.map(obj, "status", "")
    phase_text = f.string(status, "phase", "status") or PodPhase.PENDING.value
    try:
        phase = PodPhase(phase_text)
    except ValueError:
        f.fail("status.phase", f"unknown phase {phase_text!r}")
    texts = [
        f.string(entry, "ip", f"status.podIPs[{i}]") for i, entry in _entries(f, status, "podIPs", "status")
    ]
    if not texts and status.get("podIP"):
        texts = [f.string(status, "podIP", "status")]
    ips = []
    for i, text in enumerate(texts):
        try:
            ips.append(parse_ip(text))
        except ValueError as error:
            f.fail(f"status.podIPs[{i}].ip", str(error))
    ports = []
    for c, container in _entries(f, spec, "containers", "spec"):
        for p, port in _entries(f, container, "ports", f"spec.containers[{c}]"):
            path = f"spec.containers[{c}].ports[{p}]"
            name = f.string(port, "name", path)
            if name:
                number = f.get(port, "containerPort", path, int, 0)
                if not 1 <= number <= 65535:
                    f.fail(f"{path}.containerPort", f"port {number} out of range 1-65535")
                ports.append(NamedPort(name, number, _protocol(f, port, path)))
    return Pod(
        # Interned: a hundred thousand pods share a few thousand namespace and node names.
        namespace=sys.intern(f.string(meta, "namespace", "metadata", required=True)),
        name=f.string(meta, "name", "metadata", required=True),
        labels=f.labels(meta, "metadata"),
        node_name=sys.intern(f.string(spec, "nodeName", "spec")),
        host_network=f.get(spec, "hostNetwork", "spec", bool, False),
        phase=phase,
        ips=tuple(ips),
        ports=tuple(ports),
    )


def network_policy_from_k8s(obj: Mapping[str, Any]) -> NetworkPolicy:
    """A networking.k8s.io/v1 NetworkPolicy from its JSON form, with policyTypes defaults."""
    f = _Fields("NetworkPolicy", obj)
    meta = f.map(obj, "metadata", "")
    spec = f.map(obj, "spec", "")
    ingress = tuple(
        _rule(f, rule, f"spec.ingress[{i}]", "from") for i, rule in _entries(f, spec, "ingress", "spec")
    )
    egress = tuple(
        _rule(f, rule, f"spec.egress[{i}]", "to") for i, rule in _entries(f, spec, "egress", "spec")
    )
    types = f.list(spec, "policyTypes", "spec")
    if types:
        names = {"Ingress": Direction.IN, "Egress": Direction.OUT}
        for i, name in enumerate(types):
            if name not in names:
                f.fail(f"spec.policyTypes[{i}]", f"unknown policy type {name!r} (want Ingress or Egress)")
        policy_types = frozenset(names[name] for name in types)
    else:
        policy_types = frozenset((Direction.IN, Direction.OUT) if egress else (Direction.IN,))
    return NetworkPolicy(
        namespace=f.string(meta, "namespace", "metadata", required=True),
        name=f.string(meta, "name", "metadata", required=True),
        uid=f.string(meta, "uid", "metadata", required=True),
        generation=f.get(meta, "generation", "metadata", int, 1),
        pod_selector=_selector(f, f.map(spec, "podSelector", "spec"), "spec.podSelector"),
        policy_types=policy_types,
        ingress=ingress,
        egress=egress,
    )


def network_policy_or_invalid(obj: Mapping[str, Any]) -> NetworkPolicy | InvalidNetworkPolicy:
    """The policy, or its error as a value when only its spec is unusable.

    Raises `InvalidObjectError` when even the identity (namespace, name, uid) is unreadable,
    since then there is nothing to report the error on.
    """
    try:
        return network_policy_from_k8s(obj)
    except InvalidObjectError as error:
        return InvalidNetworkPolicy(
            **_identity("NetworkPolicy", obj, ("namespace", "name", "uid")), error=str(error)
        )


def _entries(f: _Fields, obj: Mapping[str, Any], key: str, path: str) -> list[tuple[int, Mapping[str, Any]]]:
    entries = f.list(obj, key, path)
    for i, entry in enumerate(entries):
        if not _is_mapping(entry):
            f.fail(f"{path}.{key}[{i}]", f"expected an object, got {entry!r}")
    return list(enumerate(entries))


def _protocol(f: _Fields, obj: Mapping[str, Any], path: str) -> Protocol:
    text = f.string(obj, "protocol", path) or "TCP"
    try:
        return Protocol(text)
    except ValueError:
        f.fail(f"{path}.protocol", f"unsupported protocol {text!r} (want TCP, UDP or SCTP)")


def _rule(f: _Fields, rule: Mapping[str, Any], path: str, peers_key: str) -> PolicyRule:
    peers = tuple(
        _peer(f, peer, f"{path}.{peers_key}[{i}]") for i, peer in _entries(f, rule, peers_key, path)
    )
    ports = tuple(_port(f, port, f"{path}.ports[{i}]") for i, port in _entries(f, rule, "ports", path))
    return PolicyRule(peers, ports)


def _peer(f: _Fields, peer: Mapping[str, Any], path: str) -> PolicyPeer:
    pod = peer.get("podSelector")
    namespace = peer.get("namespaceSelector")
    block = peer.get("ipBlock")
    if block is not None:
        if pod is not None or namespace is not None:
            f.fail(f"{path}.ipBlock", "may not be combined with podSelector or namespaceSelector")
        return PolicyPeer(None, None, _ip_block(f, f.map(peer, "ipBlock", path), f"{path}.ipBlock"))
    if pod is None and namespace is None:
        f.fail(path, "must set podSelector, namespaceSelector or ipBlock")
    pod_selector = _selector(f, f.map(peer, "podSelector", path), f"{path}.podSelector")
    if namespace is None:
        return PolicyPeer(pod_selector, None, None)
    namespace_selector = _selector(f, f.map(peer, "namespaceSelector", path), f"{path}.namespaceSelector")
    return PolicyPeer(pod_selector if pod is not None else EVERYTHING, namespace_selector, None)


def _ip_block(f: _Fields, block: Mapping[str, Any], path: str) -> IPBlock:
    cidr_text = f.string(block, "cidr", path, required=True)
    try:
        cidr = parse_cidr(cidr_text)
    except ValueError as error:
        f.fail(f"{path}.cidr", str(error))
    excepts = []
    for i, text in enumerate(f.list(block, "except", path)):
        field = f"{path}.except[{i}]"
        if not isinstance(text, str):
            f.fail(field, f"expected str, got {text!r}")
        try:
            excepted = parse_cidr(text)
        except ValueError as error:
            f.fail(field, str(error))
        if not cidr.contains(excepted) or excepted.prefix_len <= cidr.prefix_len:
            f.fail(field, f"{text!r} is not a strict subset of cidr {cidr_text!r}")
        excepts.append(excepted)
    return IPBlock(cidr, tuple(sorted(set(excepts))))


@functools.lru_cache(maxsize=4096)
def _match_labels_selector(match_labels: tuple[tuple[str, str], ...]) -> LabelSelector:
    # Most selectors are a few matchLabels, and a cluster repeats the same ones in every
    # namespace: the 75,000 policies of Antrea's xlarge scale use three. Selectors are values.
    return LabelSelector.of(Requirement(key, Operator.IN, (value,)) for key, value in match_labels)


def _port(f: _Fields, port: Mapping[str, Any], path: str) -> PolicyPort:
    protocol = _protocol(f, port, path)
    value = port.get("port")
    number: int | str | None
    if value is None:
        number = None
    elif isinstance(value, bool) or not isinstance(value, int | str):
        f.fail(f"{path}.port", f"expected a number or a port name, got {value!r}")
    elif isinstance(value, int):
        if not 1 <= value <= 65535:
            f.fail(f"{path}.port", f"port {value} out of range 1-65535")
        number = value
    else:
        if len(value) > 15 or not _PORT_NAME.match(value) or "--" in value or value.isdigit():
            f.fail(f"{path}.port", f"invalid port name {value!r}")
        number = value
    end = f.get(port, "endPort", path, int, None)
    if end is not None:
        if not isinstance(number, int):
            f.fail(f"{path}.endPort", "needs a numeric port")
        if not number <= end <= 65535:
            f.fail(f"{path}.endPort", f"end port {end} must be between port {number} and 65535")
    return PolicyPort(protocol, number, end)


def _selector(f: _Fields, selector: Mapping[str, Any], path: str) -> LabelSelector:
    match_labels = f.map(selector, "matchLabels", path)
    for key, value in match_labels.items():
        if not isinstance(value, str):
            f.fail(f"{path}.matchLabels.{key}", f"expected str, got {value!r}")
    expressions = selector.get("matchExpressions")
    if expressions is None or (type(expressions) is list and not expressions):
        return _match_labels_selector(tuple(match_labels.items()))
    requirements = [Requirement(key, Operator.IN, (value,)) for key, value in match_labels.items()]
    for i, expression in _entries(f, selector, "matchExpressions", path):
        field = f"{path}.matchExpressions[{i}]"
        key = f.string(expression, "key", field, required=True)
        operator_text = f.string(expression, "operator", field)
        try:
            operator = Operator(operator_text)
        except ValueError:
            f.fail(f"{field}.operator", f"unknown operator {operator_text!r}")
        values = f.list(expression, "values", field)
        for j, value in enumerate(values):
            if not isinstance(value, str):
                f.fail(f"{field}.values[{j}]", f"expected str, got {value!r}")
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            f.fail(f"{field}.values", f"must not be empty for operator {operator.value}")
        if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            f.fail(f"{field}.values", f"must be empty for operator {operator.value}")
        requirements.append(Requirement(key, operator, tuple(sorted(set(values)))))
    return LabelSelector.of(requirements)


# -- ClusterNetworkPolicy (policy.networking.k8s.io, sigs.k8s.io/network-policy-api v0.3.0) ----------

_TIERS = {"Admin": Tier.ADMIN, "Baseline": Tier.BASELINE}
_ACTIONS = {"Accept": RuleAction.ACCEPT, "Deny": RuleAction.DENY, "Pass": RuleAction.PASS}
_CNP_PROTOCOLS = {"tcp": Protocol.TCP, "udp": Protocol.UDP, "sctp": Protocol.SCTP}
MAX_PRIORITY = 1000
MAX_RULES = 25


def cluster_network_policy_from_k8s(obj: Mapping[str, Any]) -> ClusterNetworkPolicy:
    """A ClusterNetworkPolicy from its JSON form (v1alpha2 and v1beta1 have the same spec)."""
    f = _Fields("ClusterNetworkPolicy", obj)
    meta = f.map(obj, "metadata", "")
    spec = f.map(obj, "spec", "")
    tier_text = f.string(spec, "tier", "spec", required=True)
    if tier_text not in _TIERS:
        f.fail("spec.tier", f"unknown tier {tier_text!r} (want Admin or Baseline)")
    priority = f.get(spec, "priority", "spec", int, None)
    if priority is None or not 0 <= priority <= MAX_PRIORITY:
        f.fail("spec.priority", f"must be a number from 0 to {MAX_PRIORITY}, got {priority!r}")
    subject = f.map(spec, "subject", "spec")
    namespaces, pods = subject.get("namespaces"), subject.get("pods")
    if (namespaces is None) == (pods is None):
        f.fail("spec.subject", "exactly one of namespaces and pods must be set")
    if namespaces is not None:
        namespace_selector = _selector(
            f, f.map(subject, "namespaces", "spec.subject"), "spec.subject.namespaces"
        )
        pod_selector = EVERYTHING
    else:
        namespace_selector, pod_selector = _namespaced_pod(
            f, f.map(subject, "pods", "spec.subject"), "spec.subject.pods"
        )
    rules = {}
    for key, peers_key in (("ingress", "from"), ("egress", "to")):
        entries = _entries(f, spec, key, "spec")
        if len(entries) > MAX_RULES:
            f.fail(f"spec.{key}", f"at most {MAX_RULES} rules, got {len(entries)}")
        rules[key] = tuple(_cluster_rule(f, rule, f"spec.{key}[{i}]", peers_key) for i, rule in entries)
    return ClusterNetworkPolicy(
        name=f.string(meta, "name", "metadata", required=True),
        uid=f.string(meta, "uid", "metadata", required=True),
        generation=f.get(meta, "generation", "metadata", int, 1),
        tier=_TIERS[tier_text],
        priority=priority,
        subject_namespace_selector=namespace_selector,
        subject_pod_selector=pod_selector,
        ingress=rules["ingress"],
        egress=rules["egress"],
    )


def cluster_network_policy_or_invalid(
    obj: Mapping[str, Any],
) -> ClusterNetworkPolicy | InvalidClusterNetworkPolicy:
    """The policy, or its error as a value when only its spec is unusable (raises
    `InvalidObjectError` when its name or uid is unreadable)."""
    try:
        return cluster_network_policy_from_k8s(obj)
    except InvalidObjectError as error:
        return InvalidClusterNetworkPolicy(
            **_identity("ClusterNetworkPolicy", obj, ("name", "uid")), error=str(error)
        )


def _identity(kind: str, obj: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """What an invalid policy is reported on: its metadata `keys` (each required) and its
    generation (1 when unreadable)."""
    f = _Fields(kind, obj)
    meta = f.map(obj, "metadata", "")
    generation = meta.get("generation")
    identity: dict[str, Any] = {key: f.string(meta, key, "metadata", required=True) for key in keys}
    identity["generation"] = generation if isinstance(generation, int) else 1
    return identity


def _namespaced_pod(f: _Fields, obj: Mapping[str, Any], path: str) -> tuple[LabelSelector, LabelSelector]:
    if obj.get("namespaceSelector") is None:
        f.fail(f"{path}.namespaceSelector", "is required")
    if obj.get("podSelector") is None:
        f.fail(f"{path}.podSelector", "is required")
    return (
        _selector(f, f.map(obj, "namespaceSelector", path), f"{path}.namespaceSelector"),
        _selector(f, f.map(obj, "podSelector", path), f"{path}.podSelector"),
    )


def _cluster_rule(f: _Fields, rule: Mapping[str, Any], path: str, peers_key: str) -> ClusterPolicyRule:
    action_text = f.string(rule, "action", path, required=True)
    if action_text not in _ACTIONS:
        f.fail(f"{path}.action", f"unknown action {action_text!r} (want Accept, Deny or Pass)")
    entries = _entries(f, rule, peers_key, path)
    if not entries:
        f.fail(f"{path}.{peers_key}", "must have at least one peer")
    peers = tuple(
        _cluster_peer(f, peer, f"{path}.{peers_key}[{i}]", egress=peers_key == "to") for i, peer in entries
    )
    ports: list[PolicyPort] = []
    for i, protocol in _entries(f, rule, "protocols", path):
        ports.extend(_cluster_ports(f, protocol, f"{path}.protocols[{i}]"))
    name = f.string(rule, "name", path)
    if len(name) > 100:
        f.fail(f"{path}.name", f"at most 100 characters, got {len(name)}")
    return ClusterPolicyRule(name, _ACTIONS[action_text], peers, tuple(ports))


def _cluster_peer(f: _Fields, peer: Mapping[str, Any], path: str, *, egress: bool) -> ClusterPolicyPeer:
    kinds = ("namespaces", "pods", "nodes", "networks", "domainNames") if egress else ("namespaces", "pods")
    present = [kind for kind in kinds if peer.get(kind) is not None]
    if len(present) > 1:
        f.fail(path, f"exactly one peer kind may be set, got {', '.join(present)}")
    if not present:  # a field of a newer API version, or none: the API says fail closed
        return ClusterPolicyPeer(None, None, None, (), (), unknown=True)
    kind = present[0]
    if kind == "namespaces":
        return ClusterPolicyPeer(_selector(f, f.map(peer, kind, path), f"{path}.{kind}"), None, None, (), ())
    if kind == "pods":
        namespace_selector, pod_selector = _namespaced_pod(f, f.map(peer, kind, path), f"{path}.{kind}")
        return ClusterPolicyPeer(namespace_selector, pod_selector, None, (), ())
    if kind == "nodes":
        return ClusterPolicyPeer(None, None, _selector(f, f.map(peer, kind, path), f"{path}.{kind}"), (), ())
    texts = f.list(peer, kind, path)
    if not texts:
        f.fail(f"{path}.{kind}", "must have at least one entry")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            f.fail(f"{path}.{kind}[{i}]", f"expected str, got {text!r}")
    if kind == "domainNames":
        for i, text in enumerate(texts):
            try:
                normalize_domain_name(text)
            except DomainNameError as error:
                f.fail(f"{path}.domainNames[{i}]", str(error))
        return ClusterPolicyPeer(None, None, None, (), tuple(texts))
    networks = []
    for i, text in enumerate(texts):
        try:
            network = parse_cidr(text)
        except ValueError as error:
            f.fail(f"{path}.networks[{i}]", str(error))
        networks.append(network)
    return ClusterPolicyPeer(None, None, None, tuple(networks), ())


def _cluster_ports(f: _Fields, protocol: Mapping[str, Any], path: str) -> list[PolicyPort]:
    kinds = [key for key in ("tcp", "udp", "sctp", "destinationNamedPort") if protocol.get(key) is not None]
    if len(kinds) != 1:
        f.fail(
            path, f"exactly one of tcp, udp, sctp and destinationNamedPort must be set, got {kinds or 'none'}"
        )
    kind = kinds[0]
    if kind == "destinationNamedPort":
        name = f.string(protocol, kind, path, required=True)
        if len(name) > 15 or not _PORT_NAME.match(name) or "--" in name or name.isdigit():
            f.fail(f"{path}.{kind}", f"invalid port name {name!r}")
        # A container port's name says its protocol; the agent resolves the name per pod for
        # each protocol, so a name is a port of whichever protocol the pod declares it with.
        return [PolicyPort(p, name, None) for p in Protocol]
    attributes = f.map(protocol, kind, path)
    port = attributes.get("destinationPort")
    if port is None:
        return [PolicyPort(_CNP_PROTOCOLS[kind], None, None)]
    field = f"{path}.{kind}.destinationPort"
    port = f.map(attributes, "destinationPort", f"{path}.{kind}")
    number = f.get(port, "number", field, int, None)
    span = port.get("range")
    if (number is None) == (span is None):
        f.fail(field, "exactly one of number and range must be set")
    if number is not None:
        if not 1 <= number <= 65535:
            f.fail(f"{field}.number", f"port {number} out of range 1-65535")
        return [PolicyPort(_CNP_PROTOCOLS[kind], number, None)]
    span = f.map(port, "range", field)
    start = f.get(span, "start", f"{field}.range", int, None)
    end = f.get(span, "end", f"{field}.range", int, None)
    if start is None or end is None or not 1 <= start < end <= 65535:
        f.fail(f"{field}.range", f"want 1 <= start < end <= 65535, got start {start!r}, end {end!r}")
    return [PolicyPort(_CNP_PROTOCOLS[kind], start, end)]
