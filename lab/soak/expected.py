"""Who may reach whom, evaluated straight from the Kubernetes objects: NetworkPolicy v1 read
afresh, sharing nothing with the controller's computation or the agent's flows, so that a probe
matrix that equals it says the whole system is right.

The rules (the API reference of `networking.k8s.io/v1`): a pod is isolated in a direction when a
policy of its namespace selects it with that direction in its policyTypes (Ingress always;
Egress when the policy lists egress rules or says so); an isolated pod accepts (or sends) only
what some rule of such a policy allows. A rule without peers allows every peer; without ports
every port. A peer is a podSelector (in the policy's namespace), a namespaceSelector (every pod of
the matching namespaces), both (the matching pods of the matching namespaces), or an ipBlock (the
peer's address in `cidr` and in no `except`). A port is a number (with `endPort`, a range) or a
name resolved on the destination pod's containers, with a protocol (TCP when absent). A
connection goes through when the source's egress and the destination's ingress both allow it.
A pod always reaches itself (the kernel delivers that on the pod's loopback).

Where the API reference is ambiguous, the evaluation follows Antrea's reading, which pyantrea
implements: an egress rule's named port is resolved on the destination pods its selector peers
(or an empty `to`) name, so it never matches a destination reached through an `ipBlock` peer
(kubernetes/kubernetes#99256 asked which pods a named port means; implementations differ). A 30-minute
soak found this difference between the first version of this evaluation and pyantrea.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address, ip_network
from typing import Any

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PodView:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: IPv4Address
    named_ports: Mapping[str, tuple[int, str]]
    """container port name -> (port, protocol)"""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_k8s(cls, pod: Json) -> PodView:
        metadata, spec = pod["metadata"], pod.get("spec") or {}
        named = {}
        for container in spec.get("containers") or ():
            for port in container.get("ports") or ():
                if port.get("name"):
                    named[port["name"]] = (int(port["containerPort"]), port.get("protocol") or "TCP")
        return cls(
            metadata["namespace"],
            metadata["name"],
            dict(metadata.get("labels") or {}),
            IPv4Address(pod["status"]["podIP"]),
            named,
        )


def selector_matches(selector: Json | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpression holds (an empty one
    matches everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or ()
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"label selector operator {operator!r} is not one of v1's")
    return True


def _types(spec: Json) -> set[str]:
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _peer_matches(
    peer: Json, policy_namespace: str, pod: PodView, namespaces: Mapping[str, Mapping[str, str]]
) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        if pod.ip not in ip_network(block["cidr"]):
            return False
        return not any(pod.ip in ip_network(excepted) for excepted in block.get("except") or ())
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], namespaces.get(pod.namespace, {})):
            return False
    elif pod.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selector_matches(peer["podSelector"], pod.labels)


def _port_matches(entry: Json, destination: PodView, port: int, protocol: str) -> bool:
    if (entry.get("protocol") or "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        named = destination.named_ports.get(wanted)
        return named is not None and named == (port, protocol)
    end = entry.get("endPort")
    return int(wanted) <= port <= int(end if end is not None else wanted)


def _allowed_in(  # noqa: PLR0917 (the evaluation's whole context, passed as the rules read)
    direction: str,
    selected: PodView,
    peer: PodView,
    destination: PodView,
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    port: int,
    protocol: str,
) -> bool:
    """Whether `selected`'s policies allow `peer` in `direction` (Ingress: peer is the source)."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated = False
    for policy in policies:
        metadata, spec = policy["metadata"], policy.get("spec") or {}
        if metadata["namespace"] != selected.namespace or direction not in _types(spec):
            continue
        if not selector_matches(spec.get("podSelector"), selected.labels):
            continue
        isolated = True
        for rule in spec.get(rules_key) or ():
            peers = rule.get(peers_key) or []
            by_selector = any(
                "ipBlock" not in p and _peer_matches(p, metadata["namespace"], peer, namespaces)
                for p in peers
            )
            by_block = any(
                "ipBlock" in p and _peer_matches(p, metadata["namespace"], peer, namespaces) for p in peers
            )
            if peers and not (by_selector or by_block):
                continue
            # egress: a port name is looked up on pods the rule names, not on addresses
            names_resolve = direction == "Ingress" or not peers or by_selector
            ports = rule.get("ports")
            if ports and not any(
                _port_matches(p, destination, port, protocol)
                for p in ports
                if names_resolve or not isinstance(p.get("port"), str)
            ):
                continue
            return True
    return not isolated


def reachable(
    source: PodView,
    destination: PodView,
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    port: int,
    protocol: str = "TCP",
) -> bool:
    if source.key == destination.key:
        return True
    egress = _allowed_in("Egress", source, destination, destination, policies, namespaces, port, protocol)
    return egress and _allowed_in(
        "Ingress", destination, source, destination, policies, namespaces, port, protocol
    )


def expected_matrix(
    pods: Iterable[PodView],
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    port: int,
    protocol: str = "TCP",
) -> dict[str, dict[str, bool]]:
    pods = list(pods)
    return {
        a.key: {b.key: reachable(a, b, policies, namespaces, port=port, protocol=protocol) for b in pods}
        for a in pods
    }


def parse_ip(text: str) -> IPv4Address:
    address = ip_address(text)
    if not isinstance(address, IPv4Address):
        raise ValueError(f"{text} is not an IPv4 address")
    return address
