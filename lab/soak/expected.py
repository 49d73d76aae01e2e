"""Who may reach whom, evaluated straight from the Kubernetes objects: NetworkPolicy v1,
ClusterNetworkPolicy (policy.networking.k8s.io v1beta1) and ClusterIP Services read afresh,
sharing nothing with the controller's computation or the agent's flows, so that a probe matrix
that equals it says the whole system is right.

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

ClusterNetworkPolicy (the v1beta1 API reference of sigs.k8s.io/network-policy-api v0.3.0): each
direction is decided by tiers, in order. The Admin tier: the policies whose subject selects the
pod (`namespaces`: by its namespace's labels; `pods`: namespace and pod selectors), lowest
`priority` first, each policy's rules of that direction in written order; the first rule whose
peer and protocols match decides: Accept allows, Deny denies, Pass skips the rest of the tier.
Then NetworkPolicy, when one isolates the pod in that direction: it decides, as above. Then the
Baseline tier, the same way (a Pass there leaves it to the default). Then the default: allowed.
Peers: `namespaces` (the peer pod's namespace's labels), `pods` (both selectors), `networks`
(the peer's address in a CIDR), `nodes` (node addresses: never a pod's here), `domainNames`
(nothing). Protocols: absent, any; else one entry matches: `tcp`/`udp`/`sctp` with a
`destinationPort` number or range (none: every port), or `destinationNamedPort` resolved on the
destination pod. Two policies of one tier at one priority that both match and disagree leave the
answer open (the API lets either decide): `Undetermined`.

Services: traffic to a ClusterIP port is traffic to the endpoint the proxy picks: the ready pods
of the Service's namespace that its selector matches and that have the target port (a number, or
a container port's name). Its verdict is determined only when every endpoint's would be the same
(all reachable, or all dropped); with no endpoint the connection is refused; a source that is one
of the endpoints (hairpin, whose address the proxy rewrites) is not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
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


class Undetermined(Exception):
    """The objects leave the answer open (two policies of one tier and priority disagree)."""


def _network_policy_decision(  # noqa: PLR0917 (the evaluation's whole context, passed as the rules read)
    direction: str,
    selected: PodView,
    peer: PodView,
    destination: PodView,
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    port: int,
    protocol: str,
) -> bool | None:
    """Whether `selected`'s NetworkPolicies allow `peer` in `direction` (Ingress: peer is the
    source); None when none of them isolates `selected` in that direction."""
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
    return False if isolated else None


# -- ClusterNetworkPolicy -------------------------------------------------------------------------


def _subject_selects(subject: Json, pod: PodView, namespaces: Mapping[str, Mapping[str, str]]) -> bool:
    namespace_labels = namespaces.get(pod.namespace, {})
    if "namespaces" in subject:
        return selector_matches(subject["namespaces"], namespace_labels)
    if "pods" in subject:
        pods = subject["pods"]
        return selector_matches(pods.get("namespaceSelector"), namespace_labels) and selector_matches(
            pods.get("podSelector"), pod.labels
        )
    return False


def _cluster_peer_matches(peer: Json, pod: PodView, namespaces: Mapping[str, Mapping[str, str]]) -> bool:
    namespace_labels = namespaces.get(pod.namespace, {})
    if "namespaces" in peer:
        return selector_matches(peer["namespaces"], namespace_labels)
    if "pods" in peer:
        pods = peer["pods"]
        return selector_matches(pods.get("namespaceSelector"), namespace_labels) and selector_matches(
            pods.get("podSelector"), pod.labels
        )
    if "networks" in peer:
        return any(pod.ip in ip_network(cidr, strict=False) for cidr in peer["networks"] or ())
    return False  # nodes: node addresses, never a pod's here; domainNames: no address at all


def _cluster_protocols_match(
    protocols: Sequence[Json] | None, destination: PodView, port: int, protocol: str
) -> bool:
    if not protocols:
        return True
    for entry in protocols:
        if "destinationNamedPort" in entry:
            if destination.named_ports.get(entry["destinationNamedPort"]) == (port, protocol):
                return True
            continue
        for name, value in entry.items():
            if name.upper() != protocol:
                continue
            wanted = (value or {}).get("destinationPort")
            if wanted is None:
                return True
            if "number" in wanted and int(wanted["number"]) == port:
                return True
            span = wanted.get("range")
            if span is not None and int(span["start"]) <= port <= int(span["end"]):
                return True
    return False


def _tier_decision(  # noqa: PLR0917 (the evaluation's whole context, passed as the rules read)
    tier: str,
    direction: str,
    selected: PodView,
    peer: PodView,
    destination: PodView,
    cluster_policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    port: int,
    protocol: str,
) -> str | None:
    """The action (Accept, Deny, Pass) of the first rule of `tier` that matches, or None."""
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    by_priority: dict[int, set[str]] = {}
    for policy in cluster_policies:
        spec = policy.get("spec") or {}
        if spec.get("tier") != tier or not _subject_selects(spec.get("subject") or {}, selected, namespaces):
            continue
        for rule in spec.get(rules_key) or ():
            if any(_cluster_peer_matches(p, peer, namespaces) for p in rule.get(peers_key) or ()) and (
                _cluster_protocols_match(rule.get("protocols"), destination, port, protocol)
            ):
                by_priority.setdefault(int(spec["priority"]), set()).add(rule["action"])
                break
    if not by_priority:
        return None
    actions = by_priority[min(by_priority)]
    if len(actions) > 1:
        raise Undetermined(f"{tier} policies of priority {min(by_priority)} disagree: {sorted(actions)}")
    (action,) = actions
    return action


def _allowed_in(  # noqa: PLR0917 (the evaluation's whole context, passed as the rules read)
    direction: str,
    selected: PodView,
    peer: PodView,
    destination: PodView,
    policies: Sequence[Json],
    cluster_policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    port: int,
    protocol: str,
) -> bool:
    """The tiers in order: Admin, NetworkPolicy, Baseline, the default (allowed)."""
    context = (direction, selected, peer, destination)
    admin = _tier_decision("Admin", *context, cluster_policies, namespaces, port, protocol)
    if admin in ("Accept", "Deny"):
        return admin == "Accept"
    decided = _network_policy_decision(*context, policies, namespaces, port, protocol)
    if decided is not None:
        return decided
    return _tier_decision("Baseline", *context, cluster_policies, namespaces, port, protocol) != "Deny"


def reachable(
    source: PodView,
    destination: PodView,
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    port: int,
    protocol: str = "TCP",
    cluster_policies: Sequence[Json] = (),
) -> bool:
    """Raises Undetermined when the objects leave the answer open."""
    if source.key == destination.key:
        return True
    args = (policies, cluster_policies, namespaces, port, protocol)
    egress = _allowed_in("Egress", source, destination, destination, *args)
    return egress and _allowed_in("Ingress", destination, source, destination, *args)


def expected_matrix(
    pods: Iterable[PodView],
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    port: int,
    protocol: str = "TCP",
    cluster_policies: Sequence[Json] = (),
) -> dict[str, dict[str, bool | None]]:
    """a -> b -> reachable; None where the objects leave it open (`Undetermined`)."""
    pods = list(pods)
    matrix: dict[str, dict[str, bool | None]] = {}
    for a in pods:
        row: dict[str, bool | None] = {}
        for b in pods:
            try:
                row[b.key] = reachable(
                    a,
                    b,
                    policies,
                    namespaces,
                    port=port,
                    protocol=protocol,
                    cluster_policies=cluster_policies,
                )
            except Undetermined:
                row[b.key] = None
        matrix[a.key] = row
    return matrix


# -- Services -------------------------------------------------------------------------------------


class ServiceVerdict(StrEnum):
    REACHABLE = "reachable"
    DROPPED = "dropped"
    REFUSED = "refused"
    OPEN = "open"
    """Not determined: the endpoints' verdicts differ, the source is an endpoint, or a policy
    tie leaves it open."""


@dataclass(frozen=True, slots=True)
class ServicePort:
    namespace: str
    name: str
    selector: Mapping[str, str]
    port: int
    target: int | str
    """the targetPort: a number, or the name of a container port"""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}"

    @classmethod
    def from_k8s(cls, service: Json) -> list[ServicePort]:
        """The TCP ports of a Service with a selector (others send nowhere the soak probes)."""
        metadata, spec = service["metadata"], service.get("spec") or {}
        selector = dict(spec.get("selector") or {})
        if not selector:
            return []
        return [
            cls(
                metadata["namespace"],
                metadata["name"],
                selector,
                int(port["port"]),
                port.get("targetPort", port["port"]),
            )
            for port in spec.get("ports") or ()
            if (port.get("protocol") or "TCP") == "TCP"
        ]

    def endpoints(self, pods: Iterable[PodView]) -> dict[str, int]:
        """endpoint pod -> the port the proxy sends to."""
        found = {}
        for pod in pods:
            if pod.namespace != self.namespace or any(
                pod.labels.get(k) != v for k, v in self.selector.items()
            ):
                continue
            if isinstance(self.target, str) and not self.target.isdigit():
                named = pod.named_ports.get(self.target)
                if named is None or named[1] != "TCP":
                    continue
                found[pod.key] = named[0]
            else:
                found[pod.key] = int(self.target)
        return found


def service_verdict(
    source: PodView,
    service: ServicePort,
    pods: Sequence[PodView],
    policies: Sequence[Json],
    namespaces: Mapping[str, Mapping[str, str]],
    *,
    cluster_policies: Sequence[Json] = (),
) -> ServiceVerdict:
    by_key = {pod.key: pod for pod in pods}
    endpoints = service.endpoints(pods)
    if not endpoints:
        return ServiceVerdict.REFUSED
    if source.key in endpoints:
        return ServiceVerdict.OPEN
    try:
        verdicts = {
            reachable(source, by_key[key], policies, namespaces, port=port, cluster_policies=cluster_policies)
            for key, port in endpoints.items()
        }
    except Undetermined:
        return ServiceVerdict.OPEN
    if len(verdicts) > 1:
        return ServiceVerdict.OPEN
    return ServiceVerdict.REACHABLE if verdicts.pop() else ServiceVerdict.DROPPED


def parse_ip(text: str) -> IPv4Address:
    address = ip_address(text)
    if not isinstance(address, IPv4Address):
        raise ValueError(f"{text} is not an IPv4 address")
    return address
